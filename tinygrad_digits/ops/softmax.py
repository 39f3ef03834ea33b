"""Softmax and log-softmax along one dimension."""

from __future__ import annotations

from ..autograd.engine import Function


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
