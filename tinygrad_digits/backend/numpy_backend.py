"""The "cpu" device: NumPy arrays."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .device import Device


def _numpy_erf() -> Any:
    try:
        from scipy.special import erf

        return erf
    except ImportError:  # numpy has no erf; math.erf element by element is slow but exact
        return np.vectorize(math.erf, otypes=[np.float64])


class CPUDevice(Device):
    name = "cpu"
    xp = np
    native = np

    def from_numpy(self, array: np.ndarray) -> np.ndarray:
        return array

    def to_numpy(self, array: np.ndarray) -> np.ndarray:
        return array

    def getitem(self, array: np.ndarray, key: Any) -> np.ndarray:
        out = array[key]
        return out if isinstance(out, np.ndarray) else np.asarray(out)

    def index_add(self, shape: tuple[int, ...], key: Any, values: Any) -> np.ndarray:
        out = np.zeros(shape, dtype=values.dtype)
        np.add.at(out, key, values)
        return out

    def erf(self, array: np.ndarray) -> np.ndarray:
        fn = self.__dict__.get("_erf") or self.__dict__.setdefault("_erf", _numpy_erf())
        return np.asarray(fn(array), dtype=array.dtype)
