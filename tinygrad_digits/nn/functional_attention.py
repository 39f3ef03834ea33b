"""Scaled dot-product attention, the core of every transformer block, with torch's signature."""

from __future__ import annotations

import math

from ..autograd.tensor import Tensor
from ..errors import DtypeError
from ..ops.elementwise import Dropout


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(query key^T * scale + mask) value over (..., L, E) queries and (..., S, E) keys.

    attn_mask: bool (True = may attend, as torch) or float (added to the scores).
    is_causal: position i attends to positions <= i only.
    """
    weights = attention_weights(query, key, attn_mask, is_causal, scale)
    if dropout_p > 0:
        weights = Dropout.apply(weights, p=float(dropout_p))
    return weights @ value


def attention_weights(
    query: Tensor,
    key: Tensor,
    attn_mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(query key^T * scale + mask) over the keys: what each query attends to."""
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.mT) * scale
    if is_causal:
        length, source = scores.shape[-2:]
        xp, kw = query.device.xp, query.device.creation_kw
        allowed = xp.reshape(xp.arange(source, **kw), (1, source)) <= xp.reshape(
            xp.arange(length, **kw), (length, 1)
        )
        scores = scores.masked_fill(Tensor._make(~allowed, query.device, False), -math.inf)
    if attn_mask is not None:
        if attn_mask.dtype.kind == "b":
            scores = scores.masked_fill(~attn_mask, -math.inf)
        elif attn_mask.dtype.kind == "f":
            scores = scores + attn_mask
        else:
            raise DtypeError(
                "scaled_dot_product_attention: attn_mask must be bool (True = attend) or float "
                f"(added to the scores), got {attn_mask.dtype}"
            )
    return scores.softmax(-1)
