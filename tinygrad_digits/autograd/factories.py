"""Ways to make tensors, named as in torch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..backend.registry import DeviceLike, get_device
from ..errors import DtypeError
from .dims import shape_args
from .tensor import Tensor


def tensor(
    data: Any, dtype: Any = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """A tensor from Python numbers/lists, a NumPy/CuPy array or any DLPack-capable array
    (a torch tensor, a JAX array, ...); always a copy (Python floats give float32)."""
    if _foreign_dlpack(data):
        data = from_dlpack(data).clone()
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_dlpack(array: Any) -> Tensor:
    """A tensor sharing memory with `array` (NumPy, CuPy, torch, ...: anything with
    ``__dlpack__``), as torch.from_dlpack: no copy, so each sees the other's in-place changes.

    Host arrays become "cpu" tensors and CUDA arrays "cuda:N" ones (through CuPy).
    """
    if isinstance(array, Tensor):
        return array
    if not hasattr(array, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: a {type(array).__name__} has no __dlpack__")
    kind, index = array.__dlpack_device__()
    if kind in (_DLPACK_CPU, _DLPACK_CUDA_HOST):
        host = np.from_dlpack(array)
        if host.dtype.kind not in "fiub":
            raise TypeError(f"from_dlpack: can't make a tensor of dtype {host.dtype}")
        return Tensor._make(host, get_device("cpu"), False)
    if kind == _DLPACK_CUDA:
        device = get_device(f"cuda:{index}")  # raises a clear error when CuPy is missing
        import cupy

        with cupy.cuda.Device(index):
            return Tensor._make(cupy.from_dlpack(array), device, False)
    raise TypeError(
        f"from_dlpack: arrays on DLPack device type {kind} are not supported (CPU and CUDA are)"
    )


_DLPACK_CPU, _DLPACK_CUDA, _DLPACK_CUDA_HOST = 1, 2, 3


def _foreign_dlpack(data: Any) -> bool:
    """True for a DLPack-capable array that Tensor() does not read directly."""
    if isinstance(data, Tensor | np.ndarray | np.generic):
        return False
    module = type(data).__module__
    return hasattr(type(data), "__dlpack__") and not module.startswith(("cupy", "array_api_strict"))


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with `array`, keeping its dtype (as torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"can't make a tensor from a NumPy array of {array.dtype}")
    return Tensor._make(array, get_device("cpu"), False)


def _default_dtype(value: Any) -> np.dtype:
    if isinstance(value, bool):
        return dtypes.bool_
    if isinstance(value, int):
        return dtypes.int64
    return dtypes.DEFAULT_FLOAT


def full(
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of `size` filled with `fill_value` (its Python type picks the default dtype)."""
    dev = get_device(device)
    dt = dtypes.to_dtype(dtype) or _default_dtype(fill_value)
    shape = shape_args(size if isinstance(size, tuple) else (size,))
    data = dev.xp.full(shape, fill_value, dtype=dev.dtype(dt), **dev.creation_kw)
    out = Tensor._make(data, dev, False)
    return out.requires_grad_() if requires_grad else out


def zeros(
    *size: Any, dtype: Any = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    return full(size, 0.0, dtype=dtype, device=device, requires_grad=requires_grad)


def ones(
    *size: Any, dtype: Any = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    return full(size, 1.0, dtype=dtype, device=device, requires_grad=requires_grad)


empty = zeros


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from start (default 0) up to end, exclusive; ints give int64, floats float32."""
    if end is None:
        start, end = 0, start
    dev = get_device(device)
    all_int = all(isinstance(v, int) for v in (start, end, step))
    dt = dtypes.to_dtype(dtype) or (dtypes.int64 if all_int else dtypes.DEFAULT_FLOAT)
    data = dev.xp.arange(start, end, step, dtype=dev.dtype(dt), **dev.creation_kw)
    out = Tensor._make(data, dev, False)
    return out.requires_grad_() if requires_grad else out


def linspace(
    start: float, end: float, steps: int, *, dtype: Any = None, device: DeviceLike = None
) -> Tensor:
    """`steps` evenly spaced values from start to end; integer dtypes truncate toward zero
    (as torch: computed in floating point, then cast), bool is refused (as torch)."""
    dev = get_device(device)
    dt = dtypes.to_dtype(dtype) or dtypes.DEFAULT_FLOAT
    if dt.kind == "b":
        raise DtypeError("linspace: dtype bool is not supported (as in torch); use a number dtype")
    work = dt if dt.kind == "f" else dtypes.float64
    values = dev.xp.linspace(start, end, steps, dtype=dev.dtype(work), **dev.creation_kw)
    if work != dt:
        values = dev.xp.astype(values, dev.dtype(dt))  # a cast truncates toward zero
    return Tensor._make(values, dev, False)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: DeviceLike = None) -> Tensor:
    dev = get_device(device)
    dt = dtypes.to_dtype(dtype) or dtypes.DEFAULT_FLOAT
    return Tensor._make(dev.xp.eye(n, m, dtype=dev.dtype(dt), **dev.creation_kw), dev, False)


def _random(
    kind: str, size: tuple, dtype: Any, device: DeviceLike, requires_grad: bool, **kw: Any
) -> Tensor:
    dev = get_device(device)
    dt = dtypes.to_dtype(dtype) or dtypes.DEFAULT_FLOAT
    out = Tensor._make(dev.random(kind, shape_args(size), dt, **kw), dev, False)
    return out.requires_grad_() if requires_grad else out


def rand(
    *size: Any, dtype: Any = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """Uniform on [0, 1), from the device's seeded generator (see manual_seed)."""
    return _random("uniform", size, dtype, device, requires_grad, low=0.0, high=1.0)


def randn(
    *size: Any, dtype: Any = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal, from the device's seeded generator (see manual_seed)."""
    return _random("normal", size, dtype, device, requires_grad, mean=0.0, std=1.0)


def randint(
    low: int,
    high: int | None = None,
    size: tuple = (),
    *,
    device: DeviceLike = None,
    dtype: Any = None,
) -> Tensor:
    """Integers in [low, high) (int64 by default)."""
    if high is None:
        low, high = 0, low
    return _random(
        "integers", (tuple(size),), dtype or dtypes.int64, device, False, low=low, high=high
    )


def randperm(n: int, *, device: DeviceLike = None) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    return _random("permutation", ((n,),), dtypes.int64, device, False)


def _like(name: str, maker: Any) -> Any:
    def like(
        t: Tensor, *, dtype: Any = None, device: DeviceLike = None, requires_grad: bool = False
    ) -> Tensor:
        return maker(
            t.shape,
            dtype=dtype if dtype is not None else t.dtype,
            device=device if device is not None else t.device,
            requires_grad=requires_grad,
        )

    like.__name__ = like.__qualname__ = name
    like.__doc__ = f"{maker.__name__} with the shape, dtype and device of `t`."
    return like


zeros_like = _like("zeros_like", zeros)
ones_like = _like("ones_like", ones)
empty_like = _like("empty_like", empty)
rand_like = _like("rand_like", rand)
randn_like = _like("randn_like", randn)


def full_like(
    t: Tensor, fill_value: Any, *, dtype: Any = None, device: DeviceLike = None
) -> Tensor:
    return full(
        t.shape,
        fill_value,
        dtype=dtype if dtype is not None else t.dtype,
        device=device if device is not None else t.device,
    )


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)
