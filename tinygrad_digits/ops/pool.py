"""Pooling as differentiable ops over kernel offsets (no column matrix).

WindowGather sums each window (optionally keeping one masked element per window) and
WindowScatter adds a value back onto every window: each is the other's adjoint, so max- and
average-pooling differentiate to any order.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..backend import conv_kernels as K


class MaxPool2d(Function):
    """(N, C, H, W) -> (N, C, OH, OW): the largest value of each window (padding never wins).

    Each window sends its gradient to one maximal element, the first in row-major window
    order when several tie; overlapping windows add up.
    """

    retain_inputs = False

    def forward(self, x, win, picks=True):  # picks=False: no backward will run (no_grad)
        out, chosen = K.window_max(self.device, x, win, picks)
        self.save_for_backward(masks=chosen)
        self.win, self.hw = win, x.shape[2:]
        return out

    def backward(self, g):  # d max = upstream at the chosen element, 0 elsewhere
        masks = self.saved_arrays["masks"]
        return WindowScatter.apply(g, win=self.win, hw=self.hw, masks=masks)


class WindowGather(Function):
    """Each window's sum; with masks (one bool per offset and window), the masked element."""

    retain_inputs = False

    def forward(self, x, win, masks=None):
        self.win, self.hw = win, x.shape[2:]
        if masks is not None:
            self.save_for_backward(masks=masks)
        return K.window_gather(self.device, x, win, masks)

    def backward(self, g):  # every pixel read by a window gets that window's gradient
        masks = self.saved_arrays.get("masks")
        return WindowScatter.apply(g, win=self.win, hw=self.hw, masks=masks)


class WindowScatter(Function):
    """Add each window's value onto all its pixels (or onto its masked one): the adjoint."""

    retain_inputs = False

    def forward(self, g, win, hw, masks=None):
        self.win = win
        if masks is not None:
            self.save_for_backward(masks=masks)
        return K.window_scatter(self.device, g, win, hw, masks)

    def backward(self, gg):  # each window's value came from the pixels it was added to
        return WindowGather.apply(gg, win=self.win, masks=self.saved_arrays.get("masks"))
