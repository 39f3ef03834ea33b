"""Checks on the data a network is fed: input scale and labels (on host NumPy copies)."""

from __future__ import annotations

import numpy as np

from ..diagnostics.findings import ERROR, WARNING, Finding
from ..diagnostics.thresholds import (
    BINARY_SHARE,
    DOMINANT_SHARE,
    MIN_LABELS,
    SCALE_LIMIT,
    TINY_STD,
)


def check_inputs(x: np.ndarray) -> list[Finding]:
    """Non-finite values, and inputs far from mean 0 / std 1 (0–255 pixels, say)."""
    x = np.asarray(x)
    if x.size == 0 or x.dtype.kind not in "fiub":
        return []
    xf = x.astype(np.float64, copy=False)
    finite = np.isfinite(xf)
    if not finite.all():
        bad = int((~finite).sum())
        return [
            Finding(
                "nonfinite_inputs",
                ERROR,
                None,
                f"{bad} input values are NaN or inf (of {xf.size})",
                "clean the data before training: find the samples with np.isnan / np.isinf, "
                "and drop or impute them",
                float(bad),
            )
        ]
    mean, std = float(xf.mean()), float(xf.std())
    lo, hi = float(xf.min()), float(xf.max())
    stats = f"mean {mean:.3g}, std {std:.3g}, values {lo:.3g} to {hi:.3g}"
    if std == 0:
        return [
            Finding(
                "inputs_not_normalised",
                WARNING,
                None,
                f"every input value is {lo:.3g}: the inputs carry no information",
                "check the loading code (blank images, a wrong column, a mask applied twice)",
                0.0,
            )
        ]
    scale = max(abs(mean), std)
    if scale > SCALE_LIMIT:
        return [
            Finding(
                "inputs_not_normalised",
                WARNING,
                None,
                f"inputs are not normalised: {stats} (aim for mean ≈ 0, std ≈ 1)",
                _scaling_advice(xf, lo, hi),
                scale,
            )
        ]
    if std < TINY_STD and max(abs(lo), abs(hi)) < 10 * TINY_STD:
        return [
            Finding(
                "inputs_not_normalised",
                WARNING,
                None,
                f"inputs are tiny: {stats}, so the first layer sees almost nothing",
                "the data was probably scaled twice (e.g. divided by 255 two times): scale once, "
                "then standardise with x = (x - mean) / std",
                std,
            )
        ]
    return []


def _scaling_advice(x: np.ndarray, lo: float, hi: float) -> str:
    integral = bool(np.all(x == np.round(x)))
    if lo >= 0 and 16 < hi <= 255 and integral:
        return (
            "these look like 0–255 pixels: divide by 255, then standardise with the training "
            "set's mean and std, x = (x / 255 - mean) / std "
            "(tinygrad_digits.data.normalize(x, max_value=255) does both)"
        )
    if lo >= 0 and 1 < hi <= 16 and integral:
        return (
            "these look like the 0–16 pixels of sklearn's digits: divide by 16, then "
            "standardise (tinygrad_digits.data.normalize(x, max_value=16) does both)"
        )
    return (
        "standardise the inputs with the training set's statistics, x = (x - mean) / std, "
        "and apply the same mean and std to validation and test data"
    )


def class_labels(y: np.ndarray) -> np.ndarray | None:
    """Integer class labels: y itself, or the argmax of one-hot / probability rows; None when
    y does not look like classification targets."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1 and y.dtype.kind in "fiub":
        return np.argmax(y, axis=1)
    if y.ndim != 1 or y.size == 0:
        return None
    if y.dtype.kind in "iu":
        return y.astype(np.int64, copy=False)
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    return None


def check_labels(y: np.ndarray, num_classes: int | None) -> list[Finding]:
    """Labels outside 0..C-1, and one class dominating the batch."""
    labels = class_labels(y)
    if labels is None:
        return []
    lo, hi = int(labels.min()), int(labels.max())
    if num_classes is not None and (lo < 0 or hi >= num_classes):
        bad = int(((labels < 0) | (labels >= num_classes)).sum())
        return [
            Finding(
                "labels_out_of_range",
                ERROR,
                None,
                f"labels run from {lo} to {hi}, but the model has {num_classes} outputs (classes "
                f"0 to {num_classes - 1}): {bad} of {labels.size} labels out of range",
                f"give the output layer {max(hi + 1, num_classes)} units, or map the labels onto "
                f"0..{num_classes - 1}" + (f" (y - {lo} if they start at {lo})" if lo != 0 else ""),
                float(bad),
            )
        ]
    if labels.size < MIN_LABELS or lo < 0:
        return []
    counts = np.bincount(labels)
    top = int(np.argmax(counts))
    share = float(counts[top]) / labels.size
    classes = num_classes if num_classes is not None else hi + 1
    limit = BINARY_SHARE if classes <= 2 else DOMINANT_SHARE
    if share >= limit and classes > 1:
        return [
            Finding(
                "class_imbalance",
                WARNING,
                None,
                f"class {top} makes up {share:.0%} of the {labels.size} labels: always predicting "
                f"it already scores {share:.0%}",
                "shuffle the data before batching (a sorted dataset gives one-class batches); if "
                "the whole dataset is skewed, weight the loss (cross_entropy(weight=...)) or "
                "resample the rare classes",
                share,
            )
        ]
    return []


__all__ = ["check_inputs", "check_labels", "class_labels"]
