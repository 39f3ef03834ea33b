"""Pixel scaling: to [0, 1], then standardised with one mean and std for all pixels.

Statistics are computed on the training set and reused for validation and test data, so the
functions return them. Known values for the full training sets are in ``MEAN_STD``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MEAN_STD", "normalize", "scale_to_unit", "standardize"]

# Mean and std of the training images after scaling to [0, 1].
MEAN_STD = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}


def scale_to_unit(x: np.ndarray, max_value: float | None = None) -> np.ndarray:
    """float32 copy of ``x / max_value``; max_value defaults to 255 for uint8 and is required
    otherwise (16 for sklearn's 8×8 digits), since guessing it from the data would be fragile."""
    x = np.asarray(x)
    if max_value is None:
        if x.dtype != np.uint8:
            raise ValueError(
                f"scale_to_unit: pass max_value for {x.dtype} data "
                "(255 for MNIST-style pixels, 16 for sklearn's 8×8 digits)"
            )
        max_value = 255.0
    return (x.astype(np.float32) / np.float32(max_value)).astype(np.float32, copy=False)


def standardize(
    x: np.ndarray, mean: float | None = None, std: float | None = None
) -> tuple[np.ndarray, float, float]:
    """((x - mean) / std as float32, mean, std); missing statistics are computed from ``x``."""
    x = np.asarray(x, dtype=np.float32)
    if mean is None:
        mean = float(x.mean(dtype=np.float64))
    if std is None:
        std = float(x.std(dtype=np.float64))
    if not std > 0:
        raise ValueError(f"standardize: std must be positive, got {std} (is the data constant?)")
    out = (x - np.float32(mean)) / np.float32(std)
    return out.astype(np.float32, copy=False), float(mean), float(std)


def normalize(
    x: np.ndarray,
    mean: float | None = None,
    std: float | None = None,
    max_value: float | None = None,
) -> tuple[np.ndarray, float, float]:
    """Scale to [0, 1] then standardise; returns (x, mean, std) to reuse on held-out data."""
    return standardize(scale_to_unit(x, max_value), mean, std)
