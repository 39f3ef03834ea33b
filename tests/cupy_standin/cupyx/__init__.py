"""cupyx in the stand-in: scatter_add and allow_synchronize."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import cupy
import numpy as np
from cupy import standin

from . import scipy


class DeviceSynchronized(RuntimeError):
    pass


def scatter_add(a: Any, slices: Any, value: Any) -> None:
    """a[slices] += value with repeated indices accumulating; indices wrap, as in CuPy."""
    target = cupy._on_current(a)
    cupy._kernel()
    np.add.at(target, cupy._wrap_indices(slices, target.shape), cupy._unwrap(value))


@contextlib.contextmanager
def allow_synchronize(allow: bool) -> Iterator[None]:
    old = standin.allow_sync[0]
    standin.allow_sync[0] = allow
    try:
        yield
    finally:
        standin.allow_sync[0] = old


__all__ = ["DeviceSynchronized", "allow_synchronize", "scatter_add", "scipy"]
