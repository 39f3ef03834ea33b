"""MultiheadAttention with torch's parameters, masks and (output, weights) result, on
scaled_dot_product_attention."""

from __future__ import annotations

import math
from typing import Any

from ..autograd.tensor import Tensor
from ..backend.registry import DeviceLike
from ..ops.elementwise import Dropout
from . import init
from .functional_attention import attention_weights, scaled_dot_product_attention
from .layers import Linear, _empty
from .module import Module


class MultiheadAttention(Module):
    """num_heads attention heads of embed_dim // num_heads dims each, on (L, N, E) inputs
    ((N, L, E) with batch_first=True) or unbatched (L, E).

    Masks follow torch's MultiheadAttention, which is the opposite of sdpa's bool masks:
    True in attn_mask (L, S) or (N*num_heads, L, S), or in key_padding_mask (N, S), means
    "may NOT attend"; a float mask is added to the scores.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                f"({num_heads})"
            )
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), batch_first
        self.in_proj_weight = _empty((3 * embed_dim, embed_dim), device, dtype)
        if bias:
            self.in_proj_bias = _empty((3 * embed_dim,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's: xavier_uniform_ in-projection, zero biases."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        e, h = self.embed_dim, self.num_heads
        w, b = self.in_proj_weight, self.in_proj_bias
        parts = [
            t @ w[i * e : (i + 1) * e].T + (b[i * e : (i + 1) * e] if b is not None else 0.0)
            for i, t in enumerate((query, key, value))
        ]
        length, n = query.shape[:2]
        # (L, N, E) -> (N, heads, L, head_dim)
        q, k, v = (p.reshape(p.shape[0], n, h, self.head_dim).permute(1, 2, 0, 3) for p in parts)
        mask = self._mask(attn_mask, key_padding_mask, n, query.dtype)
        p = self.dropout if self.training else 0.0
        if need_weights:
            weights = attention_weights(q, k, mask, is_causal and mask is None)
            out = (Dropout.apply(weights, p=p) if p > 0 else weights) @ v
        else:
            weights = None
            out = scaled_dot_product_attention(q, k, v, mask, p, is_causal and mask is None)
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(length, n, e))
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            return out.squeeze(1), None if weights is None else weights.squeeze(0)
        return (out.transpose(0, 1) if self.batch_first else out), weights

    def _mask(
        self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, n: int, dtype: Any
    ) -> Tensor | None:
        """torch's two masks as one float mask added to the (N, heads, L, S) scores."""
        mask = None
        if attn_mask is not None:
            mask = _additive(attn_mask, dtype)
            if mask.ndim == 3:
                mask = mask.reshape(n, self.num_heads, *mask.shape[1:])
        if key_padding_mask is not None:
            pad = _additive(key_padding_mask, dtype)
            pad = pad.reshape(pad.shape[0] if pad.ndim == 2 else 1, 1, 1, pad.shape[-1])
            mask = pad if mask is None else mask + pad
        return mask

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


def _additive(mask: Tensor, dtype: Any) -> Tensor:
    """A bool "may not attend" mask as 0 / -inf; a float mask as it is."""
    if mask.dtype.kind == "b":
        zeros = Tensor._make(
            mask.device.xp.zeros(
                mask.shape, dtype=mask.device.dtype(dtype), **mask.device.creation_kw
            ),
            mask.device,
            False,
        )
        return zeros.masked_fill(mask, -math.inf)
    return mask.to(dtype)
