# The two set-up commands of the README (make train, make test) and the project's other tasks.
# Every target runs in one project virtual environment, so pip never touches a distribution's
# externally-managed Python (PEP 668), a pyenv/conda Python or a container's root Python:
#   - an active virtual environment ($VIRTUAL_ENV) is used as it is;
#   - otherwise .venv/, made with `$(PYTHON) -m venv` on first use and reused after.
# PYTHON=... on the command line names the interpreter .venv is made from (and wins over an
# active environment). Each extra is installed once per change of pyproject.toml (a stamp file).
PYTHON ?= python3
ifneq ($(VIRTUAL_ENV),)
ifneq ($(origin PYTHON),command line)
VENV := $(VIRTUAL_ENV)
endif
endif
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# Debian and Ubuntu ship the venv module (with ensurepip) apart from python3
VENV_PACKAGE := python3-venv

.PHONY: train test test-min-deps test-gpu gpu-check venv graphviz chromium lint bench docs docs-serve

train: $(VENV)/.installed-all     ## train a digit recogniser on the built-in digits
	$(PY) -m tinygrad_digits train

test: $(VENV)/.installed-test graphviz chromium   ## run the whole suite
	$(PY) -m pytest -q

test-min-deps: venv       ## the core tests against the lowest numpy, array-api-strict and pytest pyproject.toml allows
	PYTHON=$(PY) scripts/check_min_deps.sh

test-gpu: $(VENV)/.installed-test,cuda graphviz chromium  ## on a GPU machine: CuPy installed, every cuda skip is a failure
	TINYGRAD_DIGITS_REQUIRE_DEVICES=cuda $(PY) -m pytest -q

gpu-check: $(VENV)/.installed-test,cuda  ## the one-shot GPU check: versions, syncs, speed, cpu/cuda agreement
	$(PY) scripts/gpu_check.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed-all
	$(PY) benchmarks/bench_core.py

docs: $(VENV)/.installed-docs   ## the docs site into site/; a broken link or reference fails it
	$(PY) -m mkdocs build --strict

docs-serve: $(VENV)/.installed-docs   ## the docs site at http://127.0.0.1:8000, rebuilt on every save
	$(PY) -m mkdocs serve

venv: $(PY)

# The environment itself. Without the venv module (Debian/Ubuntu without python3-venv) it says
# the one command that adds it, and runs it as root, as the graphviz and chromium targets do.
$(PY):
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(VENV_PACKAGE): $(PYTHON) has no venv module"; \
	    apt-get update -qq && apt-get install -y -qq $(VENV_PACKAGE) >/dev/null; \
	  else \
	    echo "error: $(PYTHON) has no venv module; install it with: sudo apt-get install $(VENV_PACKAGE)" >&2; \
	    exit 1; \
	  fi; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# pip install -e ".[EXTRA]" into the environment, again only when pyproject.toml changes
$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PIP) -e ".[$*]"
	@touch $@

graphviz:                 ## Graphviz's `dot` renders graph pictures; tests that need it skip without it
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || \
	  echo "note: could not install Graphviz's dot (apt-get install graphviz); picture tests will skip"; }

chromium:                 ## Debian's Chromium runs the web page's browser tests (tests/serve); they skip without it
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "note: could not install Chromium (apt-get install chromium); browser tests will skip"; }
