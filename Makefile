# The two set-up commands of the README; each installs what it needs, then runs.
PYTHON ?= python3
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: train test test-min-deps test-gpu gpu-check install install-test graphviz chromium lint bench

train: install            ## install, then train a digit recogniser on the built-in digits
	$(PYTHON) -m tinygrad_digits train

test: install-test graphviz chromium   ## install test dependencies, then run the whole suite
	$(PYTHON) -m pytest -q

test-min-deps:            ## the core tests against the lowest numpy, array-api-strict and pytest pyproject.toml allows
	PYTHON=$(PYTHON) scripts/check_min_deps.sh

test-gpu: graphviz chromium  ## on a GPU machine: CuPy installed, every cuda skip is a failure
	$(PIP) -e ".[test,cuda]"
	TINYGRAD_DIGITS_REQUIRE_DEVICES=cuda $(PYTHON) -m pytest -q

gpu-check:                ## the one-shot GPU check: versions, syncs, speed, cpu/cuda agreement
	$(PYTHON) scripts/gpu_check.py

install:
	$(PIP) -e ".[all]"

install-test:
	$(PIP) -e ".[test]"

graphviz:                 ## Graphviz's `dot` renders graph pictures; tests that need it skip without it
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || \
	  echo "note: could not install Graphviz's dot (apt-get install graphviz); picture tests will skip"; }

chromium:                 ## Debian's Chromium runs the web page's browser tests (tests/serve); they skip without it
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "note: could not install Chromium (apt-get install chromium); browser tests will skip"; }

lint:
	$(PIP) -e ".[dev]"
	ruff check . && ruff format --check .

bench: install
	$(PYTHON) benchmarks/bench_core.py
