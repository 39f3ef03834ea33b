"""The Makefile's environment rules, read from `make -n` (prints the commands, runs none): every
target runs in one virtual environment -- .venv by default, an active one ($VIRTUAL_ENV) when
there is one, .venv again when PYTHON= is given -- and never pip-installs into the interpreter
itself (PEP 668). scripts/check_fresh_clone.sh runs the real thing from a fresh clone in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
TARGETS = [
    "train",
    "test",
    "test-min-deps",
    "test-gpu",
    "gpu-check",
    "lint",
    "bench",
    "docs",
    "docs-serve",
]


def dry_run(*args: str, virtual_env: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHON", "MAKEFLAGS")}
    if virtual_env is not None:
        env["VIRTUAL_ENV"] = virtual_env
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "--no-print-directory", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_runs_in_the_project_venv(target, tmp_path):
    venv = tmp_path / "fresh-venv"  # not there yet: make must create it first
    out = dry_run(target, f"VENV={venv}", "PYTHON=/usr/bin/python3")
    assert f"/usr/bin/python3 -m venv {venv}" in out
    making_the_venv = ("-m venv", "import ensurepip", "venv module", "apt-get")
    runs = [
        line
        for line in out.splitlines()
        if ("python" in line or "ruff" in line) and not any(m in line for m in making_the_venv)
    ]
    assert runs, out
    for line in runs:  # pip, pytest, ruff, mkdocs, the CLI: each from the environment
        assert f"{venv}/bin/" in line, line


def test_train_defaults_to_dot_venv():
    out = dry_run("train")
    assert ".venv/bin/python -m tinygrad_digits train" in out


def test_an_active_virtual_environment_is_used_as_it_is(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()
    out = dry_run("train", virtual_env=str(tmp_path))
    assert f"{tmp_path}/bin/python -m tinygrad_digits train" in out
    assert "-m venv" not in out  # it exists: nothing is created


def test_python_on_the_command_line_wins_over_an_active_environment(tmp_path):
    out = dry_run("train", "PYTHON=/usr/bin/python3", virtual_env=str(tmp_path))
    assert ".venv/bin/python -m tinygrad_digits train" in out
    assert str(tmp_path) not in out


def test_test_gpu_installs_cupy_and_requires_the_cuda_device(tmp_path):
    """`make test` installs .[test], which has no CuPy, so cuda skips there; `make test-gpu`
    adds [cuda] and turns every cuda skip into a failure."""
    out = dry_run("test-gpu", f"VENV={tmp_path}/v", "PYTHON=/usr/bin/python3")
    assert f"{tmp_path}/v/bin/python -m pip install" in out and '-e ".[test,cuda]"' in out
    assert f"TINYGRAD_DIGITS_REQUIRE_DEVICES=cuda {tmp_path}/v/bin/python -m pytest" in out
    assert '-e ".[test]"' in dry_run("test", f"VENV={tmp_path}/v", "PYTHON=/usr/bin/python3")
