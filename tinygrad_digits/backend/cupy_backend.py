"""The "cuda" device: CuPy arrays on one GPU, imported lazily."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DeviceUnavailableError
from .device import Device


def _import_cupy() -> Any:
    try:
        import cupy
    except ImportError as exc:
        raise DeviceUnavailableError(
            "device 'cuda' needs CuPy, which is not installed. Install it with "
            "'pip install \"tinygrad-digits[cuda]\"' (CUDA 12) or use device='cpu'."
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise DeviceUnavailableError(
            f"CuPy is installed but no CUDA GPU is usable ({exc}). "
            "Check the NVIDIA driver with nvidia-smi, or use device='cpu'."
        ) from exc
    if count == 0:
        raise DeviceUnavailableError("CuPy is installed but this machine has no CUDA GPU.")
    return cupy


def _array_api_namespace(cupy: Any) -> Any:
    """CuPy's namespace with the Array API names (astype, permute_dims, concat, ...) that
    older CuPy releases lack, through array-api-compat when it is installed."""
    try:
        from array_api_compat import cupy as compat
    except ImportError:
        return cupy
    return compat


class CUDADevice(Device):
    def __init__(self, index: int = 0) -> None:
        cupy = _import_cupy()
        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= index < count:
            raise DeviceUnavailableError(
                f"device 'cuda:{index}' does not exist: this machine has {count} GPU(s), "
                f"cuda:0 to cuda:{count - 1}."
            )
        self.xp = _array_api_namespace(cupy)
        self.native = cupy
        self.index = index
        self.name = "cuda" if index == 0 else f"cuda:{index}"
        self._gpu = cupy.cuda.Device(index)

    def from_numpy(self, array: np.ndarray) -> Any:
        with self._gpu:
            return self.native.asarray(array)

    def to_numpy(self, array: Any) -> np.ndarray:
        return self.native.asnumpy(array)

    def seed(self, seed: int) -> None:
        super().seed(seed)
        with self._gpu:
            self.native.random.seed(seed)

    def as_mask(self, condition: Any, dtype: Any) -> Any:
        return condition

    def copy(self, array: Any) -> Any:
        return array.copy()  # cupy.asarray takes no copy= before CuPy 14

    def index_add(self, shape: tuple[int, ...], key: Any, values: Any) -> Any:
        import cupyx

        with self._gpu:
            out = self.native.zeros(shape, dtype=values.dtype)
            cupyx.scatter_add(out, key, values)
            return out

    def erf(self, array: Any) -> Any:
        from cupyx.scipy.special import erf

        return erf(array)
