#!/usr/bin/env bash
# Proves the floors pyproject.toml declares: installs the package in a throwaway venv with the
# lowest declared version of each core dependency (numpy, safetensors), of array-api-strict (the
# strict device, which the core tests also run on) and of pytest, then runs the tests that need
# no other extra (core, nn, optim, conv, data, loader). A floor that is not true fails here, not
# on a user's machine. Each floor is read from pyproject.toml, so raising one there is all it
# takes to move this check.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

pins=$("$PYTHON" - <<'PY'
import re
import tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
core = [re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0] for r in project["dependencies"]]
requirements = project["dependencies"] + [
    r for extra in project["optional-dependencies"].values() for r in extra
]
for name in [*core, "array-api-strict", "pytest"]:
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
echo "check_min_deps: installed" $pins
# -p no:cacheprovider: leave no .pytest_cache written by another pytest version behind
"$venv/bin/python" -m pytest -q -p no:cacheprovider \
  tests/core tests/nn tests/optim tests/conv tests/data tests/loader
