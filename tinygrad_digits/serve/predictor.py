"""What the page shows for one picture: the prediction, the input as the network receives it,
the hidden activations, and the computation graph with this input's values.

A `Predictor` holds one trained model. Calls are serialised by a lock: the web server runs
requests on a thread pool, and activations are recorded by briefly wrapping submodules.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..training.models import describe
from ..training.prediction import class_labels, model_input, preprocess_for, probabilities

__all__ = ["Predictor"]

# Batch norm at inference is a handful of elementwise ops per layer; one box each reads better.
FOLDED = ["BatchNorm2d", "BatchNorm1d"]
MAX_FEATURE_MAPS = 16  # a CNN's first layer may have 32+ channels; the page shows the first 16


def _watched(model: Any) -> list[tuple[str, Any]]:
    """(label, module) whose outputs the page shows: the MLP's activation (called once per hidden
    layer, so each call is one strip), or the CNN's first convolution (its feature maps)."""
    if hasattr(model, "features"):
        return [("conv 1 feature maps", model.features[0])]
    if getattr(model, "act", None) is not None:
        return [("hidden", model.act)]
    return []


@contextmanager
def _recording(modules: list[tuple[str, Any]]) -> Iterator[list[tuple[str, Any]]]:
    """Collect (label, output tensor) of every call of the given modules during the block."""
    seen: list[tuple[str, Any]] = []
    for label, module in modules:

        def forward(*args: Any, _label: str = label, _inner: Any = module.forward) -> Any:
            out = _inner(*args)
            seen.append((_label, out))
            return out

        module.__dict__["forward"] = forward
    try:
        yield seen
    finally:
        for _, module in modules:
            module.__dict__.pop("forward", None)


def _activation_entry(label: str, index: int, out: Any) -> dict[str, Any]:
    values = out.cpu().numpy().astype(np.float64)[0]
    if values.ndim == 3:  # (channels, h, w) feature maps
        maps = values[:MAX_FEATURE_MAPS]
        return {
            "name": label,
            "kind": "maps",
            "channels": int(values.shape[0]),
            "values": np.round(maps, 4).tolist(),
        }
    return {"name": f"{label} {index + 1}", "kind": "strip", "values": np.round(values, 4).tolist()}


class Predictor:
    """One trained model behind the page; `predict` and `graph` take a decoded picture."""

    def __init__(self, model: Any, config: dict[str, Any], device: Any = None) -> None:
        self.model, self.config, self.device = model, config, device
        self.classes = class_labels(config)
        self._lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        """What the page shows before the first stroke."""
        from ..viz import dot_available

        return {
            "model": self.config.get("model", "mlp"),
            "architecture": describe(self.config),
            "side": int(self.config["side"]),
            "classes": self.classes,
            "dot_available": dot_available(),
        }

    def predict(self, picture: Any) -> dict[str, Any]:
        """Probabilities, the preprocessed input (0–1) and the activations for one picture."""
        pixels = preprocess_for(self.config, picture)[None]
        with self._lock, _recording(_watched(self.model)) as seen:
            probs = probabilities(self.model, pixels, self.config, self.device)[0]
            activations = [_activation_entry(label, i, out) for i, (label, out) in enumerate(seen)]
        best = int(np.argmax(probs))
        top = 16.0 if int(self.config["side"]) == 8 else 1.0
        return {
            "prediction": best,
            "label": self.classes[best],
            "classes": self.classes,
            "probabilities": [round(float(p), 6) for p in probs],
            "input": np.round(pixels[0] / top, 4).tolist(),
            "activations": activations,
        }

    def graph(self, picture: Any) -> dict[str, Any]:
        """The forward graph of this prediction as the project's SVG, each box with the values
        this input gave; without Graphviz's `dot`, the DOT text and a message saying so."""
        from ..autograd.factories import tensor
        from ..viz import dot_available, save, to_dot
        from ..viz.draw import INSTALL_GRAPHVIZ

        pixels = preprocess_for(self.config, picture)[None]
        x = tensor(model_input(pixels, self.config), device=self.device)
        with self._lock:
            dot = to_dot(
                self.model,
                x,
                values=True,
                collapse=FOLDED,
                legend=False,
                title=f"{describe(self.config)}: the values for this input",
            )
        if not dot_available():
            return {
                "svg": None,
                "dot": dot,
                "message": f"Graphviz's dot program is not installed, so the graph cannot be "
                f"drawn here. {INSTALL_GRAPHVIZ}",
            }
        with tempfile.TemporaryDirectory() as folder:
            path = save(dot, Path(folder) / "graph.svg")
            return {"svg": path.read_text(encoding="utf-8"), "dot": dot, "message": ""}
