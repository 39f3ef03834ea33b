"""Advanced assignment with repeated indices, the same on every device: the last write wins.

`x[idx] = v` with an index repeated writes several values to one element. NumPy happens to keep
the last one but does not promise it, and on a GPU (CuPy) the writes race, so the result is
undefined. Before such a write, each value is replaced by the value of the last write to the
same element, so every write to an element carries the same value and the order no longer
matters. Done with array operations only (a sort, a binary search and gathers): no host sync,
on every device.
"""

from __future__ import annotations

import math
from typing import Any

from .device import Device


def last_write_wins(device: Device, array: Any, key: Any, value: Any) -> Any:
    """`value` as `array[key] = value` should write it, given that later writes to an element
    win; unchanged when the key is not integer arrays over the leading dims (then followed
    only by full slices), or the value is not an array like `array` (a Python scalar: every
    write is the same)."""
    parts = key if isinstance(key, tuple) else (key,)
    arrays = []
    for part in parts:
        if type(part) is not type(array) or device.numpy_dtype(part).kind not in "iu":
            break
        arrays.append(part)
    rest = parts[len(arrays) :]
    if (
        not arrays
        or type(value) is not type(array)
        or any(not (isinstance(p, slice) and p == slice(None)) for p in rest)
    ):
        return value
    shape = array.shape
    xp = device.xp
    with device.context:
        indices = xp.broadcast_arrays(*arrays)
        writes = indices[0].shape
        k = math.prod(writes)
        if k <= 1:
            return value
        sizes = shape[: len(arrays)]
        position = xp.zeros(k, dtype=xp.int64, **device.creation_kw)
        for index, size in zip(indices, sizes):  # row-major flat position in the indexed dims
            flat = xp.reshape(xp.astype(index, xp.int64), (k,))
            position = position * size + xp.where(flat < 0, flat + size, flat)
        # sort (position, write) pairs as one key: the last write to each element ends its run
        keys = position * k + xp.arange(k, dtype=xp.int64, **device.creation_kw)
        ordered = xp.sort(keys)
        last = xp.searchsorted(ordered, position * k + (k - 1), side="right") - 1
        winner = xp.take(ordered, last) % k
        tail = shape[len(arrays) :]
        full = xp.broadcast_to(value, writes + tail)
        return xp.reshape(xp.take(xp.reshape(full, (k, *tail)), winner, axis=0), writes + tail)


__all__ = ["last_write_wins"]
