"""Softmax, log-softmax and a fused, numerically stable cross-entropy."""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled


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
        self.reduction, self.smoothing, self.labels = reduction, smoothing, labels
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        e = xp.exp(shifted)
        total = xp.sum(e, axis=1, keepdims=True)
        logp = shifted - xp.log(total)
        self.probs = e / total
        self.rows = xp.arange(n, **self.device.creation_kw)
        picked = self.device.getitem(logp, (self.rows, labels))
        if smoothing:
            losses = -(1 - smoothing) * picked - smoothing / c * xp.sum(logp, axis=1)
        else:
            losses = -picked
        if reduction == "none":
            return losses
        out = xp.sum(losses)
        return out / n if reduction == "mean" else out

    def _target(self, c, dtype):
        xp = self.xp
        classes = xp.arange(c, dtype=self.labels.dtype, **self.device.creation_kw)
        onehot = xp.astype(self.labels[:, None] == classes, dtype)
        if self.smoothing:
            onehot = onehot * (1 - self.smoothing) + self.smoothing / c
        return onehot

    def backward(self, g):  # d CE / d logits = (softmax - target) * upstream (/ N for mean)
        logits = self.parents[0]
        if not is_grad_enabled() and self.reduction != "none":
            return self._fast_backward(g), None
        p = self.saved(self.probs, lambda x, _: x.softmax(1))
        diff = p - self.const(self._target(logits.shape[1], self.probs.dtype))
        if self.reduction == "none":
            return diff * g.reshape((-1, 1)), None
        if self.reduction == "mean":
            g = g / logits.shape[0]
        return diff * g, None

    def _fast_backward(self, g):
        """The same gradient on raw arrays, without building Tensor ops or a one-hot matrix."""
        device = self.device
        diff = device.copy(self.probs)  # the saved values stay intact for retain_graph
        n, c = diff.shape
        key = (self.rows, self.labels)
        device.setitem(diff, key, device.getitem(diff, key) - (1 - self.smoothing))
        if self.smoothing:
            diff -= self.smoothing / c
        scale = g.data / n if self.reduction == "mean" else g.data
        return self.const(diff * scale)
