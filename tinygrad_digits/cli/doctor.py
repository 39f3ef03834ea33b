"""`tinygrad-digits doctor`: build an MLP configuration, run a few steps on the 8×8 digits and
print the doctor's full report.

    tinygrad-digits doctor --hidden 4,4 --activation sigmoid --loss mse --optimizer sgd --lr 2

Exit status: 0 when nothing of warning severity was found, 1 when something was, 2 for bad
arguments (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from ..nn.layers import ACTIVATIONS
from .options import add_device_arg, add_seed_arg, hidden_sizes, positive_float, positive_int

DIGITS_CLASSES = 10


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The doctor's options, on any parser (the subcommand's, or a standalone one)."""
    p.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=[128, 64],
        metavar="W1,W2,...",
        help="hidden layer widths (default 128,64; 4,4 makes a 64-4-4-10 network)",
    )
    p.add_argument(
        "--activation",
        default="relu",
        choices=ACTIVATIONS,
        help="hidden activation (default relu)",
    )
    p.add_argument(
        "--loss",
        default="cross_entropy",
        choices=["cross_entropy", "ce", "mse"],
        help="cross_entropy on logits (default), or mse: squared error against one-hot targets",
    )
    p.add_argument(
        "--output-activation",
        default="auto",
        choices=["auto", "none", "sigmoid"],
        help="applied to the outputs before an mse loss (auto: sigmoid with mse, none otherwise)",
    )
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"], help="default adam")
    p.add_argument(
        "--lr", type=positive_float, default=None, help="default 1e-3 (adam) or 0.1 (sgd)"
    )
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default 0)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty (default 0)")
    p.add_argument(
        "--unnormalised",
        "--unnormalized",
        action="store_true",
        help="feed the raw 0-16 pixel values instead of standardised ones",
    )
    p.add_argument(
        "--upsample",
        action="store_true",
        help="enlarge the 8x8 digits to 28x28 (784 inputs, like MNIST)",
    )
    p.add_argument("--steps", type=positive_int, default=20, help="training steps (default 20)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="default 64")
    # No defaults here (SUPPRESS): a --seed or --device given to the main parser before the
    # subcommand is not overwritten; run() falls back to 0 and the default device.
    add_seed_arg(p, argparse.SUPPRESS)
    add_device_arg(p, argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the `doctor` subcommand on an argparse subparsers object; returns its parser.
    It sets `func=run` (as the other subcommands do); run(args) returns the exit status."""
    p = subparsers.add_parser(
        "doctor",
        help="run a few training steps of a configuration and explain why it does not learn",
        description=(
            "Build an MLP for the 8x8 digits with the given configuration, train it for a few "
            "steps, and print what the doctor measured: input scale, bottlenecks, the "
            "output/loss pairing, saturated or dead units, gradient and update sizes per layer, "
            "and the loss and predictions. Exit status 1 when it finds a problem."
        ),
    )
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def build(args: argparse.Namespace) -> tuple[Any, Any, Any, np.ndarray, np.ndarray]:
    """(model, loss_fn, optimizer, x, y) for a parsed configuration."""
    import tinygrad_digits as tg

    from .. import nn, optim
    from ..data import load_digits_arrays, normalize
    from ..data.arrays import upsample_digits
    from ..nn import functional as F

    tg.manual_seed(getattr(args, "seed", 0))
    x, y = load_digits_arrays()
    if args.upsample:
        x = upsample_digits(x)
    if not args.unnormalised:
        x = normalize(x, max_value=16)[0]
    model = nn.MLP(x.shape[1], args.hidden, DIGITS_CLASSES, activation=args.activation)
    device = getattr(args, "device", None)
    if device:
        model.to(device)
    if args.loss in ("cross_entropy", "ce"):
        loss_fn = F.cross_entropy
    else:
        squash = args.output_activation in ("auto", "sigmoid")

        def loss_fn(out: Any, target: Any) -> Any:
            pred = out.sigmoid() if squash else out
            return F.mse_loss(pred, F.one_hot(target, DIGITS_CLASSES).to(out.dtype))

    params = model.parameters()
    if args.optimizer == "sgd":
        lr = args.lr if args.lr is not None else 0.1
        opt = optim.SGD(params, lr=lr, momentum=args.momentum, weight_decay=args.weight_decay)
    else:
        lr = args.lr if args.lr is not None else 1e-3
        opt = optim.Adam(params, lr=lr, weight_decay=args.weight_decay)
    return model, loss_fn, opt, x, y


def run(args: argparse.Namespace) -> int:
    """Run the doctor for parsed arguments; print the report; 1 if it found a problem."""
    from ..doctor.runner import diagnose

    model, loss_fn, opt, x, y = build(args)
    report = diagnose(
        model,
        x,
        y,
        loss_fn,
        opt,
        steps=args.steps,
        batch_size=args.batch_size,
        num_classes=DIGITS_CLASSES,
        seed=getattr(args, "seed", 0),
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        report.print()
    sys.stdout.flush()
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    """`tinygrad-digits doctor [options]` from Python: the CLI's own entry point, so parsing,
    errors and exit codes are the command's."""
    from .entry import main as cli_main

    return cli_main(["doctor", *(argv or [])])


__all__ = ["add_arguments", "add_parser", "build", "main", "run"]
