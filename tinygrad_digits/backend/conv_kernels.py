"""im2col and col2im: the sliding-window kernels convolution and pooling are built on.

`im2col` copies every window of an NCHW image into a column matrix of shape
(N, C*kh*kw, OH*OW), ordered channel, then kernel row, then kernel column, which is the order of
`weight.reshape(C_out, -1)`; `col2im` is its adjoint: it adds each column back onto the window it
came from, so pixels shared by overlapping windows receive the sum.

NumPy and CuPy build the columns from a strided view (no Python loop over pixels); every other
device (array-api-strict) uses a loop over the kh*kw kernel offsets with only Array API
slicing and arithmetic. col2im always loops over kernel offsets: each step is one vectorised
strided slice-add, and offsets never overlap within a step, so the accumulation is exact.

Pooling needs no column matrix: `window_max`, `window_gather` and `window_scatter` loop over
the kernel offsets too, each step one elementwise op on an (N, C, OH, OW) strided view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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

    def disjoint(self) -> bool:
        """True when no two windows share a pixel (stride at least the window's span)."""
        (sh, sw), (eh, ew) = self.stride, self.span()
        return sh >= eh and sw >= ew

    def tiles(self, h: int, w: int) -> bool:
        """True when the windows cover every padded pixel exactly once."""
        (hp, wp), (oh, ow) = self.padded(h, w), self.out_size(h, w)
        (kh, kw), (sh, sw) = self.kernel, self.stride
        return self.dilation == (1, 1) and (sh, sw) == (kh, kw) and (hp, wp) == (oh * kh, ow * kw)

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
    padded = _pad(device, x, win, value)
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.stride, win.dilation
    s_n, s_c, s_h, s_w = padded.strides
    view = device.native.lib.stride_tricks.as_strided(
        padded,
        shape=(n, c, kh, kw, oh, ow),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
    )
    return device.xp.reshape(view, (n, c * kh * kw, oh * ow))


def _looped_im2col(device: Device, x: Any, win: Window, value: float) -> Any:
    """Columns by stacking one strided slice per kernel offset: Array API only."""
    n, c, h, w = x.shape
    oh, ow = win.out_size(h, w)
    padded = _pad(device, x, win, value)
    kh, kw = win.kernel
    parts = [padded[:, :, rows, cols] for _, _, rows, cols in win.offsets(oh, ow)]
    stacked = device.xp.stack(parts, axis=2)  # (N, C, kh*kw, OH, OW)
    return device.xp.reshape(stacked, (n, c * kh * kw, oh * ow))


def _scatter(
    device: Device, parts: Any, win: Window, hw: tuple[int, int], like: Any, write: Any = None
) -> Any:
    """zeros(N, C, H, W) with parts(k) added onto the pixels kernel offset k reads; padding
    dropped. Offsets never overlap within one step, so each step is one slice-add; windows
    that never overlap are written without the add (by write(k, view) into the output's view
    when given, else by assignment), and windows that tile the image without the zero fill."""
    xp = device.xp
    h, w = hw
    oh, ow = win.out_size(h, w)
    shape = (*like.shape[:2], *win.padded(h, w))
    fill = xp.empty if win.tiles(h, w) else xp.zeros
    out = fill(shape, dtype=like.dtype, **device.creation_kw)
    overlapping = not win.disjoint()
    in_place = _has_strides(device)
    for k, (_, _, rows, cols) in enumerate(win.offsets(oh, ow)):
        if not overlapping and write is not None:
            write(k, out[:, :, rows, cols])
        elif not overlapping:
            out[:, :, rows, cols] = parts(k)
        elif in_place:  # a writable view: add into it without a temporary
            target = out[:, :, rows, cols]
            target += parts(k)
        else:
            out[:, :, rows, cols] = out[:, :, rows, cols] + parts(k)
    top, _, left, _ = win.pads
    if out.shape[2:] == (h, w):
        return out
    return out[:, :, top : top + h, left : left + w]


def _looped_col2im(device: Device, cols: Any, win: Window, hw: tuple[int, int]) -> Any:
    """Add each column back onto its window; overlapping windows accumulate."""
    oh, ow = win.out_size(*hw)
    kh, kw = win.kernel
    n, ck, _ = cols.shape
    blocks = device.xp.reshape(cols, (n, ck // (kh * kw), kh * kw, oh, ow))
    return _scatter(device, lambda k: blocks[:, :, k, :, :], win, hw, blocks)


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


# --- pooling: one strided slice per kernel offset, no column matrix -------------------------
def _slices(device: Device, x: Any, win: Window, value: float) -> list[Any]:
    """For each kernel offset, the (N, C, OH, OW) view of the padded input it reads."""
    oh, ow = win.out_size(*x.shape[2:])
    padded = _pad(device, x, win, value)
    return [padded[:, :, rows, cols] for _, _, rows, cols in win.offsets(oh, ow)]


def lowest(dtype: np.dtype) -> float | int:
    """A value below every value of the dtype: what max pooling pads with."""
    return -float("inf") if dtype.kind == "f" else int(np.iinfo(dtype).min)


def window_max(
    device: Device, x: Any, win: Window, picks: bool = True
) -> tuple[Any, list[Any] | None]:
    """The maximum of each window (padding never wins) and, per kernel offset, a bool mask of
    the windows whose maximum it supplies: exactly one offset per window, the first in
    row-major window order on ties. (A window holding NaN has maximum NaN and no pick, so
    it passes no gradient.) picks=False skips the masks (None): for forward-only use."""
    xp = device.xp
    parts = _slices(device, x, win, lowest(device.numpy_dtype(x)))
    best = parts[0]
    for part in parts[1:]:
        best = xp.maximum(best, part)
    if not picks:
        return best * 1 if len(parts) == 1 else best, None  # never a view of x
    masks, free = [], None  # free: windows no earlier offset has claimed
    for k, part in enumerate(parts):
        hit = part == best
        if free is None:
            free = ~hit
        else:
            hit &= free
            if k < len(parts) - 1:
                free &= ~hit
        masks.append(hit)
    return best, masks


def _weigh(device: Device, a: Any, mask: Any) -> Any:
    """a where mask holds, else 0, by one multiply (NumPy and CuPy multiply by bool directly)."""
    return a * (mask if _has_strides(device) else device.xp.astype(mask, a.dtype))


def window_gather(device: Device, x: Any, win: Window, masks: list[Any] | None = None) -> Any:
    """(N, C, H, W) -> (N, C, OH, OW): each window's sum (zero padding), each offset's value
    weighted by its mask when masks are given (then it picks one element per window)."""
    parts = _slices(device, x, win, 0.0)
    if masks is not None:
        parts = [_weigh(device, part, m) for part, m in zip(parts, masks)]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total * 1 if len(parts) == 1 and masks is None else total  # never a view of x


def window_scatter(
    device: Device, g: Any, win: Window, hw: tuple[int, int], masks: list[Any] | None = None
) -> Any:
    """The adjoint of window_gather: add g (times offset k's mask) onto every window."""
    if masks is None:
        return _scatter(device, lambda k: g, win, hw, g)
    return _scatter(device, lambda k: _weigh(device, g, masks[k]), win, hw, g)
