"""What fit returns: one record per epoch, the best epoch, and whether training was interrupted.

Saved as JSON (history.json beside a checkpoint) so that a run can be read back, plotted or
compared without the model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..serialization.atomic import atomic_write

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch records (dicts: epoch, train_loss, train_<metric>, val_loss, val_<metric>,
    seconds, samples_per_second, lr; the metric is accuracy unless fit was given another), and
    the best epoch by the monitored value (``monitor``, e.g. "val_accuracy", and ``best_value``).

    ``device_seeds`` is the state of the host generator that re-seeds an accelerator's random
    stream at each epoch's start (resume.EpochSeeds; None on the CPU): it travels with the
    History into last.safetensors, not into history.json, so that continuing a History
    continues that stream.
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    monitor: str | None = None
    best_value: float | None = None
    interrupted: bool = False
    device_seeds: dict[str, Any] | None = field(default=None, repr=False)

    def column(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.epochs]

    @property
    def train_loss(self) -> list[float]:
        return self.column("train_loss")

    @property
    def train_accuracy(self) -> list[float]:
        return self.column("train_accuracy")

    @property
    def val_loss(self) -> list[float]:
        return self.column("val_loss")

    @property
    def val_accuracy(self) -> list[float]:
        return self.column("val_accuracy")

    def _repr_html_(self) -> str:
        """The epochs as a table in a notebook, the best one marked."""
        from ..progress import html_table

        keys = [k for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")
                if any(k in r for r in self.epochs)]  # fmt: skip
        rows = [
            [("★ " if r.get("epoch") == self.best_epoch else "") + str(r.get("epoch"))]
            + [_cell(r.get(k)) for k in keys]
            for r in self.epochs
        ]
        best = f"best epoch {self.best_epoch} by {self.monitor}" if self.best_epoch else ""
        return html_table(["epoch", *keys], rows, caption=best)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "monitor": self.monitor,
            "best_value": self.best_value,
            "interrupted": self.interrupted,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON atomically (serialization.atomic), so a reader never sees half."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        return cls.from_dict(json.loads(Path(path).read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The History that to_dict() described."""
        return cls(
            epochs=list(data.get("epochs", [])),
            best_epoch=data.get("best_epoch"),
            monitor=data.get("monitor"),
            best_value=data.get("best_value"),
            interrupted=bool(data.get("interrupted", False)),
        )


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
