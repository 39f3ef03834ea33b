"""The "strict" device: array-api-strict on a virtual non-CPU device.

It refuses implicit conversion to NumPy and mixing devices, as CuPy does, so running the
whole test suite on it proves the GPU path has no host leaks on a machine without a GPU.
Its kernels stand in for the ones CuPy has natively (fancy indexing, scatter-add, erf); they
unwrap the private NumPy array only inside the kernel, like a GPU kernel would run on-device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .device import Device
from .numpy_backend import CPUDevice


class StrictDevice(Device):
    name = "strict"
    defers_checks = True
    launch_bound = True
    multiplies_bools = False

    def __init__(self) -> None:
        try:
            import array_api_strict
        except ImportError as exc:
            from ..errors import DeviceUnavailableError

            raise DeviceUnavailableError(
                "device 'strict' needs the array-api-strict package: "
                'pip install "tinygrad-digits[strict]"'
            ) from exc
        self.xp = array_api_strict
        self._dev = array_api_strict.Device("device1")
        self.creation_kw = {"device": self._dev}
        self._cpu = CPUDevice()
        self._dtypes = {}

    def _wrap(self, array: np.ndarray) -> Any:
        return self.xp.asarray(array, device=self._dev)

    def from_numpy(self, array: np.ndarray) -> Any:
        return self._wrap(np.asarray(array))

    def to_numpy(self, array: Any) -> np.ndarray:
        self.raise_deferred()
        return np.asarray(array.to_device(self.xp.Device("CPU_DEVICE")))

    def dtype(self, dtype: np.dtype) -> Any:
        found = self._dtypes.get(dtype)
        if found is None:
            found = self._dtypes[dtype] = getattr(self.xp, np.dtype(dtype).name)
        return found

    def numpy_dtype(self, array: Any) -> np.dtype:
        return array._array.dtype

    def _unwrap_key(self, key: Any) -> Any:
        if isinstance(key, tuple):
            return tuple(self._unwrap_key(k) for k in key)
        if hasattr(key, "_array"):
            if key.device != self._dev:
                raise ValueError("index array lives on another device")
            return key._array
        return key

    def getitem(self, array: Any, key: Any) -> Any:
        return self._wrap(np.asarray(array._array[self._unwrap_key(key)]))

    def setitem(self, array: Any, key: Any, value: Any) -> Any:
        array._array[self._unwrap_key(key)] = getattr(value, "_array", value)
        return array

    def index_add(self, shape: tuple[int, ...], key: Any, values: Any) -> Any:
        return self._wrap(self._cpu.index_add(shape, self._unwrap_key(key), values._array))

    def erf(self, array: Any) -> Any:
        return self._wrap(self._cpu.erf(array._array))

    def owns_memory(self, array: Any) -> bool:
        return array._array.base is None

    def strides(self, array: Any) -> tuple[int, ...]:
        return array._array.strides
