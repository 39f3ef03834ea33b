"""Dtypes are NumPy dtype objects on every device; float32 is the default for floats."""

from __future__ import annotations

from typing import Any

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

DEFAULT_FLOAT = float32
_PYTHON_TYPES = {float: float32, int: int64, bool: bool_}


def to_dtype(dtype: Any) -> np.dtype | None:
    """Accept tinygrad_digits/NumPy dtypes, their names, and Python's float, int and bool."""
    if dtype is None:
        return None
    if dtype in _PYTHON_TYPES:
        return _PYTHON_TYPES[dtype]
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None)
    try:
        return np.dtype(name if isinstance(name, str) else dtype)
    except TypeError as exc:
        raise TypeError(f"unknown dtype {dtype!r}: use e.g. tinygrad_digits.float32") from exc
