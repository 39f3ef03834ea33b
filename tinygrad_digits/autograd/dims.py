"""Dimension and shape arguments, checked and normalised the way torch reads them."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ShapeError

Dim = int | Sequence[int] | None


def normalize_dims(dim: Dim, ndim: int) -> tuple[int, ...] | None:
    """`dim` (int, tuple or None) as sorted non-negative axes, or None for all of them."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if ndim == 0:
        if any(d not in (0, -1) for d in dims):
            raise IndexError(f"dim {dim} is out of range for a 0-d tensor")
        return None
    out = []
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(
                f"dim {d} is out of range for a tensor with {ndim} dims (use {-ndim}..{ndim - 1})"
            )
        out.append(d % ndim)
    return tuple(sorted(set(out)))


def count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    """How many elements a reduction over `axes` combines (mean divides by it)."""
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


def shape_args(args: tuple) -> tuple[int, ...]:
    """Sizes given as f(2, 3) or f((2, 3)), as torch accepts both."""
    if len(args) == 1 and isinstance(args[0], tuple | list):
        return tuple(args[0])
    return tuple(args)


def resolve_shape(shape: tuple[int, ...], numel: int, old: tuple[int, ...]) -> tuple[int, ...]:
    """A reshape target with its -1 filled in, checked against the element count."""
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape: only one dimension can be -1, got {shape}")
    if -1 in shape:
        known = 1
        for n in shape:
            if n != -1:
                known *= n
        if known == 0 or numel % known:
            raise ShapeError(f"reshape: can't reshape {old} ({numel} elements) into {shape}")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    total = 1
    for n in shape:
        total *= n
    if total != numel:
        raise ShapeError(
            f"reshape: shape {shape} holds {total} elements but the tensor {old} has {numel}"
        )
    return shape
