"""Matrix product of (batched) matrices; 1-D operands are handled in Tensor.matmul."""

from __future__ import annotations

from ..autograd import Function


class MatMul(Function):
    def forward(self, a, b):
        return self.xp.matmul(a, b)

    def backward(self, g):  # d(AB) = dA B + A dB; broadcast batch dims are summed by the engine
        a, b = self.parents
        ga = g @ b.mT if a.requires_grad else None
        gb = a.mT @ g if b.requires_grad else None
        return ga, gb
