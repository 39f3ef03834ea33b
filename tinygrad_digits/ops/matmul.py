"""Matrix products: (batched) matmul (1-D operands are handled in Tensor.matmul) and the fused
Linear layer op, one node for x @ W.T + b."""

from __future__ import annotations

from ..autograd.function import Function


class MatMul(Function):
    def forward(self, a, b):
        return self.xp.matmul(a, b)

    def backward(self, g):  # d(AB) = dA B + A dB; broadcast batch dims are summed by the engine
        a, b = self.parents
        ga = g @ b.mT if a.requires_grad else None
        gb = a.mT @ g if b.requires_grad else None
        return ga, gb

    def backward_arrays(self, g):  # the same, as two BLAS calls on raw arrays
        a, b = self.parents
        xp = self.xp
        ga = xp.matmul(g, xp.matrix_transpose(b.data)) if a.requires_grad else None
        gb = xp.matmul(xp.matrix_transpose(a.data), g) if b.requires_grad else None
        return ga, gb


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
        gx = g @ w if x.requires_grad else None
        gw = g.reshape(-1, out_f).mT @ x.reshape(-1, in_f) if w.requires_grad else None
        if len(self.parents) == 2:
            return gx, gw
        b = self.parents[2]
        gb = g.reshape(-1, out_f).sum(0) if b.requires_grad else None
        return gx, gw, gb

    def backward_arrays(self, g):  # the same on raw arrays, without Tensor-op overhead
        x, w = self.parents[0], self.parents[1]
        xp = self.xp
        gx = xp.matmul(g, w.data) if x.requires_grad else None
        gw = None
        if w.requires_grad:
            out_f, in_f = w.shape
            g2, x2 = (
                (g, x.data)
                if g.ndim == 2
                else (xp.reshape(g, (-1, out_f)), xp.reshape(x.data, (-1, in_f)))
            )
            gw = xp.matmul(g2.T, x2)
        if len(self.parents) == 2:
            return gx, gw
        gb = None
        if self.parents[2].requires_grad:
            gb = xp.sum(g, axis=tuple(range(g.ndim - 1)))
        return gx, gw, gb
