"""Classification metrics: accuracy and the confusion matrix, plus a text rendering of it.

Inputs may be Tensors on any device, NumPy arrays or lists; the result is a Python float or a
NumPy array, the same type on every device.

Any callable ``metric(output, target) -> float`` can be fit's metric. Its ``__name__`` names
it in records ("train_accuracy") and its ``higher_is_better`` attribute (True when absent, as
in torchmetrics) says which way the best epoch lies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

__all__ = [
    "Metric",
    "accuracy",
    "confusion_matrix",
    "format_confusion_matrix",
    "higher_is_better",
    "metric_name",
    "metric_sum",
    "per_class_accuracy",
    "predicted_classes",
]

Metric = Callable[[Any, Any], float]


def _host(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.device.to_numpy(x.detach().data)
    return np.asarray(x)


def _predictions(output: Any) -> np.ndarray:
    """Class indices from logits/probabilities (N, C) or from indices (N,). One output (N, 1)
    is a two-class logit (a logic gate's network): class 1 where it is positive."""
    out = _host(output)
    if out.ndim == 2 and out.shape[1] == 1:
        return (out[:, 0] > 0).astype(np.int64)
    return out.argmax(axis=-1) if out.ndim == 2 else out.astype(np.int64, copy=False)


def accuracy(output: Any, target: Any) -> float:
    """Fraction of samples whose predicted class (argmax of ``output`` if 2-D) equals ``target``."""
    pred, true = _predictions(output), _host(target).reshape(-1)
    if pred.shape != true.shape:
        raise ValueError(
            f"accuracy: {pred.shape[0] if pred.ndim else 0} predictions but {true.shape[0]} labels"
        )
    if true.size == 0:
        raise ValueError("accuracy: no samples")
    return float(np.mean(pred == true))


def metric_name(metric: Metric) -> str:
    """What a metric's values are called in records and lines: its ``__name__``, or "metric"."""
    name = getattr(metric, "__name__", "")
    return name if name.isidentifier() else "metric"


def higher_is_better(metric: Metric) -> bool:
    return bool(getattr(metric, "higher_is_better", True))


def predicted_classes(output: Tensor) -> Any:
    """Each row's predicted class from (N, C) outputs, as an array on their device: the
    argmax, or for one output (a two-class logit) 1 where it is positive, as _predictions."""
    xp = output.device.xp
    if output.shape[1] == 1:
        return xp.astype(output.data[:, 0] > 0, xp.int64)
    return xp.argmax(output.data, axis=1)


def metric_sum(metric: Metric, output: Tensor, target: Tensor) -> Any:
    """``metric(output, target)`` times the batch size, the way a loop sums it over an epoch.

    Accuracy is counted on the device (a 0-d array), so a loop reads it back, and waits for the
    device, only when it reports; any other metric is called as it is.
    """
    if metric is accuracy and output.ndim == 2 and target.ndim == 1:
        return output.device.xp.count_nonzero(predicted_classes(output) == target.data)
    return metric(output, target) * target.shape[0]


def confusion_matrix(output: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """int64 (C, C) counts: row = true class, column = predicted class (sklearn's convention)."""
    pred, true = _predictions(output).reshape(-1), _host(target).reshape(-1).astype(np.int64)
    if pred.shape != true.shape:
        raise ValueError(f"confusion_matrix: {pred.size} predictions but {true.size} labels")
    if num_classes is None:
        num_classes = int(max(pred.max(initial=-1), true.max(initial=-1))) + 1
    if true.size and (
        min(pred.min(), true.min()) < 0 or max(pred.max(), true.max()) >= num_classes
    ):
        raise ValueError(f"confusion_matrix: classes must lie in [0, {num_classes})")
    flat = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (diagonal over row sums); NaN for a class with no samples."""
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


def format_confusion_matrix(cm: np.ndarray, class_names: Sequence[str] | None = None) -> str:
    """The matrix as aligned text, rows = true class, with each class's accuracy on the right."""
    cm = np.asarray(cm)
    n = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    short = [name if len(name) <= 6 else name[:6] for name in names]
    width = max(4, len(str(int(cm.max(initial=0)))) + 1, *(len(s) + 1 for s in short))
    label_w = max(len(s) for s in short) + 1
    recall = per_class_accuracy(cm)
    head = " " * label_w + "".join(s.rjust(width) for s in short) + "     acc"
    lines = ["rows: true class, columns: predicted", head]
    for i in range(n):
        cells = "".join(str(int(v)).rjust(width) for v in cm[i])
        acc = "     n/a" if np.isnan(recall[i]) else f"{recall[i]:8.1%}"
        lines.append(short[i].rjust(label_w) + cells + acc)
    return "\n".join(lines)
