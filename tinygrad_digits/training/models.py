"""Model factory: build a model by name from a small JSON-able config, for the CLI and examples.

A config is a plain dict, saved beside (and inside) every checkpoint so that ``evaluate``,
``predict`` and ``gradcheck`` can rebuild the exact model later::

    {"model": "mlp", "in_features": 64, "hidden": [128, 64], "activation": "relu",
     "num_classes": 10, "side": 8}
    {"model": "cnn", "in_features": 784, "side": 28, "in_channels": 1, "channels": [32, 64],
     "batch_norm": true, "dropout": 0.25, "kernel_size": 3, "hidden": [128], ...}

Adding an architecture is one call: ``register_model("name", build, flatten_input=...)``, where
``build(config, device, dtype) -> Module``; ``flatten_input`` says whether the model takes images
as (N, side*side) vectors (an MLP) or as (N, 1, side, side) (a CNN). The CLI's ``--model``
choices are the registered names. ``parameters(config) -> int``, the number of parameters the
config's model has, lets load_model refuse a model file whose config claims more than its
weights hold before building anything (a small file can't make it allocate gigabytes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import nn
from ..backend.registry import DeviceLike
from ..nn.layers import ACTIVATIONS, make_activation

__all__ = [
    "ACTIVATIONS",
    "CNN",
    "CNN_DEFAULTS",
    "MODELS",
    "ModelSpec",
    "ModelUnavailableError",
    "apply_init",
    "build_model",
    "cnn_settings",
    "describe",
    "input_is_flat",
    "make_config",
    "parse_hidden",
    "parse_init",
    "register_model",
    "takes_pictures",
]


class ModelUnavailableError(RuntimeError):
    """The named model cannot be built here (unknown name, or its layers are not installed)."""


@dataclass(frozen=True)
class ModelSpec:
    """How to build one architecture, and which input layout it expects."""

    name: str
    build: Callable[[dict[str, Any], DeviceLike, Any], nn.Module]
    flatten_input: bool
    description: str = ""
    parameters: Callable[[dict[str, Any]], int] | None = None


MODELS: dict[str, ModelSpec] = {}


def register_model(
    name: str,
    build: Callable[[dict[str, Any], DeviceLike, Any], nn.Module],
    *,
    flatten_input: bool,
    description: str = "",
    parameters: Callable[[dict[str, Any]], int] | None = None,
) -> None:
    """Make ``name`` buildable by ``build_model`` and selectable with ``--model name``;
    ``parameters(config)`` counts the parameters of the model a config describes, without
    building it (what bounds loading a model file of this kind)."""
    MODELS[name] = ModelSpec(name, build, flatten_input, description, parameters)


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


INIT_SCHEMES = ("default", "xavier", "kaiming", "normal:STD", "uniform:LOW,HIGH")


def parse_init(text: str) -> tuple[str, tuple[float, ...]]:
    """'normal:0.01' -> ('normal', (0.01,)); 'uniform:-1,1' -> ('uniform', (-1.0, 1.0));
    'xavier', 'kaiming', 'default' -> (name, ()). How learners' posts initialise, replayable."""
    name, _, rest = text.strip().lower().partition(":")
    try:
        values = tuple(float(v) for v in rest.split(",")) if rest else ()
    except ValueError:
        values = (float("nan"),)
    ok = {
        "default": len(values) == 0,
        "xavier": len(values) == 0,
        "kaiming": len(values) == 0,
        "normal": len(values) == 1 and values[0] >= 0,
        "uniform": len(values) == 2 and values[0] < values[1],
    }.get(name, False)
    if not ok or not all(v == v and abs(v) != float("inf") for v in values):
        raise ValueError(
            f"unknown init {text!r}; use one of: {', '.join(INIT_SCHEMES)} "
            "(e.g. normal:0.01 or uniform:-1,1)"
        )
    return name, values


def apply_init(model: nn.Module, spec: str, *, biases: bool = False) -> nn.Module:
    """Re-initialise every Linear/Conv2d weight of `model` by `spec` (see parse_init); with
    `biases`, a normal/uniform spec draws the biases too (else they keep the default init)."""
    name, values = parse_init(spec)
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if not isinstance(module, nn.Linear | nn.Conv2d) or weight is None:
            continue
        if name == "default":
            module.reset_parameters()
        elif name == "xavier":
            nn.init.xavier_uniform_(weight)
        elif name == "kaiming":
            nn.init.kaiming_uniform_(weight, nonlinearity="relu")
        targets = [weight] + ([module.bias] if biases and module.bias is not None else [])
        for t in targets if name in ("normal", "uniform") else []:
            if name == "normal":
                nn.init.normal_(t, 0.0, values[0])
            else:
                nn.init.uniform_(t, values[0], values[1])
    return model


def make_config(
    model: str = "mlp",
    *,
    side: int | None,
    num_classes: int = 10,
    hidden: Sequence[int] | None = None,
    activation: str = "relu",
    in_features: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A config dict for ``build_model``; ``side`` is the image side (8 or 28), None for data
    that are not images (a logic gate: give its ``in_features``).

    ``hidden`` defaults to the model's own (MLP: 128,64; CNN: a 128 dense layer); a CNN config
    also gets ``channels``, ``batch_norm``, ``dropout`` and ``kernel_size`` (CNN_DEFAULTS unless
    given in ``extra``; None counts as not given).
    """
    if model not in MODELS:
        raise ModelUnavailableError(
            f"unknown model {model!r}; choose one of: {', '.join(sorted(MODELS))}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}"
        )
    if hidden is None:
        hidden = CNN_DEFAULTS["hidden"] if model == "cnn" else (128, 64)
    config = {
        "model": model,
        "in_features": int(in_features) if in_features is not None else int(side) ** 2,
        "side": None if side is None else int(side),
        "in_channels": 1,
        "hidden": [int(h) for h in hidden],
        "activation": activation,
        "num_classes": int(num_classes),
        **extra,
    }
    if model == "cnn":
        for key, default in CNN_DEFAULTS.items():
            if config.get(key) is None:
                config[key] = default
        config.update(cnn_settings(config))
    return config


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
    if "flatten_input" in config:  # a custom model (--model-def): found by running it
        return bool(config["flatten_input"])
    spec = MODELS.get(config.get("model", "mlp"))
    return True if spec is None else spec.flatten_input


# --- the built-in architectures ------------------------------------------------------------
def _build_mlp(config: dict[str, Any], device: DeviceLike, dtype: Any) -> nn.Module:
    model = nn.MLP(
        config["in_features"],
        hidden=config.get("hidden", [128, 64]),
        out_features=config.get("num_classes", 10),
        activation=config.get("activation", "relu"),
        bias=config.get("bias", True),
        device=device,
        dtype=dtype,
    )
    if config.get("init", "default") != "default":
        apply_init(model, config["init"], biases=bool(config.get("init_biases", False)))
    return model


def _dense_parameters(sizes: Sequence[int], bias: bool = True) -> int:
    return sum(a * b + (b if bias else 0) for a, b in zip(sizes, sizes[1:]))


def _mlp_parameters(config: dict[str, Any]) -> int:
    hidden = [int(h) for h in config.get("hidden", [128, 64])]
    sizes = [int(config["in_features"]), *hidden, int(config.get("num_classes", 10))]
    return _dense_parameters(sizes, bool(config.get("bias", True)))


# Channels that pass through monotone activations can be pooled first: max(act(x)) equals
# act(max(x)) exactly, value and gradient, and the activation then runs on a quarter of the data.
MONOTONE = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus")
CNN_DEFAULTS: dict[str, Any] = {
    "channels": [32, 64],
    "hidden": [128],
    "batch_norm": True,
    "dropout": 0.25,
    "kernel_size": 3,
}


class CNN(nn.Module):
    """A small LeNet-style network for (N, C, side, side) images.

    One block per entry of ``channels``: Conv2d(kernel_size, padding "same") -> BatchNorm2d
    (optional; the conv then has no bias) -> activation -> MaxPool2d(2) (skipped once the image
    is down to 1 pixel). Then Dropout, Flatten and an MLP head with ``hidden`` sizes (ReLU and
    dropout between its Linear layers) ending in ``num_classes`` logits.
    For monotone activations the pool runs before the activation: the same function and the
    same gradient, four times less work for the activation.
    """

    def __init__(
        self,
        side: int,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64),
        hidden: Sequence[int] = (128,),
        num_classes: int = 10,
        *,
        kernel_size: int = 3,
        batch_norm: bool = True,
        dropout: float = 0.25,
        activation: str = "relu",
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if not channels:
            raise ValueError("CNN: channels must name at least one convolution width, e.g. 32,64")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"CNN: kernel_size must be odd and positive, got {kernel_size}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"CNN: dropout must be in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        c, s = int(in_channels), int(side)
        for width in channels:
            layers.append(
                nn.Conv2d(
                    c,
                    width,
                    kernel_size,
                    padding="same",
                    bias=not batch_norm,
                    device=device,
                    dtype=dtype,
                )
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(width, device=device, dtype=dtype))
            act = make_activation(activation)
            if s < 2:
                layers.append(act)
            elif activation in MONOTONE:
                layers += [nn.MaxPool2d(2), act]
            else:
                layers += [act, nn.MaxPool2d(2)]
            c, s = int(width), s // 2 if s >= 2 else s
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.flatten = nn.Flatten()
        self.classifier = nn.MLP(
            c * s * s,
            hidden=hidden,
            out_features=num_classes,
            activation=activation,
            dropout=dropout,
            device=device,
            dtype=dtype,
        )
        self.feature_shape = (c, s, s)

    def forward(self, x: Any) -> Any:
        """(N, C, side, side) images -> (N, num_classes) logits; one (C, side, side) -> 1-D."""
        if getattr(x, "ndim", None) == 3:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        return self.classifier(self.flatten(self.drop(self.features(x))))


def cnn_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The CNN's settings from a config, defaults filled in (older configs lack some keys)."""
    out = {key: config.get(key, default) for key, default in CNN_DEFAULTS.items()}
    out["channels"] = [int(c) for c in out["channels"]]
    out["hidden"] = [int(h) for h in out["hidden"]]
    return out


def _build_cnn(config: dict[str, Any], device: DeviceLike, dtype: Any) -> nn.Module:
    settings = cnn_settings(config)
    return CNN(
        int(config["side"]),
        int(config.get("in_channels", 1)),
        settings["channels"],
        settings["hidden"],
        int(config.get("num_classes", 10)),
        kernel_size=int(settings["kernel_size"]),
        batch_norm=bool(settings["batch_norm"]),
        dropout=float(settings["dropout"]),
        activation=config.get("activation", "relu"),
        device=device,
        dtype=dtype,
    )


def _cnn_parameters(config: dict[str, Any]) -> int:
    settings = cnn_settings(config)
    c, s, k = int(config.get("in_channels", 1)), int(config["side"]), int(settings["kernel_size"])
    total = 0
    for width in settings["channels"]:  # conv (bias only without batch norm), batch norm
        total += c * width * k * k + (2 * width if settings["batch_norm"] else width)
        c, s = width, s // 2 if s >= 2 else s
    head = [c * s * s, *settings["hidden"], int(config.get("num_classes", 10))]
    return total + _dense_parameters(head)


def describe(config: dict[str, Any]) -> str:
    """The architecture in one line, e.g. '1x28x28 -> conv 32 -> conv 64 -> 128 -> 10'."""
    side, classes = config.get("side"), int(config.get("num_classes", 10))
    hidden = [int(h) for h in config.get("hidden", [])]
    if config.get("model") == "cnn":
        s = cnn_settings(config)
        convs = [f"conv{'-bn' if s['batch_norm'] else ''} {c}" for c in s["channels"]]
        parts = [f"{config.get('in_channels', 1)}x{side}x{side}", *convs, *map(str, s["hidden"])]
        drop = f", dropout {s['dropout']:g}" if s["dropout"] else ""
        return " -> ".join([*parts, str(classes)]) + drop
    inputs = config.get("in_features") or int(side) ** 2
    return " -> ".join(str(v) for v in [inputs, *hidden, classes])


register_model(
    "mlp",
    _build_mlp,
    flatten_input=True,
    description="multilayer perceptron on flat pixels",
    parameters=_mlp_parameters,
)
register_model(
    "cnn",
    _build_cnn,
    flatten_input=False,
    description="LeNet-style convolutional network: conv-bn-relu-pool blocks, dense head",
    parameters=_cnn_parameters,
)


def takes_pictures(config: dict[str, Any]) -> bool:
    """Whether the model of `config` reads pictures (a side); a logic gate's reads two numbers."""
    return config.get("side", 0) is not None
