"""Nested Python values <-> (a JSON tree, named arrays): the part both file formats share.

A tree node is a small dict: {"t": "tensor"|"ndarray", "key", "dtype", "shape"} for an array
stored under `key`, {"t": "value"|"float"} for JSON scalars (non-finite floats as text), and
{"t": "dict"|"list"|"tuple", "items"} for containers. Dict keys stay strings or ints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

MAX_DEPTH = 64  # nesting deeper than any real checkpoint; stops a hostile tree early


class ModelFileError(ValueError):
    """load() got a file that is missing pieces, corrupt, truncated, hostile or not ours."""


def encode(obj: Any, arrays: dict[str, np.ndarray], name: str = "") -> Any:
    """The tree of `obj`; arrays go into `arrays` under their dotted path (PyTorch's names)."""
    if isinstance(obj, Tensor):
        from ..nn.parameter import Parameter

        node = _array_node("tensor", np.asarray(obj.device.to_numpy(obj.data)), arrays, name)
        if obj.requires_grad:
            node["requires_grad"] = True
        if isinstance(obj, Parameter):
            node["parameter"] = True
        return node
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"save: can't store a NumPy array of dtype {obj.dtype} at {name!r}")
        return _array_node("ndarray", obj, arrays, name)
    if obj is None or isinstance(obj, bool | str):
        return {"t": "value", "v": obj}
    if isinstance(obj, int | np.integer):
        return {"t": "value", "v": int(obj)}
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return {"t": "value", "v": v} if math.isfinite(v) else {"t": "float", "v": repr(v)}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise TypeError(
                    f"save: dict keys must be strings or ints, got {type(k).__name__} at {name!r}"
                )
            items.append([k, encode(v, arrays, _join(name, k))])
        return {"t": "dict", "items": items}
    if isinstance(obj, list | tuple):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {"t": kind, "items": [encode(v, arrays, _join(name, i)) for i, v in enumerate(obj)]}
    raise TypeError(
        f"save: can't store a {type(obj).__name__} at {name or 'the top'!r}; save() takes nested "
        "dicts/lists of tensors, arrays, numbers and strings (e.g. model.state_dict(), "
        "optimizer.state_dict()); nothing is pickled"
    )


def _join(name: str, key: Any) -> str:
    return f"{name}.{key}" if name else str(key)


def _array_node(kind: str, array: np.ndarray, arrays: dict[str, np.ndarray], name: str) -> Any:
    key, n = name or "tensor", 1
    while key in arrays:  # {1: a, "1": b} would both be "1"
        n += 1
        key = f"{name or 'tensor'}#{n}"
    arrays[key] = array
    return {"t": kind, "key": key, "dtype": array.dtype.str, "shape": list(array.shape)}


def decode(node: Any, get_array: Callable[[str], np.ndarray], device: Any, path: str) -> Any:
    """The value a tree node stands for; arrays come from `get_array(key)`, each key at most
    once (one array named 500 times would be loaded 500 times). Any malformed entry is a
    ModelFileError naming the file."""
    seen: set[str] = set()

    def once(key: Any) -> np.ndarray:
        if not isinstance(key, str) or key in seen:
            raise ModelFileError(f"load: '{path}' refers to array {key!r:.60} more than once")
        seen.add(key)
        return get_array(key)

    try:
        return _decode(node, once, device, path, 0)
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(
            f"load: '{path}' has a malformed structure ({type(exc).__name__}: {exc!s:.80})"
        ) from None


def _decode(
    node: Any, get_array: Callable[[str], np.ndarray], device: Any, path: str, depth: int
) -> Any:
    if depth > MAX_DEPTH:
        raise ModelFileError(f"load: '{path}' nests deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict) or "t" not in node:
        raise ModelFileError(f"load: '{path}' has a malformed structure entry: {node!r:.80}")
    kind = node["t"]
    if kind == "value":
        return node["v"]
    if kind == "float":
        return float(node["v"])
    if kind == "dict":
        return {k: _decode(v, get_array, device, path, depth + 1) for k, v in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v, get_array, device, path, depth + 1) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind in ("tensor", "ndarray"):
        key = node["key"]
        array = get_array(key)
        want_dtype, want_shape = np.dtype(node["dtype"]), tuple(node["shape"])
        if array.dtype != want_dtype or array.shape != want_shape:
            raise ModelFileError(
                f"load: array '{key}' in '{path}' has dtype {array.dtype} and shape "
                f"{array.shape}, but the structure says {want_dtype} and {want_shape}: the file "
                "was modified or mixed with another"
            )
        return array if kind == "ndarray" else as_tensor(array, device, node)
    raise ModelFileError(f"load: '{path}' has an unknown structure entry type {kind!r}")


def as_tensor(array: np.ndarray, device: Any, node: dict[str, Any] | None = None) -> Tensor:
    """A tensor on `device` (a Parameter, or requiring grad, when the node says so)."""
    t = Tensor._make(device.from_numpy(array), device, False)
    node = node or {}
    if node.get("parameter"):
        from ..nn.parameter import Parameter

        return Parameter(t, requires_grad=bool(node.get("requires_grad")))
    if node.get("requires_grad"):
        t.requires_grad_(True)
    return t
