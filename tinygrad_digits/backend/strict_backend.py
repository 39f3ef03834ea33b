"""The "strict" device: array-api-strict on a virtual non-CPU device.

It refuses implicit conversion to NumPy and mixing devices, as CuPy does, so running the
whole test suite on it proves the GPU path has no host leaks on a machine without a GPU.
Its kernels stand in for the ones CuPy has natively (fancy indexing, scatter-add, erf, the
fused elementwise kernels of `Device.fuse`); they unwrap the private NumPy array only inside
the kernel, like a GPU kernel would run on-device.
"""

from __future__ import annotations

from collections.abc import Callable
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
            return self._private(key, "index array")
        return key

    def _private(self, array: Any, role: str) -> np.ndarray:
        """The NumPy array inside one of this device's arrays, as a kernel sees device memory."""
        if array.device != self._dev:
            raise ValueError(f"{role} lives on another device")
        return array._array

    def getitem(self, array: Any, key: Any) -> Any:
        return self._wrap(np.asarray(array._array[self._unwrap_key(key)]))

    def setitem(self, array: Any, key: Any, value: Any) -> Any:
        array._array[self._unwrap_key(key)] = getattr(value, "_array", value)
        return array

    def index_add(self, shape: tuple[int, ...], key: Any, values: Any) -> Any:
        return self._wrap(self._cpu.index_add(shape, self._unwrap_key(key), values._array))

    def erf(self, array: Any) -> Any:
        return self._wrap(self._cpu.erf(array._array))

    def _build_fused(self, kernel: Any, options: dict[str, Any]) -> Any:
        """One kernel per call, as on a GPU: the arguments must be this device's arrays or
        scalars (a NumPy array would be a host leak), and the elementwise function runs
        on their private NumPy arrays, writing in place where it writes."""
        run = self._cpu.fuse(kernel, **options)
        return lambda *args: self._launch(run, args)

    def _launch(self, run: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        out = run(*map(self._kernel_argument, args))
        return None if out is None else self._wrap(np.asarray(out))

    def _kernel_argument(self, value: Any) -> Any:
        if hasattr(value, "_array"):
            return self._private(value, "a fused kernel's argument")
        if value is None or isinstance(value, (bool, int, float, np.generic)):
            return value
        raise TypeError(
            f"a fused kernel on 'strict' takes its arrays and scalars, not "
            f"{type(value).__name__}: move the value to the device first"
        )

    def owns_memory(self, array: Any) -> bool:
        return array._array.base is None

    def strides(self, array: Any) -> tuple[int, ...]:
        return array._array.strides
