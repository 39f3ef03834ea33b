"""Loss ops, each one fused node: cross-entropy with log-softmax, binary cross-entropy on
probabilities and on logits.

Fused for speed (one node instead of several) and for exactness where a composite of core ops
would hit a kink: softplus and BCE-with-logits at x = 0, where relu'(0) = abs'(0) = 0 would give a
wrong derivative. Backwards use Tensor ops, so second derivatives work (gradgradcheck).
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from .elementwise import Softplus


class CrossEntropy(Function):
    """Mean/sum/none cross-entropy of logits (N, C) against int labels (N,), in one pass.

    Never forms log(0): it works from log_softmax of shifted logits, so logits of +-1e4 and
    -inf entries give finite losses and gradients. The labels are compared with the classes
    (a one-hot matrix) instead of gathered by integer indexing. Given `ignore_index` or
    `explain`, a row whose label is `ignore_index` or out of [0, C) has no hit and does not
    count, with no bounds check and no question to the host; with `explain` (on devices that
    defer checks), a label that is neither a class nor `ignore_index` becomes a device-side flag
    whose `explain()` raises at the next read to the host. Without either, the caller has
    checked every label (F.cross_entropy on the CPU), so every row counts and those sums are
    skipped. On a GPU a step costs 12 kernel launches forward and backward.
    """

    def forward(self, logits, labels, reduction, smoothing, ignore_index=None, explain=None):
        xp, device = self.xp, self.device
        n, c = logits.shape
        self.reduction = reduction
        top = xp.max(logits, axis=1, keepdims=True)
        e = device.fuse(shifted_exp_kernel)(logits, top)
        total = xp.sum(e, axis=1, keepdims=True)
        classes, keep = _classes(device, c, ignore_index, labels.dtype)
        hits = labels[:, None] == classes  # ignore_index outside [0, C) has its own column
        if explain is not None:  # every row hits exactly one column unless its label is bad
            device.defer_check(xp.count_nonzero(hits) != n, explain)
        if keep is not None:
            hits = hits & keep
        elif hits.shape[1] != c:
            hits = hits[:, :c]
        if ignore_index is None and explain is None:  # the caller checked every label: all count
            rows, count = 1.0, float(n)
        else:  # 1 in the rows that count (a label that is a class), 0 in the others
            mask = device.as_mask(hits, logits.dtype)
            rows = xp.sum(mask, axis=1, keepdims=True, dtype=logits.dtype)
            count = xp.sum(rows) if reduction == "mean" else None
        saved = {"exp": e, "total": total, "hits": hits, "rows": rows}
        if smoothing:  # (a bool mask times a Python float would be float64 on NumPy)
            target = xp.astype(hits, logits.dtype) * (1 - smoothing) + rows * (smoothing / c)
            neglogp = xp.log(total) - (logits - top)
            losses = (
                xp.where(hits, neglogp, 0.0) * (1 - smoothing) + (rows * (smoothing / c)) * neglogp
            )
            saved["target"] = target
        else:  # not target * neglogp: 0 * inf at -inf logits
            losses = device.fuse(picked_neglogp_kernel)(logits, top, total, hits)
        out = xp.sum(losses, axis=1) if reduction == "none" else xp.sum(losses)
        if reduction == "mean":
            saved["count"] = count
            out = out / count
        self.save_for_backward(**saved)
        return out

    def _target(self) -> Any:
        saved = self.saved_arrays
        found = saved.get("target")
        return self.xp.astype(saved["hits"], saved["exp"].dtype) if found is None else found

    def backward(self, g):  # d CE / d logits = (softmax - target) * upstream (/ count for mean)
        saved = self.saved_arrays
        if is_grad_enabled():  # recorded: softmax as Tensor ops, so its derivative is exact
            p = self.parents[0].softmax(1)
        else:
            p = self.const(saved["exp"] / saved["total"])
        diff = p - self.const(self._target())
        rows = saved["rows"]
        if not isinstance(rows, float):
            diff = diff * self.const(rows)
        if self.reduction == "none":
            return diff * g.reshape((-1, 1)), None
        if self.reduction == "mean":
            count = saved["count"]
            g = g / (count if isinstance(count, float) else self.const(count))
        return diff * g, None

    def backward_arrays(self, g):  # the same on raw arrays, in one fused kernel
        saved, device = self.saved_arrays, self.device
        if self.reduction == "none":
            g = self.xp.reshape(g, (-1, 1))
        count = saved["count"] if self.reduction == "mean" else 1.0
        e, total, rows = saved["exp"], saved["total"], saved["rows"]
        if "target" in saved:
            grad = device.fuse(smoothed_ce_backward_kernel)(
                e, total, saved["target"], rows, g, count
            )
        else:
            grad = device.fuse(ce_backward_kernel)(e, total, saved["hits"], rows, g, count)
        return grad, None


def shifted_exp_kernel(xp):
    """exp(logits - top), top being each row's maximum: never overflows."""

    def shifted_exp(logits, top):
        return xp.exp(logits - top)

    return shifted_exp


def picked_neglogp_kernel(xp):
    """-log softmax(logits) where `hits` (the label's column), else 0."""

    def picked_neglogp(logits, top, total, hits):
        return xp.where(hits, xp.log(total) - (logits - top), 0.0)

    return picked_neglogp


def ce_backward_kernel(xp):
    """(softmax - one-hot) * rows * g / count: the gradient of the cross-entropy."""

    def ce_backward(e, total, hits, rows, g, count):
        p = e / total
        return xp.where(hits, p - 1.0, p) * (rows * (g / count))

    return ce_backward


def smoothed_ce_backward_kernel(xp):
    """(softmax - target) * rows * g / count, for a label-smoothed (float) target."""

    def smoothed_ce_backward(e, total, target, rows, g, count):
        return (e / total - target) * (rows * (g / count))

    return smoothed_ce_backward


_CLASSES: dict[tuple[int, int, int | None, Any], tuple[Any, Any]] = {}


def _classes(device: Any, c: int, ignore_index: int | None, dtype: Any) -> tuple[Any, Any]:
    """The labels' comparands, made once per device: the classes 0..C-1, plus ignore_index
    when it lies outside them; and for an ignore_index among them, the columns that count."""
    key = (id(device), c, ignore_index, dtype)
    found = _CLASSES.get(key)
    if found is None:
        xp, kw = device.xp, device.creation_kw
        inside = ignore_index is not None and 0 <= ignore_index < c
        values = list(range(c))
        if ignore_index is not None and not inside:
            values.append(ignore_index)
        with device.context:
            classes = xp.asarray(values, dtype=dtype, **kw)
            keep = xp.asarray([k != ignore_index for k in range(c)], **kw) if inside else None
        found = _CLASSES[key] = (classes, keep)
    return found


class BCEWithLogits(Function):
    """(1 - y) x + l * softplus(-x) with l = 1 + (pos_weight - 1) y; stable for any |x|."""

    def forward(self, x, y, pos_weight=None):
        xp = self.xp
        sp_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.clip(-x, 0.0, None)  # softplus(-x)
        scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        return (1 - y) * x + scale * sp_neg

    def backward(
        self, g
    ):  # dx = (1-y) - l sigmoid(-x) ; dy = (pw-1) softplus(-x) - x ; dpw = y sp(-x)
        x, y = self.parents[0], self.parents[1]
        pw = self.parents[2] if len(self.parents) == 3 else None
        sig_neg = (-x).sigmoid()
        if pw is None:
            gx = g * (1 - y - sig_neg) if x.requires_grad else None
            gy = -g * x if y.requires_grad else None
            return gx, gy
        scale = 1 + (pw - 1) * y
        gx = g * (1 - y - scale * sig_neg) if x.requires_grad else None
        sp_neg = None
        if y.requires_grad or pw.requires_grad:
            sp_neg = Softplus.apply(-x, beta=1.0, threshold=20.0)
        gy = g * ((pw - 1) * sp_neg - x) if y.requires_grad else None
        gpw = g * y * sp_neg if pw.requires_grad else None
        return gx, gy, gpw


class BinaryCrossEntropy(Function):
    """-(y log p + (1-y) log(1-p)) with each log clamped at -100 (as torch), for p in [0, 1]."""

    def forward(self, p, y):
        xp = self.xp
        log_p = _clamped_log(xp, p)
        log_q = _clamped_log(xp, 1 - p)
        return -(y * log_p + (1 - y) * log_q)

    def backward(self, g):  # dp = (p - y) / max(p (1-p), 1e-12) ; dy = log(1-p) - log p
        p, y = self.parents
        gp = g * (p - y) / (p * (1 - p)).clamp(min=1e-12) if p.requires_grad else None
        gy = None
        if y.requires_grad:
            gy = g * ((1 - p).log().clamp(min=-100.0) - p.log().clamp(min=-100.0))
        return gp, gy


def _clamped_log(xp, a):
    """max(log a, -100) without evaluating log(0) (no warnings, no -inf)."""
    positive = a > 0
    safe = xp.where(positive, a, xp.ones_like(a))
    return xp.where(positive, xp.clip(xp.log(safe), -100.0, None), xp.full_like(a, -100.0))
