"""Training pictures as PNG files: loss and accuracy curves, and the confusion matrix.

matplotlib is an optional extra (``pip install "tinygrad-digits[plots]"``). Every function here
returns the path it wrote, or None (with the reason in ``MISSING_MATPLOTLIB``) when matplotlib is
absent, so training never fails for want of a picture. Figures are drawn on an Agg canvas without
pyplot, so nothing changes the backend or state of a user's interactive session.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MISSING_MATPLOTLIB",
    "matplotlib_available",
    "save_confusion_matrix",
    "save_digit_grid",
    "save_training_curves",
]

MISSING_MATPLOTLIB = (
    'plots skipped: matplotlib is not installed (pip install "tinygrad-digits[plots]")'
)


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def save_training_curves(
    history: Any, path: str | os.PathLike, metric: str | None = "accuracy"
) -> Path | None:
    """Loss (left) and the metric (right, when there is one) per epoch, training and validation,
    as one PNG.

    ``history`` is a training.History or a list of per-epoch dicts with keys train_loss,
    train_<metric> and optionally val_loss, val_<metric>.
    """
    if not matplotlib_available():
        return None
    records = getattr(history, "epochs", history)
    epochs = [r["epoch"] for r in records]
    keys = ["loss"] + ([metric] if metric and any(f"train_{metric}" in r for r in records) else [])
    fig = _figure(5 * len(keys), 4)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        for split, style in (("train", "-o"), ("val", "-s")):
            values = [r.get(f"{split}_{key}") for r in records]
            if any(v is not None for v in values):
                shown = [np.nan if v is None else v for v in values]
                label = "training" if split == "train" else "validation"
                ax.plot(epochs, shown, style, markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def save_confusion_matrix(
    cm: np.ndarray,
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    title: str = "confusion matrix",
) -> Path | None:
    """The matrix as a heat map with counts in the cells (rows true, columns predicted)."""
    if not matplotlib_available():
        return None
    cm = np.asarray(cm)
    n = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    fig = _figure(1.6 + 0.55 * n, 1.2 + 0.5 * n)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    top = cm.max(initial=0)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                colour = "white" if cm[i, j] > top / 2 else "black"
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", color=colour, size=8)
    return _save(fig, path)


def save_digit_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    titles: Sequence[str] | None = None,
    columns: int = 8,
) -> Path | None:
    """A grid of greyscale images (N, H, W) with optional titles, e.g. misclassified digits."""
    if not matplotlib_available():
        return None
    images = np.asarray(images)
    n = len(images)
    rows = max(1, -(-n // columns))
    fig = _figure(1.3 * columns, 1.5 * rows)
    for k in range(n):
        ax = fig.add_subplot(rows, columns, k + 1)
        ax.imshow(images[k], cmap="gray")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[k], size=8)
    return _save(fig, path)
