"""Ctrl-C while the command line starts (Python still importing the package and the CLI) is one
line and exit 130, as it is once a command runs; a library import is left to Python. The
interrupt is raised deterministically by an import hook that a sitecustomize on PYTHONPATH
installs: KeyboardInterrupt when the module named by INTERRUPT_AT is about to be imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOOK = """
import os, sys


class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ.get("INTERRUPT_AT"):
            raise KeyboardInterrupt
        return None


sys.meta_path.insert(0, Interrupt())
"""
# what pip writes as the `tinygrad-digits` console script
CONSOLE_SCRIPT = "import sys\nfrom tinygrad_digits.cli import main\nsys.exit(main())\n"


def _run(tmp_path: Path, command: list[str], at: str) -> subprocess.CompletedProcess:
    (tmp_path / "hook").mkdir(exist_ok=True)
    (tmp_path / "hook/sitecustomize.py").write_text(HOOK)
    env = dict(os.environ, PYTHONPATH=f"{tmp_path / 'hook'}{os.pathsep}{ROOT}", INTERRUPT_AT=at)
    env.pop("TINYGRAD_DIGITS_DEBUG", None)
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "at",
    [
        "tinygrad_digits.nn",  # the package's own imports
        "tinygrad_digits.serialization",  # its last
        "tinygrad_digits.cli.parser",  # the CLI's, before main runs
    ],
)
@pytest.mark.parametrize("how", ["python -m", "console script"])
def test_ctrl_c_during_start_up_is_one_line_and_130(tmp_path: Path, at: str, how: str) -> None:
    if how == "console script":
        (tmp_path / "tinygrad-digits").write_text(CONSOLE_SCRIPT)
        command = [sys.executable, str(tmp_path / "tinygrad-digits"), "train", "--help"]
    else:
        command = [sys.executable, "-m", "tinygrad_digits", "train", "--help"]
    result = _run(tmp_path, command, at)
    assert (result.returncode, result.stderr) == (130, "tinygrad-digits: interrupted\n")
    assert result.stdout == ""


def test_a_library_import_interrupted_stays_pythons(tmp_path: Path) -> None:
    result = _run(tmp_path, [sys.executable, "-c", "import tinygrad_digits"], "tinygrad_digits.nn")
    assert result.returncode != 130
    assert "Traceback" in result.stderr and "KeyboardInterrupt" in result.stderr
