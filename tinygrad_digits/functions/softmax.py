"""Softmax, log-softmax and a fused, numerically stable cross-entropy."""

from __future__ import annotations

from ..autograd import Function


def _log_softmax(xp, x, axis):
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


class LogSoftmax(Function):
    uses_inputs = False
    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        self.out = _log_softmax(self.xp, x, axis)
        return self.out

    def backward(self, g):  # d log_softmax = g - softmax * sum(g)
        p = self.saved(self.out, lambda x: x.log_softmax(self.axis)).exp()
        return g - p * g.sum(dim=self.axis, keepdim=True)


class Softmax(Function):
    uses_inputs = False
    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        self.out = self.xp.exp(_log_softmax(self.xp, x, axis))
        return self.out

    def backward(self, g):  # d softmax = p * (g - sum(g * p))
        p = self.saved(self.out, lambda x: x.softmax(self.axis))
        return p * (g - (g * p).sum(dim=self.axis, keepdim=True))


class CrossEntropy(Function):
    """Mean/sum/none cross-entropy of logits (N, C) against int labels (N,), in one pass.

    Never forms log(0): it works from log_softmax of shifted logits, so logits of +-1e4 and
    -inf entries give finite losses and gradients.
    """

    def forward(self, logits, labels, reduction, smoothing):
        xp = self.xp
        n, c = logits.shape
        self.reduction, self.smoothing = reduction, smoothing
        logp = _log_softmax(xp, logits, 1)
        self.probs = xp.exp(logp)
        self.target = self._target(labels, c, logits.dtype)
        # -inf logits give logp = -inf; their target weight is 0, so count them as 0
        finite = xp.where(self.target > 0, logp, xp.zeros_like(logp))
        losses = -xp.sum(self.target * finite, axis=1)
        if reduction == "none":
            return losses
        total = xp.sum(losses)
        return total / n if reduction == "mean" else total

    def _target(self, labels, c, dtype):
        xp = self.xp
        classes = xp.arange(c, dtype=labels.dtype, **self.device.creation_kw)
        onehot = xp.astype(labels[:, None] == classes, dtype)
        if self.smoothing:
            onehot = onehot * (1 - self.smoothing) + self.smoothing / c
        return onehot

    def backward(self, g):  # d CE / d logits = (softmax - target) * upstream (/ N for mean)
        logits = self.parents[0]
        p = self.saved(self.probs, lambda x, _: x.softmax(1))
        diff = p - self.const(self.target)
        if self.reduction == "none":
            return diff * g.reshape((-1, 1)), None
        if self.reduction == "mean":
            g = g / logits.shape[0]
        return diff * g, None
