"""Softmax and log-softmax along one dimension."""

from __future__ import annotations

from ..autograd.function import Function


def _log_softmax(xp, x, axis):
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


class LogSoftmax(Function):
    retain_inputs = False

    def forward(self, x, axis):
        self.axis = axis
        out = _log_softmax(self.xp, x, axis)
        self.save_for_backward(output=out)
        return out

    def backward(self, g):  # d log_softmax = g - softmax * sum(g)
        p = self.saved("output", lambda x: x.log_softmax(self.axis)).exp()
        return g - p * g.sum(dim=self.axis, keepdim=True)


class Softmax(Function):
    retain_inputs = False

    def forward(self, x, axis):
        self.axis = axis
        out = self.xp.exp(_log_softmax(self.xp, x, axis))
        self.save_for_backward(output=out)
        return out

    def backward(self, g):  # d softmax = p * (g - sum(g * p))
        p = self.saved("output", lambda x: x.softmax(self.axis))
        return p * (g - (g * p).sum(dim=self.axis, keepdim=True))
