#!/usr/bin/env bash
# Proves the floors pyproject.toml declares: installs the package in a throwaway venv with the
# lowest declared numpy (the core dependency), array-api-strict (the strict device, which the core
# tests also run on) and pytest, then runs the tests that need no other extra (core, nn, optim,
# conv, data, loader). A floor that is not true fails here, not on a user's machine. Each floor is read from pyproject.toml, so raising one in
# pyproject.toml is all it takes to move this check.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

pins=$("$PYTHON" - <<'PY'
import re
import tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
requirements = project["dependencies"] + [
    r for extra in project["optional-dependencies"].values() for r in extra
]
for name in ("numpy", "array-api-strict", "pytest"):
    floors = {
        m.group(1)
        for r in requirements
        if (m := re.fullmatch(rf"{re.escape(name)}>=([\w.]+)(,.*)?", r.replace(" ", "")))
    }
    if len(floors) != 1:
        raise SystemExit(f"pyproject.toml: expected one '{name}>=X' floor, found {sorted(floors)}")
    print(f"{name}=={floors.pop()}")
PY
)

venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ".[strict]" $pins
echo "check_min_deps: $("$venv/bin/python" -c 'import numpy, array_api_strict, pytest
print("numpy", numpy.__version__, "array-api-strict", array_api_strict.__version__, "pytest", pytest.__version__)')"
# -p no:cacheprovider: leave no .pytest_cache written by another pytest version behind
"$venv/bin/python" -m pytest -q -p no:cacheprovider \
  tests/core tests/nn tests/optim tests/conv tests/data tests/loader
