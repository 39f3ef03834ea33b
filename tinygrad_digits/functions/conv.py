"""Sliding windows as differentiable ops: Im2Col and Col2Im are each other's adjoint.

Convolution is composed from them with Tensor ops (Im2Col -> matmul -> reshape), so its
backward, and the backward of that backward, come from these two rules and MatMul's.
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import conv_kernels as K


class Im2Col(Function):
    """(N, C, H, W) -> (N, C*kh*kw, OH*OW): every window as a column; padding holds `value`."""

    uses_inputs = False

    def forward(self, x, win, value=0.0):
        self.win, self.hw = win, x.shape[2:]
        return K.im2col(self.device, x, win, value)

    def backward(self, g):  # each column entry was a copy of one pixel: add it back there
        return Col2Im.apply(g, win=self.win, hw=self.hw)


class Col2Im(Function):
    """(N, C*kh*kw, OH*OW) -> (N, C, H, W): add every column onto its window (overlaps sum)."""

    uses_inputs = False

    def forward(self, cols, win, hw):
        self.win = win
        return K.col2im(self.device, cols, win, hw)

    def backward(self, g):  # each pixel fed every column entry that covers it: gather them
        return Im2Col.apply(g, win=self.win)
