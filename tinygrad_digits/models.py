"""Model factory: build a model by name from a small JSON-able config, for the CLI and examples.

A config is a plain dict, saved beside (and inside) every checkpoint so that ``evaluate``,
``predict`` and ``gradcheck`` can rebuild the exact model later::

    {"model": "mlp", "in_features": 64, "hidden": [128, 64], "activation": "relu",
     "num_classes": 10, "side": 8}

Adding an architecture is one call: ``register_model("name", build, flatten_input=...)``, where
``build(config, device, dtype) -> Module``; ``flatten_input`` says whether the model takes images
as (N, side*side) vectors (an MLP) or as (N, 1, side, side) (a CNN). The CLI's ``--model``
choices are the registered names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import nn
from .backend.registry import DeviceLike

__all__ = [
    "ACTIVATIONS",
    "MODELS",
    "ModelSpec",
    "ModelUnavailableError",
    "build_model",
    "input_is_flat",
    "make_config",
    "parse_hidden",
    "register_model",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "leaky_relu", "softplus")


class ModelUnavailableError(RuntimeError):
    """The named model cannot be built here (unknown name, or its layers are not installed)."""


@dataclass(frozen=True)
class ModelSpec:
    """How to build one architecture, and which input layout it expects."""

    name: str
    build: Callable[[dict[str, Any], DeviceLike, Any], nn.Module]
    flatten_input: bool
    description: str = ""


MODELS: dict[str, ModelSpec] = {}


def register_model(
    name: str,
    build: Callable[[dict[str, Any], DeviceLike, Any], nn.Module],
    *,
    flatten_input: bool,
    description: str = "",
) -> None:
    """Make ``name`` buildable by ``build_model`` and selectable with ``--model name``."""
    MODELS[name] = ModelSpec(name, build, flatten_input, description)


def parse_hidden(text: str | Sequence[int]) -> list[int]:
    """'128,64' (or a list) -> [128, 64]; empty string -> [] (a linear model)."""
    if not isinstance(text, str):
        sizes = [int(h) for h in text]
    else:
        parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
        try:
            sizes = [int(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"hidden sizes must be positive integers separated by commas, like 128,64; "
                f"got {text!r}"
            ) from None
    if any(h < 1 for h in sizes):
        raise ValueError(f"hidden sizes must be positive integers, got {sizes}")
    return sizes


def make_config(
    model: str = "mlp",
    *,
    side: int,
    num_classes: int = 10,
    hidden: Sequence[int] = (128, 64),
    activation: str = "relu",
    **extra: Any,
) -> dict[str, Any]:
    """A config dict for ``build_model``; ``side`` is the image side (8 or 28)."""
    if model not in MODELS:
        raise ModelUnavailableError(
            f"unknown model {model!r}; choose one of: {', '.join(sorted(MODELS))}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}"
        )
    return {
        "model": model,
        "in_features": int(side) * int(side),
        "side": int(side),
        "in_channels": 1,
        "hidden": [int(h) for h in hidden],
        "activation": activation,
        "num_classes": int(num_classes),
        **extra,
    }


def build_model(config: dict[str, Any], device: DeviceLike = None, dtype: Any = None) -> nn.Module:
    """The freshly initialised model a config describes (seed with ``manual_seed`` first)."""
    name = config.get("model", "mlp")
    spec = MODELS.get(name)
    if spec is None:
        raise ModelUnavailableError(
            f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}"
        )
    return spec.build(config, device, dtype)


def input_is_flat(config: dict[str, Any]) -> bool:
    """Whether the model in ``config`` takes flat (N, side*side) input rather than images."""
    spec = MODELS.get(config.get("model", "mlp"))
    return True if spec is None else spec.flatten_input


# --- the built-in architectures ------------------------------------------------------------
def _build_mlp(config: dict[str, Any], device: DeviceLike, dtype: Any) -> nn.Module:
    return nn.MLP(
        config["in_features"],
        hidden=config.get("hidden", [128, 64]),
        out_features=config.get("num_classes", 10),
        activation=config.get("activation", "relu"),
        device=device,
        dtype=dtype,
    )


def _build_cnn(config: dict[str, Any], device: DeviceLike, dtype: Any) -> nn.Module:
    """Two conv-ReLU-pool stages then an MLP head; needs nn.Conv2d and nn.MaxPool2d."""
    conv = getattr(nn, "Conv2d", None)
    pool = getattr(nn, "MaxPool2d", None)
    if conv is None or pool is None:
        try:
            from .conv_modules import Conv2d as conv
            from .conv_modules import MaxPool2d as pool
        except ImportError:
            raise ModelUnavailableError(
                "--model cnn needs the convolution layers (nn.Conv2d, nn.MaxPool2d), which this "
                "version of tinygrad_digits does not have; use --model mlp"
            ) from None
    side, channels = int(config["side"]), int(config.get("in_channels", 1))
    widths = config.get("channels", [16, 32])
    layers: list[nn.Module] = []
    for out_ch in widths:
        layers += [
            conv(channels, out_ch, 3, padding=1, device=device, dtype=dtype),
            nn.ReLU(),
            pool(2),
        ]
        channels, side = out_ch, side // 2
    layers += [nn.Flatten()]
    head = nn.MLP(
        channels * side * side,
        hidden=config.get("hidden", [128])[:1],
        out_features=config.get("num_classes", 10),
        activation=config.get("activation", "relu"),
        device=device,
        dtype=dtype,
    )
    return nn.Sequential(*layers, head)


register_model(
    "mlp", _build_mlp, flatten_input=True, description="multilayer perceptron on flat pixels"
)
register_model(
    "cnn",
    _build_cnn,
    flatten_input=False,
    description="small convolutional network (needs nn.Conv2d; issue 6 may replace it)",
)
