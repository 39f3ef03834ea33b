"""Max pooling: each window's gradient goes to one maximal element, the first in window order."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import conv_kernels as K
from .conv import Col2Im


class MaxPool2d(Function):
    """(N, C, H, W) -> (N, C, OH, OW): the largest value of each window (padding is -inf).

    Ties go to the first maximum in window order (row by row), as argmax picks it, so every
    window sends its whole gradient to exactly one element; overlapping windows add up.
    """

    uses_inputs = False

    def forward(self, x, win):
        xp = self.xp
        n, c, h, w = x.shape
        oh, ow = win.out_size(h, w)
        lowest = _lowest(self.device.numpy_dtype(x))
        cols = K.im2col(self.device, xp.reshape(x, (n * c, 1, h, w)), win, lowest)
        first = xp.argmax(cols, axis=1, keepdims=True)  # (N*C, 1, P)
        window = xp.arange(cols.shape[1], dtype=first.dtype, **self.device.creation_kw)
        self.pick = window[None, :, None] == first  # (N*C, kh*kw, P): one True per window
        self.win, self.shape = win, (n, c, h, w)
        return xp.reshape(xp.max(cols, axis=1), (n, c, oh, ow))

    def backward(self, g):  # d max = upstream at the chosen element, 0 elsewhere
        n, c, h, w = self.shape
        spread = g.reshape((n * c, 1, -1)).expand(self.pick.shape).masked(self.pick)
        return Col2Im.apply(spread, win=self.win, hw=(h, w)).reshape(self.shape)


def _lowest(dtype):
    """What padding holds for max pooling: below every value of the dtype."""
    if dtype.kind == "f":
        return -float("inf")
    return int(np.iinfo(dtype).min)
