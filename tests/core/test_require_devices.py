"""TINYGRAD_DIGITS_REQUIRE_DEVICES=cuda (make test-gpu) turns a skipped cuda case into a failure,
and refuses the CuPy stand-in, so a GPU machine cannot pass by skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASE = "tests/core/test_anomaly.py::test_log_of_zero_is_caught_at_the_op_and_line"


def _pytest(devices: str, require: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        TINYGRAD_DIGITS_TEST_DEVICES=devices,
        TINYGRAD_DIGITS_REQUIRE_DEVICES=require,
        PYTHONPATH=str(ROOT),
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CASE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_missing_required_device_fails_instead_of_skipping() -> None:
    required = _pytest("cuda:7", "cuda")  # without the variable it skips (see the suite)
    assert required.returncode == 1, required.stdout[-800:]
    assert "TINYGRAD_DIGITS_REQUIRE_DEVICES makes this a failure" in required.stdout


@pytest.mark.slow
def test_the_stand_in_does_not_count_as_a_required_gpu(cupy_module) -> None:
    if not getattr(cupy_module, "STANDIN", False):
        pytest.skip("a real CuPy is installed")
    required = _pytest("cuda", "cuda")
    assert required.returncode == 1 and "only the CuPy stand-in" in required.stdout


def test_cuda_cases_on_the_stand_in_say_so(device, request) -> None:
    """A green run without a GPU must not read as a GPU run: its cuda ids end in -standin."""
    cupy = sys.modules.get("cupy")
    on_standin = device.startswith("cuda") and getattr(cupy, "STANDIN", False)
    assert request.node.callspec.id.endswith("-standin") == bool(on_standin)
