"""Sliding windows as differentiable ops: Im2Col and Col2Im are each other's adjoint.

Convolution is composed from them with Tensor ops (Im2Col -> matmul -> reshape), so its
backward, and the backward of that backward, come from these two rules and MatMul's.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..backend import conv_kernels as K


class Im2Col(Function):
    """(N, C, H, W) -> (N, C*kh*kw, OH*OW): every window as a column; padding holds `value`."""

    retain_inputs = False

    def forward(self, x, win, value=0.0):
        self.win, self.hw = win, x.shape[2:]
        return K.im2col(self.device, x, win, value)

    def backward(self, g):  # each column entry was a copy of one pixel: add it back there
        return Col2Im.apply(g, win=self.win, hw=self.hw)


class Col2Im(Function):
    """(N, C*kh*kw, OH*OW) -> (N, C, H, W): add every column onto its window (overlaps sum)."""

    retain_inputs = False

    def forward(self, cols, win, hw):
        self.win = win
        return K.col2im(self.device, cols, win, hw)

    def backward(self, g):  # each pixel fed every column entry that covers it: gather them
        return Im2Col.apply(g, win=self.win)


class Conv2d(Function):
    """Fused convolution: im2col, one (grouped) matmul and the bias in a single node.

    Same maths as the Im2Col -> matmul composite; it saves the graph nodes and the extra
    output-sized pass for the bias. Backward is still Tensor ops, so it differentiates again.
    """

    def forward(self, x, w, *bias, win, groups):
        xp = self.xp
        n, co, g = x.shape[0], w.shape[0], groups
        self.win, self.hw, self.groups = win, x.shape[2:], groups
        flat = K.im2col(self.device, x, win)  # (N, C_in*kh*kw, P)
        self.save_for_backward(cols=flat)
        cols = xp.reshape(flat, (n, g, -1, flat.shape[2]))
        out = xp.matmul(xp.reshape(w, (g, co // g, -1)), cols)  # (N, G, C_out/G, P)
        out = xp.reshape(out, (n, co, -1))
        if bias:
            out += bias[0][:, None]
        return xp.reshape(out, (n, co, *win.out_size(*self.hw)))

    def backward(self, g):  # out = W cols + b: dW = g cols^T, dcols = W^T g, db = sum g
        x, w, *bias = self.parents
        n, co, gr = g.shape[0], w.shape[0], self.groups
        g4 = g.reshape((n, gr, co // gr, -1))
        w3 = w.reshape((gr, co // gr, -1))
        gx = gw = gb = None
        if x.requires_grad:
            flipped = _transposed_window(self.win, w.shape[:2], gr)
            if flipped is not None:  # dx = g convolved with the flipped, transposed kernel
                w_t = w[:, :, ::-1, ::-1].permute((1, 0, 2, 3))
                gx = Conv2d.apply(g, w_t, win=flipped, groups=1)
            else:
                gcols = (w3.mT @ g4).reshape((n, -1, g4.shape[3]))
                gx = Col2Im.apply(gcols, win=self.win, hw=self.hw)
        if w.requires_grad:
            cols = self.saved("cols", lambda x, *_: Im2Col.apply(x, win=self.win))
            cols = cols.reshape((n, gr, -1, g4.shape[3]))
            gw = (g4 @ cols.mT).sum(0).reshape(w.shape)
        if not bias:
            return gx, gw
        if bias[0].requires_grad:
            gb = g.sum((0, 2, 3))
        return gx, gw, gb


def _transposed_window(win: K.Window, channels: tuple[int, int], groups: int) -> K.Window | None:
    """The window of dx as a stride-1 convolution of g, or None where col2im is the better way.

    For stride 1, dx = conv(g, w flipped in space with C_in and C_out swapped) with padding
    span - 1 - pad on each side: im2col of g and one matmul, no scatter-add. im2col copies
    C_out*k*k rows where col2im adds C_in*k*k, so it pays while C_out <= 2 C_in: a LeNet
    step with channels 32,32 is 10% faster, with 32,64 1-2%.
    """
    c_out, c_in = channels
    if win.stride != (1, 1) or groups != 1 or c_out > 2 * c_in:
        return None
    eh, ew = win.span()
    top, bottom, left, right = win.pads
    pads = (eh - 1 - top, eh - 1 - bottom, ew - 1 - left, ew - 1 - right)
    if min(pads) < 0:
        return None
    return K.Window(win.kernel, (1, 1), win.dilation, pads)
