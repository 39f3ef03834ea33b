"""Matrix product of (batched) matrices; 1-D operands are handled in Tensor.matmul."""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled


class MatMul(Function):
    def forward(self, a, b):
        return self.xp.matmul(a, b)

    def backward(self, g):  # d(AB) = dA B + A dB; broadcast batch dims are summed by the engine
        a, b = self.parents
        if not is_grad_enabled():  # not recorded: two BLAS calls on raw arrays, no extra nodes
            xp = self.xp
            ga = (
                self.const(xp.matmul(g.data, xp.matrix_transpose(b.data)))
                if a.requires_grad
                else None
            )
            gb = (
                self.const(xp.matmul(xp.matrix_transpose(a.data), g.data))
                if b.requires_grad
                else None
            )
            return ga, gb
        ga = g @ b.mT if a.requires_grad else None
        gb = a.mT @ g if b.requires_grad else None
        return ga, gb
