"""Stateless functions behind the nn layers and losses (torch.nn.functional names).

Every loss checks its arguments before computing anything: integer class labels are
validated (dtype, shape, range) with one reduction on the labels' own device, so a bad label
raises a clear error on the CPU, on "strict" and on a GPU alike, instead of a silently wrong loss.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.joining import pad, where
from ..autograd.tensor import Tensor
from ..errors import DeviceMismatchError, DtypeError, ShapeError
from ..ops.elementwise import Dropout, Softplus
from ..ops.loss import BCEWithLogits, BinaryCrossEntropy, CrossEntropy
from ..ops.matmul import Linear
from .functional_attention import scaled_dot_product_attention
from .functional_conv import (
    adaptive_avg_pool2d,
    avg_pool2d,
    batch_norm,
    conv1d,
    conv2d,
    conv_transpose2d,
    max_pool2d,
)
from .functional_norm import group_norm, interpolate, layer_norm

_REDUCTIONS = ("mean", "sum", "none")


class LabelError(IndexError):
    """A class label outside [0, C) (and not ignore_index) was passed to a classification loss."""


# --- activations ------------------------------------------------------------------------------
def relu(x: Tensor) -> Tensor:
    """max(x, 0); the gradient at 0 is 0."""
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return x.leaky_relu(negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact erf, or approximate='tanh' as in torch."""
    return x.gelu(approximate)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold; stable, exact at 0."""
    return Softplus.apply(x._floating(), beta=float(beta), threshold=float(threshold))


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return x.silu()


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    return x.relu() + alpha * (x.clamp(max=0.0).exp() - 1)  # no comparison: ONNX exports it


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clamped to [min_val, max_val]; as torch, the gradient is 0 at the bounds themselves."""
    inside = (x > min_val) & (x < max_val)
    return where(inside, x, x.clamp(min_val, max_val).detach())


def relu6(x: Tensor) -> Tensor:
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x: Tensor) -> Tensor:
    """relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    return hardtanh(x, -3.0, 3.0) / 6 + 0.5


def hardswish(x: Tensor) -> Tensor:
    """x * hardsigmoid(x) (MobileNetV3)."""
    return x * hardsigmoid(x)


def mish(x: Tensor) -> Tensor:
    """x * tanh(softplus(x))."""
    return x * x.softplus().tanh()


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) without overflow: -softplus(-x)."""
    return -((-x).softplus())


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x divided by its p-norm along dim (at least eps)."""
    return x / x.norm(p, dim, keepdim=True).clamp(min=eps)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:  # noqa: A002
    """The rows of weight at the integer indices in input; the padding_idx row gets no gradient."""
    out = weight[input]
    if padding_idx is not None:
        pad = (input == padding_idx % weight.shape[0]).unsqueeze(-1)
        out = where(pad, out.detach(), out)
    return out


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return x.log_softmax(dim)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout),
    so evaluation needs no rescaling. The mask comes from the device's seeded generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return Dropout.apply(x, p=float(p))


# --- layers -----------------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, where: Any = "linear") -> Tensor:
    """x @ weight.T + bias in one graph node; `where` (a name or the calling Module) is
    named in error messages."""
    if x.data.shape[-1:] != weight.data.shape[1:] or x.device is not weight.device:
        _linear_error(x, weight, _describe(where))
    if x.data.dtype != weight.data.dtype:
        _linear_dtype_error(x, weight, _describe(where))
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)


def _describe(where: Any) -> str:
    if isinstance(where, str):
        return where
    extra = where.extra_repr() if hasattr(where, "extra_repr") else ""
    text = f"{type(where).__name__}({extra})"
    from ..autograd.hooks import running_modules

    stack = running_modules()
    if stack and stack[0] is not where:  # say where it sits in the model
        root = stack[0]
        for name, mod in root.named_modules():
            if mod is where:
                return f"{text} (at '{name}' in {type(root).__name__})"
    return text


def _linear_error(x: Tensor, weight: Tensor, where: str) -> None:
    if x.device is not weight.device:
        raise DeviceMismatchError(
            f"{where}: the input is on '{x.device}' but the layer's weights are on "
            f"'{weight.device}'. Move the input with x.to('{weight.device}'), or the model "
            f"with model.to('{x.device}') (an optimizer built before or after the move keeps "
            "working)."
        )
    in_features = weight.shape[1]
    msg = (
        f"{where}: input of shape {x.shape} has {x.shape[-1] if x.ndim else 'no'} features in "
        f"its last dimension, but the layer expects in_features={in_features}"
    )
    if x.ndim > 2:
        flat = math.prod(x.shape[1:])
        msg += (
            f". For images, flatten them first: nn.Flatten() before this layer or "
            f"x.flatten(1), giving shape ({x.shape[0]}, {flat})"
        )
        if flat != in_features:
            msg += f" (then set in_features={flat})"
    elif x.ndim == 0:
        msg += ". The input is a scalar: pass a tensor of shape (batch, in_features)"
    raise ShapeError(msg)


def _linear_dtype_error(x: Tensor, weight: Tensor, where: str) -> None:
    fix = (
        "convert the input with x.float()"
        if weight.dtype == dtypes.float32
        else f"convert the input with x.to({weight.dtype.name!r})"
    )
    raise DtypeError(
        f"{where}: the input is {x.dtype} but the layer's weights are {weight.dtype}; {fix} "
        "(data from NumPy is often float64, images often uint8), or convert the model with "
        "model.double()/model.float()"
    )


def one_hot(labels: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape labels.shape + (num_classes,) with a 1 at each label."""
    if labels.dtype.kind not in "iu":
        raise DtypeError(f"one_hot needs integer labels, got {labels.dtype}: use labels.long()")
    xp = labels.device.xp
    if num_classes < 0:
        num_classes = int(labels.max().item()) + 1 if labels.numel() else 0
    _check_range(labels, num_classes, None, "one_hot")
    classes = xp.arange(num_classes, dtype=labels.data.dtype, **labels.device.creation_kw)
    hits = labels.data[..., None] == classes
    return Tensor._make(xp.astype(hits, labels.device.dtype(dtypes.int64)), labels.device, False)


# --- label checks -----------------------------------------------------------------------------
def _check_reduction(reduction: str, fn: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _check_labels(x: Tensor, target: Any, fn: str) -> tuple[Tensor, Tensor, bool]:
    """Dtype, device and shape checks; returns (input as (N, C), labels as int64 (N,), batched)."""
    if not isinstance(target, Tensor):
        raise TypeError(
            f"{fn}: target must be a Tensor of class indices, got {type(target).__name__}: "
            "make one with tinygrad_digits.tensor(labels) on the input's device"
        )
    if target.dtype.kind not in "iu":
        raise DtypeError(
            f"{fn}: class labels must be an integer tensor, got {target.dtype} with shape "
            f"{target.shape}: convert them with labels.long()"
            + (
                f" (or pass class probabilities as a float tensor of the input's shape {x.shape})"
                if fn == "cross_entropy"
                else ""
            )
        )
    if target.device is not x.device:
        raise DeviceMismatchError(
            f"{fn}: the input is on '{x.device}' but the labels are on '{target.device}': move "
            f"the labels with labels.to('{x.device}')"
        )
    batched = x.ndim == 2
    if x.ndim == 1 and target.ndim == 0:  # one unbatched sample, as torch allows
        x, target = x.unsqueeze(0), target.reshape(1)
    elif x.ndim != 2:
        raise ShapeError(
            f"{fn}: input must have shape (N, C) (a batch of per-class scores), got {x.shape}"
            + (": flatten extra dimensions first" if x.ndim > 2 else "")
        )
    n = x.shape[0]
    if target.shape != (n,):
        hint = ""
        if target.shape == (n, 1):
            hint = ": squeeze the labels with labels.squeeze(1)"
        elif target.ndim == 2 and target.shape == x.shape:
            hint = ": these look one-hot; pass labels.argmax(1) (or float probabilities)"
        raise ShapeError(
            f"{fn}: input has shape {x.shape} (N={n} samples, C={x.shape[1]} classes), so the "
            f"labels must have shape ({n},), but they have shape {target.shape}{hint}"
        )
    if target.dtype != dtypes.int64:
        target = target.long()
    return x, target, batched


def _check_range(labels: Tensor, c: int, ignore_index: int | None, fn: str) -> bool:
    """Raise LabelError for a label outside [0, c) that is not ignore_index.

    Returns True when some label equals ignore_index. One small transfer (min and max)
    on the usual path; the rest only runs when a label is ignored or wrong. On devices where a
    transfer stalls the pipeline (Device.defers_checks) nothing is transferred: the check
    becomes a device-side flag raised at the next read to the host, and this returns None
    (unknown whether labels are ignored: the loss masks them on the device).
    """
    if labels.numel() == 0:
        return False
    dev = labels.device
    with dev.context:
        if dev.defers_checks:
            _defer_range_check(labels, _in_range(labels.data, c), c, ignore_index, fn)
            return None
        return _check_range_here(labels, c, ignore_index, fn)


def _in_range(t: Any, c: int) -> Any:
    return (t >= 0) & (t < c)


def _defer_range_check(
    labels: Tensor, in_range: Any, c: int, ignore_index: int | None, fn: str
) -> None:
    """A label outside [0, c) that is not ignore_index, as a device-side flag whose LabelError
    comes at the next read to the host (Device.defer_check)."""
    dev, t = labels.device, labels.data
    bad = ~in_range if ignore_index is None else ~in_range & (t != ignore_index)
    dev.defer_check(dev.xp.any(bad), lambda: _check_range_here(labels, c, ignore_index, fn))


def _check_range_here(labels: Tensor, c: int, ignore_index: int | None, fn: str) -> bool:
    dev, t = labels.device, labels.data
    xp = dev.xp
    if dev.type == "cpu":
        lo, hi = int(t.min()), int(t.max())
    else:  # one transfer instead of two syncs
        lo, hi = (int(v) for v in dev.to_numpy(xp.stack([xp.min(t), xp.max(t)])))
    ignore_inside = ignore_index is not None and lo <= ignore_index <= hi
    if lo >= 0 and hi < c and not ignore_inside:
        return False
    ignored = t == ignore_index if ignore_index is not None else xp.zeros_like(t, dtype=xp.bool)
    bad = ((t < 0) | (t >= c)) & ~ignored
    flags = dev.to_numpy(xp.stack([xp.any(bad), xp.any(ignored)]))
    if flags[0]:
        host = dev.to_numpy(t).reshape(-1)
        host_bad = dev.to_numpy(bad).reshape(-1)
        where_bad = np.flatnonzero(host_bad)
        first = int(where_bad[0])
        more = f" ({len(where_bad)} bad labels in all)" if len(where_bad) > 1 else ""
        ignore_note = f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        raise LabelError(
            f"{fn}: label {int(host[first])} at position {first} is out of range for "
            f"{c} classes: labels must be in [0, {c - 1}]{ignore_note}{more}. Check that the "
            "model's output size matches the number of classes, and that labels start at 0."
        )
    return bool(flags[1])


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# --- classification losses --------------------------------------------------------------------
def cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """Cross-entropy of logits (N, C) against integer labels (N,) or class probabilities (N, C).

    The usual case (integer labels, no class weight, nothing ignored) runs the fused,
    numerically stable CrossEntropy op; the rest is a composite over log_softmax with torch's
    semantics (mean divides by the summed weight of the non-ignored samples).
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if (
        isinstance(target, Tensor)
        and target.dtype.kind == "f"
        and target.shape == input.shape
        and input.ndim >= 1
    ):
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    if input.ndim > 2 and isinstance(target, Tensor) and target.dtype.kind in "iu":
        return _per_position(
            cross_entropy, input, target, weight, reduction, label_smoothing, ignore_index
        )
    x, labels, batched = _check_labels(input, target, "cross_entropy")
    c = x.shape[1]
    w = _class_weight(weight, x, "cross_entropy")
    smoothing = float(label_smoothing)
    if w is None and labels.device.defers_checks and labels.numel():
        # no transfer to the host: bad labels are a deferred error, ignored ones masked
        out = CrossEntropy.apply(
            x,
            labels,
            reduction=reduction,
            smoothing=smoothing,
            ignore_index=ignore_index,
            explain=lambda: _check_range_here(labels, c, ignore_index, "cross_entropy"),
        )
    else:
        any_ignored = _check_range(labels, c, ignore_index, "cross_entropy")
        if w is None and not any_ignored:
            out = CrossEntropy.apply(x, labels, reduction=reduction, smoothing=smoothing)
        else:
            out = _weighted_nll(
                x.log_softmax(1), labels, w, ignore_index, reduction, label_smoothing
            )
    if not batched and reduction == "none":
        out = out.reshape(())
    return out


def nll_loss(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) (e.g. from log_softmax) at labels."""
    _check_reduction(reduction, "nll_loss")
    if input.ndim > 2 and isinstance(target, Tensor):
        return _per_position(nll_loss, input, target, weight, ignore_index, reduction)
    x, labels, batched = _check_labels(input, target, "nll_loss")
    w = _class_weight(weight, x, "nll_loss")
    _check_range(labels, x.shape[1], ignore_index, "nll_loss")
    out = _weighted_nll(x, labels, w, ignore_index, reduction, 0.0)
    if not batched and reduction == "none":
        out = out.reshape(())
    return out


def _per_position(loss: Any, x: Tensor, target: Tensor, *args: Any) -> Tensor:
    """A classification loss on (N, C, d1, ...) scores and (N, d1, ...) labels (a label per
    pixel or token): every position is one sample, as torch."""
    fn = loss.__name__
    expected = (x.shape[0], *x.shape[2:])
    if target.shape != expected:
        raise ShapeError(
            f"{fn}: input has shape {x.shape} (N, C, d1, ...), so the labels must have shape "
            f"{expected}, but they have shape {target.shape}"
        )
    out = loss(x.movedim(1, -1).reshape(-1, x.shape[1]), target.reshape(-1), *args)
    reduction = args[1] if fn == "cross_entropy" else args[2]
    return out.reshape(target.shape) if reduction == "none" else out


def _class_weight(weight: Tensor | None, x: Tensor, fn: str) -> Any:
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or weight.shape != (x.shape[1],):
        shape = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ShapeError(
            f"{fn}: weight must be a tensor of shape ({x.shape[1]},), one per class, got {shape}"
        )
    if weight.device is not x.device:
        raise DeviceMismatchError(
            f"{fn}: the input is on '{x.device}' but weight is on '{weight.device}': move it "
            f"with weight.to('{x.device}')"
        )
    return x.device.xp.astype(weight.data, x.data.dtype)


def _weighted_nll(
    logp: Tensor,
    labels: Tensor,
    w: Any,
    ignore_index: int,
    reduction: str,
    smoothing: float,
) -> Tensor:
    """torch's nll_loss/cross_entropy with class weights, ignore_index and label smoothing.

    loss_i = (1-e) w[y_i] (-logp[i, y_i]) + e/C sum_c w[c] (-logp[i, c]) for kept samples,
    0 for ignored ones; 'mean' divides the sum by sum_i w[y_i] over kept samples.
    """
    dev = logp.device
    xp = dev.xp
    t = labels.data
    n, c = logp.shape
    kept = t != ignore_index
    classes = xp.arange(c, dtype=t.dtype, **dev.creation_kw)
    hit = (t[:, None] == classes) & kept[:, None]
    zeros = xp.zeros(logp.data.shape, dtype=logp.data.dtype, **dev.creation_kw)
    if w is None:
        w_i = xp.astype(kept, logp.data.dtype)
    else:
        w_i = xp.sum(xp.where(hit, w, zeros), axis=1)
    picked = logp.masked(hit).sum(1)
    loss = -picked * Tensor._make(w_i, dev, False)
    if smoothing:
        spread = logp if w is None else logp * Tensor._make(w, dev, False)
        smooth = -spread.masked(xp.broadcast_to(kept[:, None], (n, c))).sum(1)
        loss = loss * (1.0 - smoothing) + smooth * (smoothing / c)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / Tensor._make(xp.sum(w_i), dev, False)


def _cross_entropy_probs(
    x: Tensor, target: Tensor, weight: Tensor | None, reduction: str, smoothing: float
) -> Tensor:
    """Soft targets: loss_i = -sum_c target[i,c] w[c] log_softmax(x)[i,c]; mean divides by N."""
    if target.device is not x.device:
        raise DeviceMismatchError(
            f"cross_entropy: the input is on '{x.device}' but the target probabilities are on "
            f"'{target.device}': move them with target.to('{x.device}')"
        )
    class_dim = 1 if x.ndim >= 2 else 0
    c = x.shape[class_dim]
    logp = x.log_softmax(class_dim)
    tgt = target if not smoothing else target * (1.0 - smoothing) + smoothing / c
    terms = logp * tgt
    if not tgt.requires_grad:
        # 0 * log(0) is 0 here, not NaN, so -inf logits with zero target mass stay finite
        terms = terms.masked(tgt.data != 0)
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != (c,):
            raise ShapeError(f"cross_entropy: weight must have shape ({c},), got {weight.shape}")
        w = weight.to(x.dtype)
        terms = terms * (w.reshape((c,) + (1,) * (x.ndim - 2)) if x.ndim > 2 else w)
    loss = -terms.sum(class_dim)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / (loss.numel() if loss.ndim else 1)


# --- regression and binary losses -------------------------------------------------------------
def _same_shape(x: Tensor, target: Any, fn: str) -> Tensor:
    if not isinstance(target, Tensor):
        raise TypeError(f"{fn}: target must be a Tensor, got {type(target).__name__}")
    if target.shape != x.shape:
        hint = ""
        if x.ndim == 2 and x.shape[1] == 1 and target.shape == (x.shape[0],):
            hint = ": reshape the target with target.unsqueeze(1) (or the input with .squeeze(1))"
        elif target.ndim == 2 and target.shape[1] == 1 and x.shape == (target.shape[0],):
            hint = ": squeeze the target with target.squeeze(1)"
        raise ShapeError(
            f"{fn}: input has shape {x.shape} but target has shape {target.shape}; they must "
            f"match (broadcasting them silently gives a wrong loss){hint}"
        )
    if target.device is not x.device:
        raise DeviceMismatchError(
            f"{fn}: the input is on '{x.device}' but the target is on '{target.device}': move "
            f"the target with target.to('{x.device}')"
        )
    if target.dtype != x.dtype:
        target = target.to(x.dtype)
    return target


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean squared error (input - target)^2; shapes must match exactly."""
    _check_reduction(reduction, "mse_loss")
    target = _same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean absolute error |input - target| (gradient 0 where they are equal)."""
    _check_reduction(reduction, "l1_loss")
    target = _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """BCE of probabilities in [0, 1] (e.g. after sigmoid); each log is clamped at -100, as
    torch, so p = 0 or 1 gives a finite loss. Prefer binary_cross_entropy_with_logits."""
    _check_reduction(reduction, "binary_cross_entropy")
    target = _same_shape(input, target, "binary_cross_entropy")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on raw scores: max(x, 0) - x y + log1p(exp(-|x|)), stable for any logit size.

    pos_weight (one per class, broadcast over the last dim) scales the positive term.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _same_shape(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = BCEWithLogits.apply(input, target)
    else:
        loss = BCEWithLogits.apply(input, target, pos_weight.to(input.dtype))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


__all__ = [
    "LabelError",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "elu",
    "embedding",
    "group_norm",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "interpolate",
    "layer_norm",
    "logsigmoid",
    "max_pool2d",
    "mish",
    "normalize",
    "relu6",
    "scaled_dot_product_attention",
    "silu",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "gelu",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]
