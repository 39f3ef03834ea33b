"""Matrix products: (batched) matmul (1-D operands are handled in Tensor.matmul) and the fused
Linear layer op, one node for x @ W.T + b."""

from __future__ import annotations

from ..autograd.engine import Function, is_grad_enabled


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
