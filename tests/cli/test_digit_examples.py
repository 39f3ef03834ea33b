"""The digits examples run start to finish and print what their docstrings promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_example(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_digits_mlp_shows_the_trap_and_the_fix():
    result = run_example("digits_mlp.py", "--epochs", "30")
    assert result.returncode == 0, result.stderr
    summary = result.stdout.split("summary")[1].splitlines()
    trap = float(summary[1].split()[1].rstrip("%"))
    fixed = float(summary[3].split()[1].rstrip("%"))
    assert trap < 25 and fixed >= 97, result.stdout
    assert "(>= 97%: fixed)" in result.stdout


def test_own_digit_draws_and_reads_a_three(tmp_path):
    pytest.importorskip("PIL")
    seen = tmp_path / "seen.png"
    result = run_example("own_digit.py", "--show-input", str(seen))
    assert result.returncode == 0, result.stderr
    last = [line for line in result.stdout.splitlines() if "my_digit.png:" in line][0]
    assert last.split(": ", 1)[1].startswith("3"), result.stdout
    assert seen.is_file()
