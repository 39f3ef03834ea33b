"""A NumPy-backed STAND-IN for CuPy: a test double of CuPy's Python surface, not a GPU library.

tests/conftest.py imports it as `cupy` only when the real CuPy is missing (see README.md).
Arrays wrap a NumPy array and the id of the device they live on.
"""

from __future__ import annotations

import operator as _op
from types import ModuleType as _ModuleType
from typing import Any

import numpy as _np

from . import standin

__version__ = "14.0.0+standin"
STANDIN = True


def _sync() -> None:
    """A device-to-host read: counted, and refused under cupyx.allow_synchronize(False)."""
    if not standin.allow_sync[0]:
        import cupyx

        raise cupyx.DeviceSynchronized("a device synchronization was detected")
    standin.syncs += 1


def _kernel() -> None:
    failure = standin.fail_kernel
    if failure is not None:
        standin.fail_kernel = None
        raise failure


def _on_current(x: ndarray) -> _np.ndarray:
    here = standin.current[0]
    if x._dev != here:
        raise ValueError(
            f"The device where the array resides ({x._dev}) is different from the current "
            f"device ({here}). Peer access is unavailable between these devices."
        )
    return x._a


def _unwrap(x: Any) -> Any:
    if type(x) is ndarray:
        return _on_current(x)
    if isinstance(x, _np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v) for v in x)
    return x


def _make(a: _np.ndarray, dev: int | None = None) -> ndarray:
    standin.arrays += 1
    if a.base is None:  # new memory: a kernel wrote it (a view launches nothing)
        standin.launches += 1
    out = ndarray.__new__(ndarray)
    out._a = a
    out._dev = standin.current[0] if dev is None else dev
    return out


def _wrap(r: Any) -> Any:
    if isinstance(r, _np.ndarray):
        return _make(r)
    if isinstance(r, _np.generic):
        return _make(_np.asarray(r))
    if type(r) in (list, tuple):
        return type(r)(_wrap(v) for v in r)
    return r


def _wrap_indices(key: Any, shape: tuple[int, ...]) -> Any:
    """CuPy wraps out-of-range integer array indices around instead of raising."""
    parts = key if isinstance(key, tuple) else (key,)
    out, axis, simple = [], 0, True
    for k in parts:
        if k is None or k is Ellipsis:
            simple = False
        if type(k) is ndarray:
            k = _on_current(k)
        elif isinstance(k, list):
            k = _np.asarray(k)
        integer = isinstance(k, _np.ndarray) and k.dtype.kind in "iu"
        if integer and simple and axis < len(shape) and shape[axis] > 0:
            k = _np.mod(k, shape[axis])
        out.append(k)
        axis += k.ndim if isinstance(k, _np.ndarray) and k.dtype.kind == "b" else 1
    return tuple(out) if isinstance(key, tuple) else out[0]


def _sync_on_mask(key: Any) -> None:
    """CuPy reads a boolean mask's count of True to the host before indexing with it (the
    result's size, or the number of values to write): a sync, in both x[mask] and x[mask] = v,
    for a 0-d or Python bool too; an empty mask's count is known without one."""
    for k in key if isinstance(key, tuple) else (key,):
        if isinstance(k, (bool, _np.bool_)) or (
            isinstance(k, _np.ndarray) and k.dtype.kind == "b" and k.size > 0
        ):
            _sync()
            return


class _Flags:
    """CuPy's flags: no WRITEABLE."""

    def __init__(self, a: _np.ndarray) -> None:
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


_NO_DEVICE_CHECK = frozenset({"copy", "get", "item", "tolist", "view"})


class ndarray:  # noqa: N801 (CuPy's name)
    __slots__ = ("_a", "_dev", "__weakref__")
    __array_ufunc__ = None  # NumPy operators defer to ours, which refuse NumPy arrays
    __hash__ = None  # type: ignore[assignment]

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    # --- facts ------------------------------------------------------------------------------
    @property
    def device(self) -> Any:
        from .cuda import Device

        return Device(self._dev)

    @property
    def flags(self) -> _Flags:
        return _Flags(self._a)

    @property
    def base(self) -> Any:
        return None if self._a.base is None else _make(self._a.base, self._dev)

    def __getattr__(self, name: str) -> Any:
        if standin.fusing[0] and name not in _FUSABLE_ATTRIBUTES:
            raise NotImplementedError(f"`{name}` is not supported in cupy.fuse")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr) if isinstance(attr, _np.ndarray) else attr
        if name not in _NO_DEVICE_CHECK:
            _on_current(self)

        def method(*args: Any, **kwargs: Any) -> Any:
            _kernel()
            return _wrap(attr(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

        return method

    def copy(self, order: str = "C") -> ndarray:
        """To the current device, from whichever device holds it (as CuPy does)."""
        return _make(self._a.copy(order=order))

    def astype(self, dtype: Any, copy: bool = True, **kwargs: Any) -> ndarray:
        return _make(_on_current(self).astype(dtype, copy=copy), self._dev)

    # --- DLPack: a CUDA device to consumers; only the stand-in's from_dlpack reads it ------
    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, self._dev)  # kDLCUDA

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._a.__dlpack__()

    # --- reads to the host (each a sync) ----------------------------------------------------
    def get(self, stream: Any = None) -> _np.ndarray:
        _sync()
        return self._a.copy()

    def item(self) -> Any:
        _sync()
        return self._a.item()

    def tolist(self) -> Any:
        _sync()
        return self._a.tolist()

    def __float__(self) -> float:
        _sync()
        return float(self._a)

    def __int__(self) -> int:
        _sync()
        return int(self._a)

    def __index__(self) -> int:
        _sync()
        return _op.index(self._a)

    def __bool__(self) -> bool:
        if self._a.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous.")
        _sync()
        return bool(self._a)

    def __repr__(self) -> str:
        _sync()
        return repr(self._a).replace("array(", "array(", 1)

    def __len__(self) -> int:
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self) -> Any:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    # --- indexing ---------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> ndarray:
        if standin.fusing[0]:
            raise ValueError("cupy.fuse supports no indexing of an array but `[...]` writes")
        a = _on_current(self)
        key = _wrap_indices(key, a.shape)
        _sync_on_mask(key)
        return _wrap(a[key])

    def __setitem__(self, key: Any, value: Any) -> None:
        a = _on_current(self)
        _kernel()
        standin.launches += 1
        key, value = _wrap_indices(key, a.shape), _unwrap(value)
        _sync_on_mask(key)
        parts = key if isinstance(key, tuple) else (key,)
        if isinstance(value, _np.ndarray) and all(
            isinstance(k, _np.ndarray) and k.dtype.kind in "iu" for k in parts
        ):  # CuPy's writes to one element race: here the first one lands last
            index = _np.broadcast_arrays(*parts)
            k, tail = index[0].size, a.shape[len(parts) :]
            value = _np.broadcast_to(value, index[0].shape + tail).reshape((k, *tail))[::-1]
            key = tuple(i.reshape(-1)[::-1] for i in index)
        a[key] = value


def _binary(fn: Any, reflected: bool = False, gemm: bool = False) -> Any:
    def method(self: ndarray, other: Any) -> Any:
        if isinstance(other, _np.ndarray):
            raise TypeError(f"Unsupported type {type(other)}")
        if gemm:
            _gemm()
        _kernel()
        a, b = _on_current(self), _unwrap(other)
        with _np.errstate(all="ignore"):  # GPU kernels do not warn about 0/0 or log(0)
            return _wrap(fn(b, a) if reflected else fn(a, b))

    return method


def _inplace(fn: Any) -> Any:
    def method(self: ndarray, other: Any) -> ndarray:
        if isinstance(other, _np.ndarray):
            raise TypeError(f"Unsupported type {type(other)}")
        _kernel()
        standin.launches += 1
        self._a = fn(_on_current(self), _unwrap(other))
        return self

    return method


def _unary(fn: Any) -> Any:
    def method(self: ndarray) -> ndarray:
        _kernel()
        return _wrap(fn(_on_current(self)))

    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor"):
    _fn = getattr(_op, _name + "_" if _name in ("and", "or") else _name)
    setattr(ndarray, f"__{_name}__", _binary(_fn))
    setattr(ndarray, f"__r{_name}__", _binary(_fn, reflected=True))
    setattr(ndarray, f"__i{_name}__", _inplace(getattr(_op, f"i{_name}")))
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(_op, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", _unary(getattr(_op, _name)))
ndarray.__matmul__ = _binary(_op.matmul, gemm=True)
ndarray.__rmatmul__ = _binary(_op.matmul, reflected=True, gemm=True)


def _gemm() -> None:
    failure = standin.fail_gemm
    if failure is not None:
        standin.fail_gemm = None
        raise failure


# --- module functions ------------------------------------------------------------------------
def _function(fn: Any, gemm: bool = False) -> Any:
    name = getattr(fn, "__name__", "function")
    fusable = isinstance(fn, _np.ufunc) or name in _FUSABLE_FUNCTIONS

    def call(*args: Any, **kwargs: Any) -> Any:
        if standin.fusing[0] and not fusable:
            raise TypeError(f"cupy.{name} cannot be called inside cupy.fuse")
        if gemm:
            _gemm()
        _kernel()
        with _np.errstate(all="ignore"):  # GPU kernels do not warn about 0/0 or log(0)
            return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    call.__name__ = name
    return call


# What CuPy's kernel fusion accepts inside a fused function besides ufuncs and operators: the
# reductions (at the end of the kernel), where, and the facts dtype and ndim (not shape).
_FUSABLE_FUNCTIONS = frozenset(
    {"sign", "where", "sum", "prod", "max", "min", "amax", "amin", "all", "any"}
)
_FUSABLE_ATTRIBUTES = frozenset(
    {"dtype", "ndim", "astype", "sum", "prod", "max", "min", "all", "any"}
)


def fuse(*args: Any, kernel_name: str | None = None) -> Any:
    """cupy.fuse: the decorated function runs as ONE kernel (counted so), over stand-in arrays
    on the current device and Python scalars. Inside it, as in CuPy's fusion, only operators,
    in-place operators on the arguments, ufuncs, where, reductions and `x[...] = y` work; shape,
    indexing, other functions and reads to the host are refused."""

    def decorate(fn: Any) -> Any:
        def fused(*arguments: Any) -> Any:
            for a in arguments:
                if type(a) is ndarray:
                    _on_current(a)
                elif a is not None and not isinstance(a, (bool, int, float, complex, _np.generic)):
                    raise TypeError(f"cupy.fuse takes arrays and scalars, not {type(a)}")
            _kernel()
            launches, arrays, sync = standin.launches, standin.arrays, standin.allow_sync[0]
            standin.fusing[0] += 1
            standin.allow_sync[0] = False
            try:
                out = fn(*arguments)
            finally:
                standin.fusing[0] -= 1
                standin.allow_sync[0] = sync
            results = out if isinstance(out, tuple) else (out,)
            standin.launches = launches + 1
            standin.arrays = arrays + sum(type(r) is ndarray for r in results)
            return out

        fused.__name__ = kernel_name or fn.__name__
        return fused

    return decorate(args[0]) if args and callable(args[0]) else decorate


def asarray(obj: Any, dtype: Any = None, order: Any = None, **kwargs: Any) -> ndarray:
    """Host data is copied to the current device; a CuPy array is returned as it is."""
    if type(obj) is ndarray:
        return obj if dtype is None else obj.astype(dtype, copy=False)
    standin.uploads += 1
    return _make(_np.array(_unwrap(obj) if type(obj) in (list, tuple) else obj, dtype=dtype))


def array(obj: Any, dtype: Any = None, copy: bool = True, **kwargs: Any) -> ndarray:
    if type(obj) is ndarray:
        return _make(obj._a.astype(dtype or obj._a.dtype, copy=True))
    return asarray(obj, dtype)


def asnumpy(a: Any, stream: Any = None, **kwargs: Any) -> _np.ndarray:
    if type(a) is ndarray:
        return a.get()
    return _np.asarray(a)


class _HostCapsule:
    """The NumPy memory behind a stand-in array, handed to np.from_dlpack (no copy)."""

    def __init__(self, obj: Any) -> None:
        self._capsule = obj.__dlpack__()

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)


def from_dlpack(obj: Any) -> ndarray:
    """Shares memory with a CUDA DLPack producer (only stand-in arrays are such producers)."""
    kind, index = obj.__dlpack_device__()
    if kind != 2:
        raise TypeError("CuPy's from_dlpack takes CUDA arrays only")
    return _make(_np.from_dlpack(_HostCapsule(obj)), index)


def broadcast_to(x: ndarray, shape: Any) -> ndarray:
    """A stride-0 view that can be written through, as CuPy's (it has no WRITEABLE flag)."""
    a = _on_current(x)
    view = _np.broadcast_to(a, shape)
    return _make(
        _np.lib.stride_tricks.as_strided(a, view.shape, view.strides, writeable=True), x._dev
    )


def take(a: ndarray, indices: Any, axis: int | None = None, **kwargs: Any) -> ndarray:
    """Out-of-range indices wrap around, as in CuPy."""
    return _wrap(_np.take(_unwrap(a), _unwrap(indices), axis=axis, mode="wrap"))


def _sign(x: _np.ndarray) -> _np.ndarray:
    """CuPy's sign gives 0 for NaN, where NumPy's gives NaN."""
    return _np.where(_np.isnan(x), 0, _np.sign(x)) if x.dtype.kind == "f" else _np.sign(x)


_sign.__name__ = "sign"  # a ufunc in CuPy: allowed inside cupy.fuse


class _StrideTricks:
    @staticmethod
    def as_strided(x: ndarray, shape: Any = None, strides: Any = None) -> ndarray:
        return _make(
            _np.lib.stride_tricks.as_strided(_on_current(x), shape, strides, writeable=True),
            x._dev,
        )


class lib:  # noqa: N801 (CuPy's name)
    stride_tricks = _StrideTricks


_OVERRIDES = {
    "fuse": fuse,
    "asarray": asarray,
    "array": array,
    "asnumpy": asnumpy,
    "from_dlpack": from_dlpack,
    "broadcast_to": broadcast_to,
    "take": take,
    "sign": _function(_sign),
    "matmul": _function(_np.matmul, gemm=True),
    "dot": _function(_np.dot, gemm=True),
}
_cache: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """NumPy's functions, taking and returning stand-in arrays on the current device."""
    if name in standin.hidden or name.startswith("__"):
        raise AttributeError(name)
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    found = _cache.get(name)
    if found is not None:
        return found
    attr = getattr(_np, name)
    if isinstance(attr, _ModuleType):  # numpy.random, numpy.linalg: not CuPy's
        raise AttributeError(name)
    if isinstance(attr, type) or not callable(attr):
        return attr
    found = _cache[name] = _function(attr)
    return found


from . import cuda, random  # noqa: E402  (they use the array type above)

__all__ = ["asarray", "asnumpy", "cuda", "ndarray", "random"]
