"""Ops on several tensors at once, as torch has them: where, cat, stack, and pad."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import DtypeError, ShapeError
from ..ops import elementwise as E
from ..ops import movement as V
from .dims import normalize_dims
from .tensor import Tensor


def where(condition: Tensor, input: Any, other: Any) -> Tensor:  # noqa: A002
    """input where condition holds, else other (gradients flow to the chosen branch)."""
    if isinstance(input, Tensor):
        a, b = input._other(other)
    elif isinstance(other, Tensor):
        b, a = other._other(input)
    else:
        raise TypeError("where needs at least one of input/other to be a Tensor")
    if condition.dtype.kind != "b":
        raise DtypeError(f"where: condition must be a bool tensor, got {condition.dtype}")
    return E.Where.apply(condition, a, b)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    first = tensors[0]
    axis = normalize_dims(dim, first.ndim)[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.ndim != first.ndim or any(
            a != b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != axis
        ):
            raise ShapeError(
                f"cat: tensor {i} has shape {t.shape}, which does not match tensor 0's "
                f"{first.shape} outside dim {dim}"
            )
    tensors = [first] + [first._other(t)[1] for t in tensors[1:]]
    return V.Concat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise ShapeError(
                f"stack: tensor {i} has shape {t.shape} but tensor 0 has {tensors[0].shape}"
            )
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def pad(x: Tensor, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding; `pad` lists (before, after) pairs from the last dim backwards, as torch."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ShapeError(f"pad: {pad} must hold (before, after) pairs for at most {x.ndim} dims")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        raise ValueError("pad: negative padding is not supported")
    return V.Pad.apply(x, widths=tuple(widths), value=value)
