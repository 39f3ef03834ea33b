"""Shared fixtures: every op test runs on each available device, with seeded randomness."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tinygrad_digits as tg

DEVICES = [
    d.strip()
    for d in os.environ.get("TINYGRAD_DIGITS_TEST_DEVICES", "cpu,strict,cuda").split(",")
    if d.strip()
]


def _available(name: str) -> str | None:
    """None when the device works here, else why it is skipped."""
    try:
        tg.get_device(name)
    except tg.DeviceUnavailableError as exc:
        return str(exc)
    return None


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    reason = _available(request.param)
    if reason is not None:
        pytest.skip(f"device {request.param!r} unavailable: {reason}")
    return request.param


@pytest.fixture(autouse=True)
def _seed() -> None:
    tg.manual_seed(0)
    np.random.seed(0)


def pytest_report_header() -> list[str]:
    """Say once which devices the op tests run on, and why any is skipped."""
    lines = []
    for name in DEVICES:
        reason = _available(name)
        lines.append(f"device {name}: " + ("tested" if reason is None else f"skipped ({reason})"))
    return lines
