"""im2col and col2im: the sliding-window kernels convolution and pooling are built on.

`im2col` copies every window of an NCHW image into a column matrix of shape
(N, C*kh*kw, OH*OW), ordered channel, then kernel row, then kernel column, which is the order of
`weight.reshape(C_out, -1)`; `col2im` is its adjoint: it adds each column back onto the window it
came from, so pixels shared by overlapping windows receive the sum.

NumPy and CuPy build the columns from a strided view (no Python loop over pixels); every other
device (array-api-strict) uses a loop over the kh*kw kernel offsets with only Array API
slicing and arithmetic. col2im always loops over kernel offsets: each step is one vectorised
strided slice-add, and offsets never overlap within a step, so the accumulation is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .device import Device


@dataclass(frozen=True)
class Window:
    """Where the windows sit on a padded image: kernel, stride, dilation and padding.

    `pads` is (top, bottom, left, right); they differ for padding="same" with an even kernel
    and for ceil_mode pooling.
    """

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[int, int, int, int]

    def span(self) -> tuple[int, int]:
        """Height and width one window covers, dilation included."""
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        return dh * (kh - 1) + 1, dw * (kw - 1) + 1

    def padded(self, h: int, w: int) -> tuple[int, int]:
        top, bottom, left, right = self.pads
        return h + top + bottom, w + left + right

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        """Number of window positions down and across (0 or less when none fits)."""
        (hp, wp), (sh, sw), (eh, ew) = self.padded(h, w), self.stride, self.span()
        return (hp - eh) // sh + 1, (wp - ew) // sw + 1

    def offsets(self, oh: int, ow: int) -> list[tuple[int, int, slice, slice]]:
        """(i, j, rows, cols) for each kernel offset: the padded-image pixels it touches."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        out = []
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            for j in range(kw):
                out.append((i, j, rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)))
        return out


def _pad(device: Device, x: Any, win: Window, value: float) -> Any:
    top, bottom, left, right = win.pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = device.xp.full(
        (n, c, h + top + bottom, w + left + right), value, dtype=x.dtype, **device.creation_kw
    )
    out[:, :, top : top + h, left : left + w] = x
    return out


def _strided_im2col(device: Device, x: Any, win: Window, value: float) -> Any:
    """Columns from one strided view of the padded image; the reshape makes the only copy."""
    n, c, h, w = x.shape
    oh, ow = win.out_size(h, w)
    xp_ = _pad(device, x, win, value)
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.stride, win.dilation
    s_n, s_c, s_h, s_w = xp_.strides
    view = device.xp.lib.stride_tricks.as_strided(
        xp_,
        shape=(n, c, kh, kw, oh, ow),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
    )
    return device.xp.reshape(view, (n, c * kh * kw, oh * ow))


def _looped_im2col(device: Device, x: Any, win: Window, value: float) -> Any:
    """Columns by stacking one strided slice per kernel offset: Array API only."""
    n, c, h, w = x.shape
    oh, ow = win.out_size(h, w)
    xp_ = _pad(device, x, win, value)
    kh, kw = win.kernel
    parts = [xp_[:, :, rows, cols] for _, _, rows, cols in win.offsets(oh, ow)]
    stacked = device.xp.stack(parts, axis=2)  # (N, C, kh*kw, OH, OW)
    return device.xp.reshape(stacked, (n, c * kh * kw, oh * ow))


def _looped_col2im(device: Device, cols: Any, win: Window, hw: tuple[int, int]) -> Any:
    """Add each column back onto its window; overlapping windows accumulate."""
    xp = device.xp
    h, w = hw
    oh, ow = win.out_size(h, w)
    kh, kw = win.kernel
    n, ck, _ = cols.shape
    c = ck // (kh * kw)
    blocks = xp.reshape(cols, (n, c, kh * kw, oh, ow))
    out = xp.zeros((n, c, *win.padded(h, w)), dtype=cols.dtype, **device.creation_kw)
    in_place = _has_strides(device)
    for k, (_, _, rows, cs) in enumerate(win.offsets(oh, ow)):
        if in_place:  # a writable view: add into it without a temporary
            target = out[:, :, rows, cs]
            target += blocks[:, :, k, :, :]
        else:
            out[:, :, rows, cs] = out[:, :, rows, cs] + blocks[:, :, k, :, :]
    top, _, left, _ = win.pads
    if out.shape[2:] == (h, w):
        return out
    return out[:, :, top : top + h, left : left + w]


def _has_strides(device: Device) -> bool:
    return device.type in ("cpu", "cuda")


def im2col(device: Device, x: Any, win: Window, value: float = 0.0) -> Any:
    """(N, C, H, W) -> (N, C*kh*kw, OH*OW); the padding is filled with `value`."""
    if _has_strides(device):
        return _strided_im2col(device, x, win, value)
    return _looped_im2col(device, x, win, value)


def col2im(device: Device, cols: Any, win: Window, hw: tuple[int, int]) -> Any:
    """(N, C*kh*kw, OH*OW) -> (N, C, H, W): the adjoint of im2col (padding dropped)."""
    return _looped_col2im(device, cols, win, hw)
