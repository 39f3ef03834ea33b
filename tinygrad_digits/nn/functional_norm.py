"""Normalisation over features rather than the batch (layer_norm, group_norm) and resizing
(interpolate), as compositions of Tensor ops, with torch.nn.functional's names and rules."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..autograd.tensor import Tensor
from ..errors import ShapeError


def _standardise(x: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    """(x - mean) / sqrt(biased var + eps) over dims (torch's normalisation statistics)."""
    centred = x - x.mean(dim=dims, keepdim=True)
    return centred * ((centred * centred).mean(dim=dims, keepdim=True) + eps).rsqrt()


def layer_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Standardise over the last len(normalized_shape) dims of each sample, then scale and shift."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape) :]) != shape:
        raise ShapeError(
            f"layer_norm: normalized_shape {shape} must be the last dims of the input, whose "
            f"shape is {input.shape}"
        )
    out = _standardise(input, tuple(range(input.ndim - len(shape), input.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(
    input: Tensor,  # noqa: A002
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Standardise each group of channels of each sample of (N, C, ...); scale and shift per
    channel."""
    n, c = input.shape[:2]
    if c % num_groups:
        raise ShapeError(f"group_norm: {c} channels can't be split into {num_groups} groups")
    grouped = input.reshape(n, num_groups, -1)
    out = _standardise(grouped, (2,), eps).reshape(input.shape)
    per_channel = (c,) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


_LINEAR_MODES = ("linear", "bilinear", "trilinear")


def interpolate(
    input: Tensor,  # noqa: A002
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Resize the spatial dims of (N, C, ...): "nearest", or "linear"/"bilinear"/"trilinear"
    (one linear pass per dim, which is exactly the multilinear result)."""
    if mode != "nearest" and mode not in _LINEAR_MODES:
        raise ValueError(
            f"interpolate: mode {mode!r} is not supported: use 'nearest' or {_LINEAR_MODES}"
        )
    spatial = input.shape[2:]
    k = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        sizes = (size,) * k if isinstance(size, int) else tuple(size)
        scales = [n / s for n, s in zip(spatial, sizes)]
    else:
        factors = (
            (scale_factor,) * k if isinstance(scale_factor, int | float) else tuple(scale_factor)
        )
        sizes = tuple(math.floor(n * f) for n, f in zip(spatial, factors))
        scales = [1 / f for f in factors]  # torch uses the factor itself, not the size ratio
    x = input
    for i, (n, out, scale) in enumerate(zip(spatial, sizes, scales)):
        d = 2 + i
        dst = np.arange(out, dtype=np.float64)
        if mode == "nearest":
            picks = np.minimum(np.floor(dst * scale).astype(np.int64), n - 1)
            x = x.index_select(d, Tensor(picks, device=x.device))
            continue
        if align_corners:
            src = dst * ((n - 1) / (out - 1) if out > 1 else 0.0)
        else:
            src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
        low = np.minimum(np.floor(src).astype(np.int64), n - 1)
        high = np.minimum(low + 1, n - 1)
        frac = (src - low).reshape((out,) + (1,) * (input.ndim - 1 - d))
        w = Tensor(frac, dtype=input.dtype, device=x.device)
        a = x.index_select(d, Tensor(low, device=x.device))
        b = x.index_select(d, Tensor(high, device=x.device))
        x = a + (b - a) * w
    return x
