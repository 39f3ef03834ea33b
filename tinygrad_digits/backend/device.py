"""The Device: one array library, how to move arrays to it, its random generator, its kernels."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

# Devices whose library has no "current device" share this do-nothing context.
NO_CONTEXT = contextlib.nullcontext()


class Device:
    """Base class for a place where arrays live.

    Op code only uses `xp` (an Array API namespace) plus the few kernels defined here,
    which the standard lacks: indexing with integer arrays, scatter-add and erf.
    """

    name: str = "?"
    xp: Any = None
    # The library's own module (numpy, cupy) for the few calls outside the Array API
    # (strided views); None where there is none (strict).
    native: Any = None
    # Keyword arguments that put a new array (xp.zeros, xp.full, ...) on this device.
    creation_kw: dict[str, Any] = {}  # noqa: RUF012
    # Entered around every op, creation and optimizer step on this device, so libraries with
    # a "current device" (CuPy) put new arrays and kernels on the right GPU.
    context: Any = NO_CONTEXT
    # Whether range checks of labels and indices become device-side flags raised at the next
    # read to the host (Device.defer_check) instead of a transfer each (accelerators).
    defers_checks = False
    # Whether each array operation costs a kernel launch (a GPU; strict counts as one), so an
    # optimizer updates all parameters in one pass over flat buffers (optim/flat.py). On the
    # CPU a pass per parameter is cheaper than gathering the gradients into one array.
    launch_bound = False
    # Whether float arrays may be multiplied by bool arrays (NumPy, CuPy; the Array API refuses
    # it): a mask multiply is 3x faster than `where` on NumPy.
    multiplies_bools = True

    def __repr__(self) -> str:
        kind, _, index = self.name.partition(":")
        return f"device(type='{kind}', index={index})" if index else f"device(type='{kind}')"

    def __str__(self) -> str:
        return self.name

    @property
    def type(self) -> str:
        """'cpu', 'cuda' or 'strict', as torch.device.type."""
        return self.name.split(":")[0]

    def __eq__(self, other: object) -> bool:
        """Equal to itself and to any spelling of its name ("cuda" == "cuda:0"); comparing
        with a string creates no device."""
        if isinstance(other, str):
            from .registry import canonical_name

            return canonical_name(other) == self.name
        return self is other

    def __hash__(self) -> int:
        return id(self)

    # --- moving data -------------------------------------------------------------------
    def from_numpy(self, array: np.ndarray) -> Any:
        raise NotImplementedError

    def to_numpy(self, array: Any) -> np.ndarray:
        raise NotImplementedError

    def receive(self, array: Any, source: Device) -> Any:
        """`array`, which lives on `source`, copied here (through the host by default)."""
        if source is self:
            return array
        return self.from_numpy(source.to_numpy(array))

    def asarray(self, obj: Any, dtype: np.dtype) -> Any:
        """Make an array on this device from Python data (lists, scalars)."""
        return self.from_numpy(np.asarray(obj, dtype=dtype))

    def defer_check(self, failed: Any, explain: Any) -> None:
        """Remember the device-side bool `failed`; if it is true at the next read to the host,
        `explain()` raises the error (as torch reports device-side asserts asynchronously)."""
        pending = self.__dict__.setdefault("_pending", [])
        if len(pending) >= 64:  # bound what is kept alive between reads: fold the flags
            flags = self.xp.stack([f for f, _ in pending] + [failed])
            first = pending[0][1]
            pending[:] = [(self.xp.any(flags), first)]
            return
        pending.append((failed, explain))

    def raise_deferred(self) -> None:
        """Raise the first deferred check that failed (one transfer for all of them)."""
        pending = self.__dict__.get("_pending")
        if not pending:
            return
        self._pending = []
        with self.context:
            flags = self.to_numpy(self.xp.stack([f for f, _ in pending]))
        for flag, (_, explain) in zip(flags, pending):
            if flag:
                explain()
                raise IndexError("an index or label was out of range in an earlier step")

    # --- dtypes ------------------------------------------------------------------------
    def dtype(self, dtype: np.dtype) -> Any:
        """This library's dtype object for a NumPy dtype."""
        return dtype

    def numpy_dtype(self, array: Any) -> np.dtype:
        return array.dtype

    # --- random numbers ----------------------------------------------------------------
    def seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def random_source(self, dtype: np.dtype) -> tuple[Any, Any]:
        """Where random numbers come from (a NumPy-Generator-like object) and the float dtype
        they are drawn in: here a host NumPy Generator, in float64, then moved (CuPy draws on
        the GPU). Seeded by manual_seed; unseeded, from the registry's sequence of seeds."""
        rng = getattr(self, "_rng", None)
        if rng is None:
            from . import registry

            self.seed(registry.next_seed())
            rng = self._rng
        return rng, np.float64

    def random(self, kind: str, shape: tuple[int, ...], dtype: np.dtype, **kw: Any) -> Any:
        rng, wide = self.random_source(dtype)
        with self.context:
            if kind == "uniform":
                out = rng.random(shape, dtype=wide) * (kw["high"] - kw["low"]) + kw["low"]
            elif kind == "normal":
                out = rng.standard_normal(shape, dtype=wide) * kw["std"] + kw["mean"]
            elif kind == "integers":
                out = rng.integers(kw["low"], kw["high"], size=shape)
            elif kind == "permutation":
                out = rng.permutation(shape[0])
            else:
                raise ValueError(f"unknown random kind {kind!r}")
            return self.from_numpy(out.astype(dtype, copy=False))

    # --- fused kernels -----------------------------------------------------------------
    def fuse(self, kernel: Callable[..., Callable[..., Any]], **options: Any) -> Callable[..., Any]:
        """The elementwise function `kernel(xp, **options)` builds, ready to call on this
        device's arrays and Python scalars (`options`: bools that pick a variant).

        `xp` is the namespace whose ufuncs (sqrt, exp, log, maximum, where) the function may
        call besides operators; in-place operators may only write to its array arguments, and a
        reduction may only come last. Here the function runs as written, one array operation
        after another; a GPU device compiles it into one kernel (one launch instead of one per
        operation), so the same code is the fused path and its reference.
        """
        cache = self.__dict__.get("_fused")  # (setdefault would make a dict on every call)
        if cache is None:
            cache = self._fused = {}
        key = (kernel, *options.items())  # callers name options in one order: no sort
        found = cache.get(key)
        if found is None:
            found = cache[key] = self._build_fused(kernel, options)
        return found

    def _build_fused(self, kernel: Callable[..., Any], options: dict[str, Any]) -> Callable:
        return kernel(self.xp, **options)

    # --- kernels the Array API standard lacks ----------------------------------------
    def getitem(self, array: Any, key: Any) -> Any:
        """`array[key]` including integer-array and boolean-mask indexing."""
        return array[key]

    def setitem(self, array: Any, key: Any, value: Any) -> Any:
        """`array[key] = value` in place, including integer-array and boolean-mask keys."""
        array[key] = value
        return array

    def index_add(self, shape: tuple[int, ...], key: Any, values: Any) -> Any:
        """zeros(shape) with `values` added at `key`; repeated indices accumulate."""
        raise NotImplementedError

    def erf(self, array: Any) -> Any:
        raise NotImplementedError

    def copy(self, array: Any) -> Any:
        """A copy of `array` with its own memory, on this device."""
        return self.xp.asarray(array, copy=True)

    def as_mask(self, condition: Any, dtype: Any) -> Any:
        """A mask to multiply arrays of `dtype` by: the bool array itself where the library
        multiplies by bools (NumPy, CuPy: a pass saved), else 0/1 values of `dtype`."""
        return condition if self.multiplies_bools else self.xp.astype(condition, dtype)

    def owns_memory(self, array: Any) -> bool:
        """False for a view into another array's memory (so it must be copied before keeping)."""
        return getattr(array, "base", None) is None

    def strides(self, array: Any) -> tuple[int, ...]:
        return array.strides

    def is_broadcast_view(self, array: Any) -> bool:
        """Whether several elements share one memory location (a stride-0 view), so a write
        through it would race on a GPU; NumPy marks these read-only, CuPy does not."""
        return any(s == 0 and n > 1 for s, n in zip(self.strides(array), array.shape))
