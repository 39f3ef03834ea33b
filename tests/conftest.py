"""Shared fixtures: every op test runs on each device, with seeded randomness.

Without a real CuPy, "cuda" runs on the CuPy stand-in (tests/cupy_standin, a NumPy-backed
test double; test ids say `cuda-standin`). TINYGRAD_DIGITS_REQUIRE_DEVICES=cuda (set by
`make test-gpu`) turns every skip of a listed device into a failure, and refuses the stand-in.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

STANDIN_PATH = str(Path(__file__).parent / "cupy_standin")
CUPY_STANDIN = importlib.util.find_spec("cupy") is None
if CUPY_STANDIN:
    sys.path.insert(0, STANDIN_PATH)

import tinygrad_digits as tg  # noqa: E402
from tinygrad_digits.backend import registry  # noqa: E402

DEVICES = [
    d.strip()
    for d in os.environ.get("TINYGRAD_DIGITS_TEST_DEVICES", "cpu,strict,cuda").split(",")
    if d.strip()
]
REQUIRED = {
    d.strip() for d in os.environ.get("TINYGRAD_DIGITS_REQUIRE_DEVICES", "").split(",") if d.strip()
}


def is_standin(name: str) -> bool:
    """Whether device `name` runs on the CuPy stand-in here rather than on a GPU."""
    return CUPY_STANDIN and name.split(":")[0] == "cuda"


def _available(name: str) -> str | None:
    """None when the device works here, else why it is skipped."""
    if is_standin(name) and name.split(":")[0] in REQUIRED:
        return "only the CuPy stand-in is importable (no real CuPy installed)"
    try:
        tg.get_device(name)
    except tg.DeviceUnavailableError as exc:
        return str(exc)
    return None


def skip_unavailable(name: str) -> None:
    """Skip a test whose device is missing here, or fail when that device is required."""
    reason = _available(name)
    if reason is None:
        return
    message = f"device {name!r} unavailable: {reason}"
    if name.split(":")[0] in REQUIRED:
        pytest.fail(message + " (TINYGRAD_DIGITS_REQUIRE_DEVICES makes this a failure)")
    pytest.skip(message)


def _param(name: str) -> object:
    return pytest.param(name, id=f"{name}-standin" if is_standin(name) else name)


ACCELERATORS = [d for d in DEVICES if d != "cpu"]


@pytest.fixture(params=[_param(d) for d in DEVICES])
def device(request: pytest.FixtureRequest) -> str:
    skip_unavailable(request.param)
    return request.param


@pytest.fixture(params=[_param(d) for d in ACCELERATORS])
def accelerator(request: pytest.FixtureRequest) -> str:
    """Each device that is not the host (strict, cuda): for tests of moves between devices."""
    skip_unavailable(request.param)
    return request.param


@pytest.fixture
def cupy_module() -> Any:
    """The cupy module (the stand-in where no real CuPy is installed); skips without one."""
    skip_unavailable("cuda")
    import cupy

    return cupy


@pytest.fixture
def host_syncs(cupy_module: Any) -> Callable[[], int]:
    """Device-to-host reads so far, as the CuPy stand-in counts them (skips on real CuPy,
    where scripts/gpu_check.py checks syncs with cupyx.allow_synchronize)."""
    if not CUPY_STANDIN:
        pytest.skip("host syncs are counted by the CuPy stand-in")
    return lambda: cupy_module.standin.syncs


@pytest.fixture
def host_uploads(cupy_module: Any) -> Callable[[], int]:
    """Host-to-device copies so far, as the CuPy stand-in counts them."""
    if not CUPY_STANDIN:
        pytest.skip("uploads are counted by the CuPy stand-in")
    return lambda: cupy_module.standin.uploads


@pytest.fixture(autouse=True)
def _seed() -> Any:
    tg.manual_seed(0)
    np.random.seed(0)
    yield
    for dev in set(registry._devices.values()):  # a test's unread failed checks stay its own
        dev.__dict__.pop("_pending", None)


def pytest_report_header() -> list[str]:
    """Say once which devices the op tests run on, and why any is skipped."""
    lines = []
    for name in DEVICES:
        reason = _available(name)
        state = "tested" if reason is None else f"skipped ({reason})"
        if reason is None and is_standin(name):
            state = "tested on the CuPy STAND-IN (a NumPy test double, not a GPU)"
        lines.append(f"device {name}: {state}")
    return lines
