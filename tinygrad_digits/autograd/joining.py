"""Ops on several tensors at once, as torch has them: where, cat, stack, pad, einsum and
meshgrid."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
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
    else:  # two Python scalars: a tensor of torch's result dtype on the condition's device
        dtype = (
            dtypes.DEFAULT_FLOAT if isinstance(input, float) or isinstance(other, float) else None
        )
        first = Tensor(input, dtype=dtype, device=condition.device)
        a, b = first._other(other)
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


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(
    x: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """Pad with (before, after) pairs from the last dim backwards, as torch: mode "constant"
    (with `value`, default 0), "reflect", "replicate" or "circular"."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ShapeError(f"pad: {pad} must hold (before, after) pairs for at most {x.ndim} dims")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        raise ValueError("pad: negative padding is not supported")
    if mode == "constant":
        return V.Pad.apply(x, widths=tuple(widths), value=0.0 if value is None else value)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be 'constant', {', '.join(map(repr, _PAD_MODES))}")
    for d, (lo, hi) in enumerate(widths):
        if lo or hi:  # read each padded position from the element the mode names
            if mode == "reflect" and max(lo, hi) >= x.shape[d]:
                raise ShapeError(
                    f"pad: reflect padding {max(lo, hi)} must be smaller than dim {d} "
                    f"({x.shape[d]})"
                )
            picks = np.pad(np.arange(x.shape[d]), (lo, hi), mode=_PAD_MODES[mode])
            x = x.index_select(d, Tensor(picks, device=x.device))
    return x


def meshgrid(*tensors: Tensor, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors ("ij": matrix indexing, "xy": the first two swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', not {indexing!r}")
    sizes = [t.numel() for t in tensors]
    if indexing == "xy" and len(sizes) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(tensors):
        axis = (1 - i if i < 2 else i) if indexing == "xy" and len(tensors) >= 2 else i
        shape = [1] * len(tensors)
        shape[axis] = t.numel()
        grids.append(t.reshape(shape).expand(*sizes))
    return tuple(grids)


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Sums of products over labelled dims, as torch.einsum: "ij,jk->ik", "bhqd,bhkd->bhqk",
    "ii->i", "...ij,...jk". Two operands at a time become one batched matmul (as fast as @)."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    inputs, output = _parse_einsum(equation.replace(" ", ""), operands)
    terms = [_diagonals(t, labels) for t, labels in zip(operands, inputs)]
    while len(terms) > 1:
        (a, la), (b, lb) = terms[0], terms[1]
        later = set(output).union(*(labels for _, labels in terms[2:]))
        terms = [_contract(a, la, b, lb, later), *terms[2:]]
    x, labels = terms[0]
    gone = tuple(i for i, c in enumerate(labels) if c not in output)
    if gone:
        x = x.sum(dim=gone)
        labels = "".join(c for c in labels if c in output)
    return x.permute(*[labels.index(c) for c in output]) if output else x


def _parse_einsum(equation: str, operands: Sequence[Tensor]) -> tuple[list[str], str]:
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got {len(operands)}")
    spare = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in equation]
    extra = [t.ndim - (len(lab) - 3) if "..." in lab else 0 for lab, t in zip(inputs, operands)]
    widest = max(extra)
    batch = "".join(spare[:widest])  # "..." dims, aligned from the right as in broadcasting
    for i, (labels, t) in enumerate(zip(inputs, operands)):
        inputs[i] = labels.replace("...", batch[widest - extra[i] :])
        if len(inputs[i]) != t.ndim:
            raise ShapeError(
                f"einsum: operand {i} has {t.ndim} dims but {labels!r} labels {len(inputs[i])}"
            )
    if arrow:
        return inputs, rhs.replace("...", batch)
    joined = "".join(inputs)  # implicit output: "..." dims, then labels used once, sorted
    once = sorted(c for c in set(joined) if joined.count(c) == 1 and c not in batch)
    return inputs, batch + "".join(once)


def _diagonals(t: Tensor, labels: str) -> tuple[Tensor, str]:
    """A label repeated within one operand ("ii") reads its diagonal."""
    while len(set(labels)) != len(labels):
        c = next(c for c in labels if labels.count(c) > 1)
        i, j = labels.index(c), labels.index(c, labels.index(c) + 1)
        t = t.diagonal(0, i, j)
        labels = "".join(x for k, x in enumerate(labels) if k not in (i, j)) + c
    return t, labels


def _contract(a: Tensor, la: str, b: Tensor, lb: str, later: set[str]) -> tuple[Tensor, str]:
    """One pairwise step as a batched matmul: (batch, left, summed) @ (batch, summed, right)."""
    a, la = _sum_unused(a, la, lb, later)
    b, lb = _sum_unused(b, lb, la, later)
    batch = [c for c in la if c in lb and c in later]
    summed = [c for c in la if c in lb and c not in later]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    size = {c: max(n, dict(zip(lb, b.shape)).get(c, 1)) for c, n in zip(la, a.shape)}
    size.update({c: n for c, n in zip(lb, b.shape) if c not in size})
    sa = a.permute(*[la.index(c) for c in batch + left + summed])
    sb = b.permute(*[lb.index(c) for c in batch + summed + right])
    sa = sa.expand(*[size[c] for c in batch + left + summed])
    sb = sb.expand(*[size[c] for c in batch + summed + right])
    n_left, n_sum, n_right = (_prod(size[c] for c in part) for part in (left, summed, right))
    out = sa.reshape(-1, n_left, n_sum) @ sb.reshape(-1, n_sum, n_right)
    out = out.reshape(*[size[c] for c in batch + left + right])
    return out, "".join(batch + left + right)


def _sum_unused(x: Tensor, labels: str, other: str, later: set[str]) -> tuple[Tensor, str]:
    """Sum the dims no other operand and not the output reads (before the matmul)."""
    alone = tuple(i for i, c in enumerate(labels) if c not in other and c not in later)
    if not alone:
        return x, labels
    return x.sum(dim=alone), "".join(c for i, c in enumerate(labels) if i not in alone)


def _prod(values: Any) -> int:
    out = 1
    for v in values:
        out *= v
    return out
