#!/usr/bin/env bash
# The README's two commands as a newcomer runs them: in a fresh clone of this repository (its
# committed HEAD), against a given Python -- by default the distribution's own /usr/bin/python3,
# which on Debian 12 / Ubuntu 23.04+ is externally managed (PEP 668) and refuses `pip install`
# outside a virtual environment. Proves the Makefile makes and uses its own .venv.
#   scripts/check_fresh_clone.sh [PYTHON] [TARGET...]   (targets: train test; default both)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-/usr/bin/python3}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(train test)

marker=$("$python" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED
if [ -f "$marker" ]; then
  echo "check_fresh_clone: $python is externally managed ($marker)"
else
  echo "check_fresh_clone: note: $python has no EXTERNALLY-MANAGED marker"
fi

clone=$(mktemp -d)
trap 'rm -rf "$clone"' EXIT
git clone --quiet "$repo" "$clone/tinygrad_digits"
cd "$clone/tinygrad_digits"
# an active environment of the caller's would be used instead of .venv: leave it out
unset VIRTUAL_ENV PYTHONPATH
for target in "${targets[@]}"; do
  start=$SECONDS
  make "$target" PYTHON="$python"
  echo "check_fresh_clone: make $target PYTHON=$python passed in $((SECONDS - start)) s"
done
