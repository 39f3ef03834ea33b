"""`tinygrad-digits doctor`: build an MLP configuration (or load a saved run), run a few steps
on the 8×8 digits, a logic gate, MNIST-style or CSV data, and print the doctor's full report.

    tinygrad-digits doctor --hidden 4,4 --activation sigmoid --loss mse --optimizer sgd --lr 2
    tinygrad-digits doctor --dataset or --hidden 6 --activation sigmoid --no-bias \
        --init normal:0.01 --loss mse --optimizer sgd --lr 1e-6 --batch-size 4
    tinygrad-digits doctor --run runs/digits-mlp

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
from .options import (
    OPTIMIZERS,
    add_data_args,
    add_device_arg,
    add_init_args,
    add_input_scale_arg,
    add_loss_args,
    add_model_def_arg,
    add_seed_arg,
    hidden_sizes,
    make_loss,
    make_optimizer,
    momentum,
    non_negative_float,
    positive_float,
    positive_int,
)

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
    add_init_args(p)
    add_loss_args(p)
    add_data_args(p, "digits", gates=True, test_csv=False)
    p.add_argument(
        "--run",
        metavar="PATH",
        help="diagnose a saved model (a train --out folder or model file) on its own data",
    )
    p.add_argument(
        "--optimizer", default="adam", choices=OPTIMIZERS, help="default adam (a run: its own)"
    )
    p.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="default 0.1 (sgd), 1e-3 (the others); a run: its own",
    )
    p.add_argument("--momentum", type=momentum, default=None, help="SGD momentum (default 0)")
    p.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=None,
        help="the optimizer's L2 penalty (default 0; a run: its own)",
    )
    add_input_scale_arg(p)
    p.add_argument(
        "--upsample",
        action="store_true",
        help="enlarge the 8x8 digits to 28x28 (784 inputs, like MNIST)",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=None,
        help="the training run to diagnose, in steps (default: the doctor looks at 20 steps, "
        "and a loss that leaves its plateau later is not held against the set-up)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="default 64 (a run: its own); the data set's size (or more) for full-batch "
        "gradient descent",
    )
    # No defaults here (SUPPRESS): a --seed or --device given to the main parser before the
    # subcommand is not overwritten; run() falls back to 0 and the default device.
    add_seed_arg(p, argparse.SUPPRESS)
    add_device_arg(p, argparse.SUPPRESS)
    add_model_def_arg(p)
    p.add_argument("--weights", metavar="PATH", help="--model-def's weights (default: as built)")
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


def _data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, int]:
    """(x, y, number of outputs) for the chosen data."""
    from ..data import load_digits_arrays, normalize
    from ..data.arrays import LOGIC_GATES, logic_gate_arrays, upsample_digits
    from ..training.loading import load_data

    if args.dataset in LOGIC_GATES:
        x, y = logic_gate_arrays(args.dataset)
        return x, y, 1
    if args.csv is None and args.dataset == "digits":
        x, y = load_digits_arrays()
        if args.upsample:
            x = upsample_digits(x)
        if not args.unnormalised:
            x = normalize(x, max_value=16)[0]
        return x, y, DIGITS_CLASSES
    train_set, _ = load_data(
        None if args.csv else args.dataset,
        flatten=True,
        csv=args.csv,
        data_dir=args.data_dir,
        download=args.download,
    )
    if args.unnormalised:
        train_set.unnormalise()
    return train_set.data, train_set.targets, len(train_set.classes)


def build(args: argparse.Namespace) -> tuple[Any, Any, Any, np.ndarray, np.ndarray]:
    """(model, loss_fn, optimizer, x, y) for a parsed configuration, or for a saved run."""
    import tinygrad_digits as tg

    from .. import nn
    from ..training.loading import load_model
    from ..training.models import apply_init

    tg.manual_seed(getattr(args, "seed", 0))
    device = getattr(args, "device", None)
    if args.run or args.model_def:
        weights = args.weights if args.model_def else args.run
        model, config = load_model(weights, device=device, model_def=args.model_def)
        model.train()
        args.csv = args.csv or config.get("csv")
        args.dataset = config.get("dataset", "digits") if args.dataset == "digits" else args.dataset
        args.dataset = "digits" if args.dataset == "csv" else args.dataset
        training = config.get("training", {})
        if args.lr is None:  # the run's own optimizer and its settings, unless given
            args.lr = training.get("lr")
            args.optimizer = training.get("optimizer", args.optimizer)
            args.momentum = _unset(args.momentum, training.get("momentum"))
            args.weight_decay = _unset(args.weight_decay, training.get("weight_decay"))
        if args.loss is None:  # and its loss
            args.loss = training.get("loss")
            args.l2 = args.l2 or training.get("l2", 0.0)
        args.unnormalised = args.unnormalised or training.get("unnormalised", False)
        args.batch_size = _unset(args.batch_size, training.get("batch_size"))
        x, y, outputs = _data(args)
        if args.model_def:
            x = _as_custom_input(x, config)
    else:
        x, y, outputs = _data(args)
        model = nn.MLP(
            x.shape[1], args.hidden, outputs, activation=args.activation, bias=not args.no_bias
        )
        if args.init != "default":
            apply_init(model, args.init, biases=args.init_biases)
        if device:
            model.to(device)
    loss_fn = make_loss(
        args.loss,
        outputs,
        output_activation=args.output_activation,
        l2=args.l2,
        n=len(x),
        model=model,
    )
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 1e-3)
    opt = make_optimizer(
        args.optimizer,
        model.parameters(),
        lr,
        momentum=_unset(args.momentum, 0.0),
        weight_decay=_unset(args.weight_decay, 0.0),
    )
    return model, loss_fn, opt, x, y


def _unset(value: Any, default: Any) -> Any:
    """An option's value, or `default` where it was not given (None)."""
    return default if value is None else value


def _as_custom_input(x: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """The digits shaped (and enlarged) as a --model-def model takes them."""
    from ..data.arrays import upsample_digits

    side = config["side"]
    if side == 28 and x.shape[1] == 64:
        x = upsample_digits(x)
    return x if config["flatten_input"] else x.reshape(len(x), 1, side, side)


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
        steps=args.steps or 20,
        batch_size=_unset(args.batch_size, 64),
        num_classes=None,
        seed=getattr(args, "seed", 0),
        steps_are_the_run=args.steps is not None,
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
