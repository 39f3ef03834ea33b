"""Loss ops, each one fused node: cross-entropy with log-softmax, binary cross-entropy on
probabilities and on logits.

Fused for speed (one node instead of several) and for exactness where a composite of core ops
would hit a kink: softplus and BCE-with-logits at x = 0, where relu'(0) = abs'(0) = 0 would give a
wrong derivative. Backwards use Tensor ops, so second derivatives work (gradgradcheck).
"""

from __future__ import annotations

from ..autograd.function import Function
from .elementwise import Softplus


class CrossEntropy(Function):
    """Mean/sum/none cross-entropy of logits (N, C) against int labels (N,), in one pass.

    Never forms log(0): it works from log_softmax of shifted logits, so logits of +-1e4 and
    -inf entries give finite losses and gradients. With `valid` (bool, one per row), only those
    rows count: the others (ignored labels) are masked out on the device, without asking the
    host whether there are any; their labels need only be some class in [0, C).
    """

    def forward(self, logits, labels, reduction, smoothing, valid=None):
        xp = self.xp
        n, c = logits.shape
        self.reduction, self.smoothing = reduction, smoothing
        masking = {}
        if valid is not None:
            masking = {
                "mask": self.device.as_mask(valid, logits.dtype),
                "count": xp.sum(xp.astype(valid, logits.dtype)),
            }
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        e = xp.exp(shifted)
        total = xp.sum(e, axis=1, keepdims=True)
        logp = shifted - xp.log(total)
        rows = xp.arange(n, **self.device.creation_kw)
        self.save_for_backward(probs=e / total, rows=rows, labels=labels, **masking)
        picked = self.device.getitem(logp, (rows, labels))
        if smoothing:
            losses = -(1 - smoothing) * picked - smoothing / c * xp.sum(logp, axis=1)
        else:
            losses = -picked
        if masking:
            losses = losses * masking["mask"]
        if reduction == "none":
            return losses
        out = xp.sum(losses)
        if reduction == "mean":
            return out / masking.get("count", n)
        return out

    def _target(self, c, dtype):
        xp = self.xp
        labels = self.saved_arrays["labels"]
        classes = xp.arange(c, dtype=labels.dtype, **self.device.creation_kw)
        onehot = xp.astype(labels[:, None] == classes, dtype)
        if self.smoothing:
            onehot = onehot * (1 - self.smoothing) + self.smoothing / c
        return onehot

    def backward(self, g):  # d CE / d logits = (softmax - target) * upstream (/ N for mean)
        logits = self.parents[0]
        p = self.saved("probs", lambda x, _: x.softmax(1))
        diff = p - self.const(self._target(logits.shape[1], p.data.dtype))
        saved = self.saved_arrays
        if "mask" in saved:
            diff = diff * self.const(saved["mask"][:, None])
        if self.reduction == "none":
            return diff * g.reshape((-1, 1)), None
        if self.reduction == "mean":
            g = g / (self.const(saved["count"]) if "count" in saved else logits.shape[0])
        return diff * g, None

    def backward_arrays(self, g):  # the same on raw arrays, without a one-hot matrix
        device, saved = self.device, self.saved_arrays
        diff = device.copy(saved["probs"])  # the saved values stay intact for retain_graph
        n, c = diff.shape
        key = (saved["rows"], saved["labels"])
        device.setitem(diff, key, device.getitem(diff, key) - (1 - self.smoothing))
        if self.smoothing:
            diff -= self.smoothing / c
        if "mask" in saved:
            diff = diff * saved["mask"][:, None]
        if self.reduction == "none":
            return diff * self.xp.reshape(g, (-1, 1)), None
        return diff * (g / saved.get("count", n) if self.reduction == "mean" else g), None


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
