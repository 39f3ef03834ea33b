"""Digits arrays for the doctor's tests, loaded once per session."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_digits.data import load_digits_arrays, normalize


@pytest.fixture(scope="session")
def digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8×8 digits as shipped: pixels 0–16, labels 0–9."""
    return load_digits_arrays()


@pytest.fixture(scope="session")
def digits(digits_raw: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The digits standardised (mean 0, std 1), as a healthy pipeline feeds them."""
    x, y = digits_raw
    return normalize(x, max_value=16)[0], y


@pytest.fixture(scope="session")
def digits_784(digits_raw: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The digits enlarged to 28×28 (784 inputs, like MNIST), scaled to [0, 1]."""
    from tinygrad_digits.data.arrays import upsample_digits

    x, y = digits_raw
    return upsample_digits(x) / np.float32(16), y
