"""The CLI run as a user runs it: a subprocess, from a folder of the test's choosing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """cli(*args, cwd=PATH, **env): `python -m tinygrad_digits ARGS` with extra env variables."""

    def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tinygrad_digits", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            timeout=300,
        )

    return run
