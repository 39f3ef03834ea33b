"""Option types and option groups that several commands share (data, device, CNN shape)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import numpy as np

DATASETS = ("digits", "mnist", "fashion-mnist")
DEVICE_VARIABLE = "TINYGRAD_DIGITS_DEVICE"


def _checked(convert: Callable[[str], Any], valid: Callable[[Any], bool], expected: str) -> Any:
    """An argparse type: `convert` the text, then reject what is not `valid`."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
positive_float = _checked(float, lambda v: v > 0 and np.isfinite(v), "a positive number")
non_negative_float = _checked(float, lambda v: 0 <= v < np.inf, "a finite number >= 0")
momentum = _checked(float, lambda v: 0 <= v < 1, "a momentum in [0, 1)")
non_negative_int = _checked(int, lambda v: v >= 0, "an integer >= 0")
fraction = _checked(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")
port_number = _checked(int, lambda v: 0 <= v <= 65535, "a port number 0–65535")


def hidden_sizes(text: str) -> list[int]:
    from ..training.models import parse_hidden

    try:
        return parse_hidden(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _channels(text: str) -> list[int]:
    sizes = hidden_sizes(text)
    if not sizes:
        raise argparse.ArgumentTypeError("--channels needs at least one width, like 32,64")
    return sizes


def add_cnn_args(p: argparse.ArgumentParser) -> None:
    """Options of --model cnn (ignored by the MLP); unset ones take models.CNN_DEFAULTS."""
    from ..training.models import CNN_DEFAULTS

    p.add_argument(
        "--channels",
        type=_channels,
        metavar="WIDTHS",
        help="cnn: output channels of each conv-pool block, comma-separated "
        f"(default {','.join(map(str, CNN_DEFAULTS['channels']))})",
    )
    bn = p.add_mutually_exclusive_group()
    bn.add_argument(
        "--batch-norm",
        dest="batch_norm",
        action="store_true",
        default=None,
        help="cnn: BatchNorm2d after each conv (the default)",
    )
    bn.add_argument("--no-batch-norm", dest="batch_norm", action="store_false")
    p.add_argument(
        "--dropout",
        type=fraction,
        metavar="P",
        help=f"cnn: dropout before and inside the dense head (default {CNN_DEFAULTS['dropout']})",
    )


def cnn_extra(args: argparse.Namespace, model: str) -> dict[str, Any]:
    """The CNN options the user gave (make_config fills in the rest)."""
    if model != "cnn":
        return {}
    return {
        "channels": args.channels,
        "batch_norm": args.batch_norm,
        "dropout": args.dropout,
    }


def _dataset_type(names: tuple[str, ...]) -> Callable[[str], str]:
    """An argparse type for --dataset: one of `names` (spelled loosely: fashion, Fashion_MNIST)."""

    def parse(text: str) -> str:
        name = text.strip().lower().replace("_", "-")
        name = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}.get(name, name)
        if name not in names:
            raise argparse.ArgumentTypeError(
                f"unknown dataset {text!r}; choose one of: {', '.join(names)} (or --csv PATH)"
            )
        return name

    return parse


def add_data_args(
    p: argparse.ArgumentParser,
    default: str | None,
    *,
    gates: bool = False,
    test_csv: bool = True,
) -> None:
    """--dataset, --csv, --data-dir and --download, and what a command adds to them: `gates`
    the logic gates (or, and, xor: 2 inputs, 1 output, the first network many learners
    build), `test_csv` a --test-csv for held-out rows."""
    from ..data.arrays import LOGIC_GATES

    names = DATASETS + tuple(LOGIC_GATES) if gates else DATASETS
    gate_help = ", a logic gate (or, and, xor: 2 inputs, 1 output)" if gates else ""
    p.add_argument(
        "--dataset",
        type=_dataset_type(names),
        default=default,
        metavar="{" + ",".join(names) + "}",
        help=f"built-in 8×8 digits (sklearn, no download), MNIST or Fashion-MNIST{gate_help}"
        + (f" (default {default})" if default else " (default: the one the model was trained on)"),
    )
    p.add_argument("--csv", metavar="PATH", help="digits from a CSV file (label, then pixels)")
    if test_csv:
        p.add_argument(
            "--test-csv",
            metavar="PATH",
            help="test rows for --csv (default: a stratified 20%% of the --csv rows)",
        )
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the MNIST-style IDX files")
    p.add_argument(
        "--download", action="store_true", help="download missing MNIST-style files (checksummed)"
    )


def add_input_scale_arg(p: argparse.ArgumentParser) -> None:
    """--unnormalised: the raw pixels, as a learner's post may feed them."""
    p.add_argument(
        "--unnormalised",
        "--unnormalized",
        action="store_true",
        help="feed the raw pixel values (0-16 digits, 0-255 MNIST) instead of standardised ones",
    )


def add_device_arg(p: argparse.ArgumentParser, default: str | None = "cpu") -> None:
    """--device. default=None: the model's own device (or the default device); SUPPRESS: no
    default, so a --device given to an outer parser is kept (the command then uses the default
    device). "cpu" means the default device: $TINYGRAD_DIGITS_DEVICE when set, as in Python."""
    shown = {None: "the model's own device", argparse.SUPPRESS: "cpu"}.get(default, default)
    if default == "cpu":
        default = os.environ.get(DEVICE_VARIABLE) or "cpu"
        shown = f"${DEVICE_VARIABLE} if set, else cpu; now {default}"
    p.add_argument(
        "--device",
        default=default,
        metavar="{cpu,cuda,cuda:N,strict}",
        help=f"where to compute (default {shown})",
    )


def add_seed_arg(p: argparse.ArgumentParser, default: int | str = 0) -> None:
    """--seed, for weight init and batch order; default=SUPPRESS as in add_device_arg."""
    shown = 0 if default == argparse.SUPPRESS else default
    p.add_argument("--seed", type=int, default=default, help=f"random seed (default {shown})")


def init_spec(text: str) -> str:
    from ..training.models import parse_init

    try:
        parse_init(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().lower()


def add_init_args(p: argparse.ArgumentParser) -> None:
    """--init and --no-bias: how a learner's post initialises its MLP, replayable."""
    p.add_argument(
        "--init",
        type=init_spec,
        default="default",
        metavar="SPEC",
        help="MLP weights: default, xavier, kaiming, normal:STD or uniform:LOW,HIGH "
        "(default: each layer's default init)",
    )
    p.add_argument(
        "--init-biases",
        action="store_true",
        help="draw the biases from --init's normal/uniform too (default: biases keep their init)",
    )
    p.add_argument("--no-bias", action="store_true", help="MLP layers without biases")


def init_extra(args: argparse.Namespace, model: str) -> dict[str, Any]:
    """The MLP's --init and --no-bias for its config (only what differs from the default)."""
    if model != "mlp":
        return {}
    extra: dict[str, Any] = {}
    if args.init != "default":
        extra.update(init=args.init, init_biases=bool(args.init_biases))
    if args.no_bias:
        extra["bias"] = False
    return extra


LOSSES = ("cross_entropy", "ce", "mse", "bce")


def add_loss_args(p: argparse.ArgumentParser) -> None:
    """--loss, --output-activation and --l2: the costs learners' posts use, replayable."""
    p.add_argument(
        "--loss",
        default=None,
        choices=LOSSES,
        help="cross_entropy on logits (default; bce for a logic gate's one output); mse: squared "
        "error against one-hot targets "
        "(see --output-activation); bce: a sigmoid per output, binary cross-entropy summed over "
        "the outputs",
    )
    p.add_argument(
        "--output-activation",
        default="auto",
        choices=["auto", "none", "sigmoid"],
        help="applied to the outputs before an mse loss (auto: sigmoid with mse, none otherwise)",
    )
    p.add_argument(
        "--l2",
        type=non_negative_float,
        default=0.0,
        metavar="LAMBDA",
        help="add λ/(2m)·ΣW² to the loss, m = the number of training samples (default 0)",
    )


def default_loss(outputs: int) -> str:
    """The loss when --loss is not given: cross-entropy over the classes, or BCE for a
    network with one output (a logic gate)."""
    return "bce" if outputs == 1 else "cross_entropy"


def make_loss(
    kind: str | None,
    outputs: int,
    *,
    output_activation: str = "auto",
    l2: float = 0.0,
    n: int = 1,
    model: Any = None,
    label_smoothing: float = 0.0,
) -> Callable[[Any, Any], Any]:
    """The loss --loss names for a network with `outputs` outputs, with the λ/(2n)·ΣW²
    penalty of --l2 on `model`'s weights (n = the number of training samples)."""
    from ..nn import functional as F
    from .errors import CLIError

    kind = kind or default_loss(outputs)
    if kind in ("cross_entropy", "ce"):
        if outputs < 2:
            raise CLIError(
                "--loss cross_entropy needs 2 or more outputs; a logic gate has one: use "
                "--loss bce or --loss mse",
                code=2,
            )

        def base(out: Any, target: Any) -> Any:
            return F.cross_entropy(out, target, label_smoothing=label_smoothing)

    elif kind == "bce":
        base = bce_loss
    else:
        squash = output_activation in ("auto", "sigmoid")

        def base(out: Any, target: Any) -> Any:
            pred = out.sigmoid() if squash else out
            t = target.reshape(-1, 1) if outputs == 1 else F.one_hot(target, outputs)
            return F.mse_loss(pred, t.to(out.dtype))

    if not l2:
        return base
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    scale = l2 / (2 * n)

    def penalised(out: Any, target: Any) -> Any:
        return base(out, target) + sum((w * w).sum() for w in weights) * scale

    return penalised


def bce_loss(logits: Any, target: Any) -> Any:
    """--loss bce: a sigmoid per output and binary cross-entropy against one-hot targets,
    summed over the outputs and averaged over the samples (one output: the label is the
    target)."""
    from ..nn import functional as F

    n, c = int(logits.shape[0]), int(logits.shape[1])
    t = target.reshape(n, 1) if c == 1 else F.one_hot(target, c)
    per = F.binary_cross_entropy_with_logits(logits, t.to(logits.dtype), reduction="sum")
    return per / n


OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")


def make_optimizer(
    name: str, params: Any, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
) -> Any:
    """The optimizer --optimizer names. AdamW without a weight decay takes PyTorch's 1e-2."""
    from .. import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay or 1e-2)
    return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)


def add_model_def_arg(p: argparse.ArgumentParser) -> None:
    """--model-def FILE.py:FUNCTION, for models written in Python rather than built by train."""
    p.add_argument(
        "--model-def",
        metavar="FILE.py:FUNCTION",
        help="your own model: the function in FILE.py that returns it (an nn.Module); MODEL is "
        "then its weights, saved with tg.save(model.state_dict(), PATH)",
    )
