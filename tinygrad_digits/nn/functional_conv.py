"""Convolution, pooling and batch normalisation on NCHW tensors, with torch's names and rules.

conv2d is im2col + one matmul in a fused node whose backward is Tensor ops (Col2Im, matmul),
so gradients of any order work; the pools loop over kernel offsets (WindowGather/Scatter) and
training-mode batch_norm is one node with a closed-form backward, likewise in Tensor ops.
Errors name the op and the shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.function import _device_mismatch
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..autograd.tensor import Tensor
from ..backend import conv_kernels as K
from ..backend.conv_kernels import Window
from ..errors import DtypeError, ShapeError
from ..ops.batchnorm import BatchNorm as _BatchNormOp
from ..ops.conv import Col2Im as _Col2Im
from ..ops.conv import Conv2d as _Conv2dOp
from ..ops.pool import MaxPool2d as _MaxPool2dOp
from ..ops.pool import WindowGather as _WindowGather

IntPair = int | Sequence[int]


# --- argument checks ----------------------------------------------------------------------
def _pair(value: IntPair, name: str, op: str, low: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each at least `low`, as (height, width)."""
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < low for v in pair):
        raise ValueError(f"{op}: {name} must be >= {low}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _batched(x: Any, op: str) -> tuple[Tensor, bool]:
    """The input as (N, C, H, W), and whether it came unbatched as (C, H, W)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        hint = " (flattened images? reshape them to (N, C, H, W))" if x.ndim == 2 else ""
        raise ShapeError(
            f"{op}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), got shape "
            f"{x.shape}{hint}"
        )
    return x, False


def _same_device(op: str, tensors: Sequence[Tensor | None]) -> None:
    present = [t for t in tensors if t is not None]
    if any(t.device is not present[0].device for t in present[1:]):
        _device_mismatch(op, present)


def _same_dtype(op: str, named: dict[str, Tensor | None]) -> None:
    present = {k: t for k, t in named.items() if t is not None}
    first_name, first = next(iter(present.items()))
    if first.dtype.kind != "f":
        raise DtypeError(
            f"{op}: {first_name} must be floating point, got {first.dtype}: convert it with "
            ".float()"
        )
    for name, t in present.items():
        if t.dtype != first.dtype:
            raise DtypeError(
                f"{op}: {name} is {t.dtype} but {first_name} is {first.dtype}; convert one "
                f"(e.g. {first_name}.float() for float32)"
            )


def _fits(op: str, x: Tensor, win: Window, padding_text: str) -> tuple[int, int]:
    """The output size, or a ShapeError when the (dilated) kernel overhangs the padded input."""
    h, w = x.shape[2:]
    oh, ow = win.out_size(h, w)
    if oh < 1 or ow < 1:
        eh, ew = win.span()
        hp, wp = win.padded(h, w)
        kh, kw = win.kernel
        covering = f" (dilated to {eh}x{ew})" if (eh, ew) != (kh, kw) else ""
        raise ShapeError(
            f"{op}: kernel {kh}x{kw}{covering} is larger than the padded input {hp}x{wp} "
            f"(input {h}x{w} of shape {x.shape}, {padding_text}); use a smaller kernel or "
            "more padding"
        )
    return oh, ow


# --- convolution --------------------------------------------------------------------------
def _weight_dims(op: str, weight: Any, ndim: int, layout: str) -> None:
    """A weight tensor of `ndim` dims, laid out as `layout` says."""
    if not isinstance(weight, Tensor) or weight.ndim != ndim:
        shape = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ShapeError(f"{op}: weight must be {ndim}-D ({layout}), got {shape}")


def _check_weight(op: str, x: Tensor, weight: Any, bias: Tensor | None, layout: str) -> None:
    """A 4-D weight (laid out as `layout` says) on the input's device, with its dtype."""
    _weight_dims(op, weight, 4, layout)
    _same_device(op, [x, weight, bias])
    _same_dtype(op, {"input": x, "weight": weight, "bias": bias})


def conv2d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of (N, C_in, H, W) with weight (C_out, C_in/groups, kh, kw).

    padding is an int, a pair, "valid" (0) or "same" (output as large as the input; stride 1,
    any extra row/column of padding goes at the bottom/right, as torch).
    """
    op = "conv2d"
    x, unbatched = _batched(input, op)
    _check_weight(op, x, weight, bias, "C_out, C_in/groups, kh, kw")
    stride_hw = _pair(stride, "stride", op)
    dilation_hw = _pair(dilation, "dilation", op)
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    n, c_in, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    if c_in != c_per_group * groups:
        raise ShapeError(
            f"{op}: input has {c_in} channels (shape {x.shape}), but weight (shape "
            f"{weight.shape}) expects {c_per_group * groups}"
            + (f" ({c_per_group} per group x {groups} groups)" if groups > 1 else "")
        )
    if c_out % groups:
        raise ShapeError(
            f"{op}: weight has {c_out} output channels (shape {weight.shape}), not divisible by "
            f"groups={groups}"
        )
    if bias is not None and bias.shape != (c_out,):
        raise ShapeError(
            f"{op}: bias must have shape ({c_out},), one value per output channel of weight "
            f"{weight.shape}, got {bias.shape}"
        )
    pads = _conv_pads(padding, (kh, kw), stride_hw, dilation_hw)
    win = Window((kh, kw), stride_hw, dilation_hw, pads)
    _fits(op, x, win, f"padding {padding!r}")
    args = (x, weight) if bias is None else (x, weight, bias)
    out = _Conv2dOp.apply(*args, win=win, groups=groups)
    return out.squeeze(0) if unbatched else out


def conv1d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of (N, C_in, L) with weight (C_out, C_in/groups, k): conv2d on a
    height-1 image."""
    for name, value in (("stride", stride), ("dilation", dilation)):
        if not isinstance(value, int):
            raise TypeError(f"conv1d: {name} must be an int, got {value!r}")
    _weight_dims("conv1d", weight, 3, "C_out, C_in/groups, k")
    pad = padding if isinstance(padding, str) else (0, padding)
    out = conv2d(
        input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, stride), pad, (1, dilation), groups
    )
    return out.squeeze(-2)


def conv_transpose2d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """The transposed convolution (conv2d's input gradient) of (N, C_in, H, W) with weight
    (C_in, C_out/groups, kh, kw): every input pixel spreads weight-scaled copies of the kernel
    over the output (overlaps add), as torch. Built from MatMul and Col2Im, so it differentiates
    to any order."""
    op = "conv_transpose2d"
    x, unbatched = _batched(input, op)
    _check_weight(op, x, weight, bias, "C_in, C_out/groups, kh, kw")
    n, c_in, h, w = x.shape
    if c_in != weight.shape[0] or c_in % groups:
        raise ShapeError(
            f"{op}: input has {c_in} channels (shape {x.shape}), but weight (shape "
            f"{weight.shape}) expects {weight.shape[0]}, divisible by groups={groups}"
        )
    kh, kw = weight.shape[2:]
    (sh, sw), (ph, pw) = _pair(stride, "stride", op), _pair(padding, "padding", op, low=0)
    (dh, dw) = _pair(dilation, "dilation", op)
    (oph, opw) = _pair(output_padding, "output_padding", op, low=0)
    if oph >= sh or opw >= sw:  # (torch also allows it below the dilation)
        raise ValueError(f"{op}: output_padding must be smaller than the stride")
    c_out = weight.shape[1] * groups
    size = (
        (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1,
        (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1,
    )
    win = Window((kh, kw), (sh, sw), (dh, dw), (ph, ph, pw, pw))  # output_padding: no window
    per_group = weight.reshape(groups, c_in // groups, -1).mT  # (G, C_out/G * kh * kw, C_in/G)
    cols = per_group @ x.reshape(n, groups, c_in // groups, h * w)
    out = _Col2Im.apply(cols.reshape(n, c_out * kh * kw, h * w), win=win, hw=size)
    if bias is not None:
        out = out + bias.reshape(c_out, 1, 1)
    return out.squeeze(0) if unbatched else out


def _conv_pads(
    padding: IntPair | str,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int, int, int]:
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(
                f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
            )
        if stride != (1, 1):
            raise ValueError(
                f"conv2d: padding='same' needs stride 1, got stride {stride}; give the padding "
                "as numbers instead"
            )
        total_h, total_w = (d * (k - 1) for d, k in zip(dilation, kernel))
        return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
    ph, pw = _pair(padding, "padding", "conv2d", low=0)
    return (ph, ph, pw, pw)


# --- pooling ------------------------------------------------------------------------------
def _pool_window(
    op: str,
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    dilation: IntPair,
    ceil_mode: bool,
) -> tuple[Window, tuple[int, int]]:
    kernel = _pair(kernel_size, "kernel_size", op)
    strides = kernel if stride is None else _pair(stride, "stride", op)
    pads = _pair(padding, "padding", op, low=0)
    dil = _pair(dilation, "dilation", op)
    for p, k, d, axis in zip(pads, kernel, dil, ("height", "width")):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(
                f"{op}: padding {p} along the {axis} is more than half the kernel "
                f"{kernel[0]}x{kernel[1]}"
                + (f" (dilation {d})" if d > 1 else "")
                + "; pads that wide would make windows of padding alone"
            )
    extra = [0, 0]
    if ceil_mode:
        for i, (size, p, s, d, k) in enumerate(zip(x.shape[2:], pads, strides, dil, kernel)):
            span = d * (k - 1) + 1
            out = -(-(size + 2 * p - span) // s) + 1
            if (out - 1) * s >= size + p:  # no window may start in the right padding
                out -= 1
            extra[i] = max(0, (out - 1) * s + span - (size + 2 * p))
    win = Window(kernel, strides, dil, (pads[0], pads[0] + extra[0], pads[1], pads[1] + extra[1]))
    return win, _fits(op, x, win, f"padding {padding!r}")


def max_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The largest value of each window (stride defaults to kernel_size; padding is -inf).

    Gradient: each window sends its upstream gradient to one maximal element, the first in
    row-major window order when several tie; overlapping windows accumulate.
    return_indices=True also returns where each maximum is, as a flat index into its (H, W)
    plane (torch's convention, for max_unpool2d).
    """
    op = "max_pool2d"
    x, unbatched = _batched(input, op)
    win, _ = _pool_window(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    out = _MaxPool2dOp.apply(x, win=win, picks=x.requires_grad and is_grad_enabled())
    if return_indices:
        indices = _argmax_positions(x, win)
        return (out.squeeze(0), indices.squeeze(0)) if unbatched else (out, indices)
    return out.squeeze(0) if unbatched else out


def adaptive_avg_pool2d(input: Tensor, output_size: IntPair) -> Tensor:  # noqa: A002
    """Average pooling to a fixed (OH, OW) whatever the input size: output cell i averages
    rows floor(i H / OH) to ceil((i + 1) H / OH), as torch (and likewise across). Two
    matmuls with constant averaging matrices, so it is exact, differentiable and exportable."""
    op = "adaptive_avg_pool2d"
    x, unbatched = _batched(input, op)
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    h, w = x.shape[2:]
    oh, ow = (h if s is None else s for s, h in zip(size, (h, w)))
    rows = Tensor(_averaging(h, oh), dtype=x.dtype, device=x.device)
    cols = Tensor(_averaging(w, ow), dtype=x.dtype, device=x.device)
    out = rows @ x @ cols.T
    return out.squeeze(0) if unbatched else out


def _averaging(n: int, out: int) -> np.ndarray:
    """(out, n): row i averages inputs floor(i n / out) .. ceil((i + 1) n / out) - 1."""
    m = np.zeros((out, n))
    for i in range(out):
        lo, hi = (i * n) // out, -(-(i + 1) * n // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _argmax_positions(x: Tensor, win: Window) -> Tensor:
    """For each window, the flat (H, W) index of its first maximal element."""
    dev, xp = x.device, x.device.xp
    n, c, h, w = x.shape
    kk, (oh, ow) = win.kernel[0] * win.kernel[1], win.out_size(h, w)
    values = xp.reshape(K.im2col(dev, x.data, win, -math.inf), (n, c, kk, oh * ow))
    plane = xp.astype(xp.reshape(xp.arange(h * w, **dev.creation_kw), (1, 1, h, w)), x.data.dtype)
    where = xp.reshape(K.im2col(dev, plane, win, -1.0), (1, 1, kk, oh * ow))
    first = xp.argmax(values, axis=2, keepdims=True)
    picked = xp.take_along_axis(xp.broadcast_to(where, values.shape), first, axis=2)
    int64 = dev.dtype(dtypes.int64)
    return Tensor._make(xp.reshape(xp.astype(picked, int64), (n, c, oh, ow)), dev, False)


def avg_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The mean of each window; zero padding counts in the divisor (count_include_pad=True)."""
    op = "avg_pool2d"
    x, unbatched = _batched(input, op)
    _same_dtype(op, {"input": x})
    win, (oh, ow) = _pool_window(op, x, kernel_size, stride, padding, 1, ceil_mode)
    h, w = x.shape[2:]
    sums = _WindowGather.apply(x, win=win)  # (N, C, OH, OW)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be 0")
        out = sums / divisor_override
    else:
        counts = _window_counts(win, (h, w), (oh, ow), count_include_pad)
        if counts is None:
            out = sums / (win.kernel[0] * win.kernel[1])
        else:
            out = sums / Tensor._make(x.device.from_numpy(counts.astype(x.dtype)), x.device, False)
    return out.squeeze(0) if unbatched else out


def _window_counts(
    win: Window, hw: tuple[int, int], out_hw: tuple[int, int], include_pad: bool
) -> np.ndarray | None:
    """How many elements each window averages (torch's rule), or None when all are full."""
    per_axis = []
    for size, out, k, s, p in zip(hw, out_hw, win.kernel, win.stride, win.pads[::2]):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)  # windows reaching into the ceil_mode margin
        if not include_pad:
            end = np.minimum(end, size)
            start = np.maximum(start, 0)
        per_axis.append(end - start)
    counts = per_axis[0][:, None] * per_axis[1][None, :]
    if np.all(counts == win.kernel[0] * win.kernel[1]):
        return None
    return counts


# --- batch normalisation --------------------------------------------------------------------
def batch_norm(
    input: Tensor,  # noqa: A002
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) of (N, C, ...) to zero mean and unit variance.

    Training uses the batch's statistics (biased variance) and, when running stats are given,
    updates them in place: r = (1 - momentum) r + momentum s, with the unbiased variance for
    running_var, as torch. Evaluation uses the running statistics.
    """
    op = "batch_norm"
    if not isinstance(input, Tensor) or input.ndim < 2:
        shape = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ShapeError(f"{op}: expected an input of shape (N, C) or (N, C, ...), got {shape}")
    named = {"running_mean": running_mean, "running_var": running_var, "weight": weight}
    named["bias"] = bias
    _same_device(op, [input, *named.values()])
    _same_dtype(op, {"input": input})
    c = input.shape[1]
    for name, t in named.items():
        if t is not None and t.shape != (c,):
            raise ShapeError(
                f"{op}: {name} must have shape ({c},), one value per channel of the input "
                f"{input.shape}, got {t.shape}"
            )
    dims = (0, *range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // c
        if count <= 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input of "
                f"shape {input.shape}; use a batch of 2 or more, or call .eval()"
            )

        def track(mean: Any, var: Any) -> None:
            as_tensor = lambda a: Tensor._make(a, input.device, False)  # noqa: E731
            with no_grad():
                _update(running_mean, as_tensor(mean), momentum)
                _update(running_var, as_tensor(var * (count / (count - 1))), momentum)

        present = [t for t in (weight, bias) if t is not None]
        return _BatchNormOp.apply(
            input,
            *present,
            dims=dims,
            eps=eps,
            affine=(weight is not None, bias is not None),
            track=track if running_mean is not None or running_var is not None else None,
        )
    if running_mean is None or running_var is None:
        raise ValueError(
            f"{op}: evaluation (training=False) needs running_mean and running_var; "
            "pass them, or training=True to use the batch's statistics"
        )
    scale = (running_var + eps).rsqrt()  # y = x * scale + shift, two passes over x
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def _update(stat: Tensor | None, batch: Tensor, momentum: float) -> None:
    if stat is not None:
        stat.mul_(1 - momentum).add_(batch.detach().reshape(stat.shape), alpha=momentum)
