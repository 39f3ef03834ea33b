"""Fused differentiable ops used by nn layers and losses.

Each is one graph node instead of several (less Python per step), and each has a backward
that is exact where the composite of core ops would hit a kink: softplus and
BCE-with-logits at x = 0, where relu'(0) = abs'(0) = 0 would give a wrong derivative.
Backwards use Tensor ops, so second derivatives work (gradgradcheck).
"""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..functions.elementwise import Softplus


class Linear(Function):
    """y = x @ W.T + b for x of shape (..., in), W (out, in), b (out,), in one node."""

    def forward(self, x, w, b=None):
        out = x @ w.T
        if b is not None:
            out += b
        return out

    def backward(self, g):  # dx = g W ; dW = g^T x (batch dims flattened) ; db = sum_batch g
        x, w = self.parents[0], self.parents[1]
        out_f, in_f = w.shape
        if not is_grad_enabled() and g.ndim == 2 and x.ndim == 2:
            # not recorded (no create_graph): the same maths on raw arrays, without the
            # per-op overhead of Tensor ops; the Tensor-op path below serves higher orders
            gd = g.data
            gx = self.const(gd @ w.data) if x.requires_grad else None
            gw = self.const(gd.T @ x.data) if w.requires_grad else None
            if len(self.parents) == 2:
                return gx, gw
            gb = self.const(self.xp.sum(gd, axis=0)) if self.parents[2].requires_grad else None
            return gx, gw, gb
        gx = g @ w if x.requires_grad else None
        gw = g.reshape(-1, out_f).mT @ x.reshape(-1, in_f) if w.requires_grad else None
        if len(self.parents) == 2:
            return gx, gw
        b = self.parents[2]
        gb = g.reshape(-1, out_f).sum(0) if b.requires_grad else None
        return gx, gw, gb


class Dropout(Function):
    """Inverted dropout: zero each element with probability p, scale survivors by 1/(1-p)."""

    uses_inputs = False

    def forward(self, x, p):
        dev = self.device
        u = dev.random("uniform", tuple(x.shape), dev.numpy_dtype(x), low=0.0, high=1.0)
        self.scale = self.xp.astype(u >= p, x.dtype) * (1.0 / (1.0 - p))
        return x * self.scale

    def backward(self, g):  # d(x * mask / (1-p)) = mask / (1-p) dx ; the mask is a constant
        return g * self.const(self.scale)


class BCEWithLogits(Function):
    """(1 - y) x + l * softplus(-x) with l = 1 + (pos_weight - 1) y; stable for any |x|."""

    def forward(self, x, y, pos_weight=None):
        xp = self.xp
        sp_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.clip(-x, 0.0, None)  # softplus(-x)
        scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        return (1 - y) * x + scale * sp_neg

    def backward(
        self, g
    ):  # dx = (1-y) - l sigmoid(-x) ; dy = (pw-1) softplus(-x) - x ; dpw = y sp(-x)
        x, y = self.parents[0], self.parents[1]
        pw = self.parents[2] if len(self.parents) == 3 else None
        sig_neg = (-x).sigmoid()
        if pw is None:
            gx = g * (1 - y - sig_neg) if x.requires_grad else None
            gy = -g * x if y.requires_grad else None
            return gx, gy
        scale = 1 + (pw - 1) * y
        gx = g * (1 - y - scale * sig_neg) if x.requires_grad else None
        sp_neg = None
        if y.requires_grad or pw.requires_grad:
            sp_neg = Softplus.apply(-x, beta=1.0, threshold=20.0)
        gy = g * ((pw - 1) * sp_neg - x) if y.requires_grad else None
        gpw = g * y * sp_neg if pw.requires_grad else None
        return gx, gy, gpw


class BinaryCrossEntropy(Function):
    """-(y log p + (1-y) log(1-p)) with each log clamped at -100 (as torch), for p in [0, 1]."""

    def forward(self, p, y):
        xp = self.xp
        log_p = _clamped_log(xp, p)
        log_q = _clamped_log(xp, 1 - p)
        return -(y * log_p + (1 - y) * log_q)

    def backward(self, g):  # dp = (p - y) / max(p (1-p), 1e-12) ; dy = log(1-p) - log p
        p, y = self.parents
        gp = g * (p - y) / (p * (1 - p)).clamp(min=1e-12) if p.requires_grad else None
        gy = None
        if y.requires_grad:
            gy = g * ((1 - p).log().clamp(min=-100.0) - p.log().clamp(min=-100.0))
        return gp, gy


def _clamped_log(xp, a):
    """max(log a, -100) without evaluating log(0) (no warnings, no -inf)."""
    positive = a > 0
    safe = xp.where(positive, a, xp.ones_like(a))
    return xp.where(positive, xp.clip(xp.log(safe), -100.0, None), xp.full_like(a, -100.0))


__all__ = ["BCEWithLogits", "BinaryCrossEntropy", "Dropout", "Linear", "Softplus"]
