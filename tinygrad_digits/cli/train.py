"""`tinygrad-digits train`: train a model, show progress, save it with its plots, print the test
accuracy."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..training.loading import load_data
from .errors import CLIError
from .options import (
    add_cnn_args,
    add_data_args,
    add_device_arg,
    cnn_extra,
    fraction,
    hidden_sizes,
    positive_float,
    positive_int,
)

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
# Defaults of `train`, tuned on the 8×8 digits: ~1 s of training for ~98% test accuracy.
DEFAULTS = {
    "hidden": "128,64",
    "activation": "relu",
    "epochs": 40,
    "batch_size": 32,
    "lr": 1e-3,
    "optimizer": "adam",
    "label_smoothing": 0.1,
    "val_fraction": 0.1,
    "seed": 0,
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `train` command to an argparse subparsers object; it sets `func=run`."""
    from ..training.models import ACTIVATIONS, MODELS

    t = subparsers.add_parser(
        "train",
        help="train a model and report its test accuracy",
        description="Train a model (default: MLP 128-64 on sklearn's 8×8 digits), show progress, "
        "save the model, its config, history and plots in --out, and print the test accuracy.",
    )
    add_data_args(t, "digits")
    t.add_argument("--model", default="mlp", choices=sorted(MODELS), help="architecture")
    t.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=None,
        metavar="SIZES",
        help=f"hidden layer sizes, comma-separated (default {DEFAULTS['hidden']}; cnn: the "
        "dense layers after the convolutions, default 128)",
    )
    add_cnn_args(t)
    t.add_argument("--activation", default=DEFAULTS["activation"], choices=ACTIVATIONS)
    t.add_argument("--epochs", type=positive_int, default=DEFAULTS["epochs"])
    t.add_argument("--batch-size", type=positive_int, default=DEFAULTS["batch_size"])
    t.add_argument("--lr", type=positive_float, default=DEFAULTS["lr"], help="learning rate")
    t.add_argument("--optimizer", default=DEFAULTS["optimizer"], choices=OPTIMIZERS)
    t.add_argument("--momentum", type=float, default=0.9, help="for sgd (default 0.9)")
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument(
        "--label-smoothing",
        type=fraction,
        default=DEFAULTS["label_smoothing"],
        help=f"cross-entropy label smoothing (default {DEFAULTS['label_smoothing']})",
    )
    t.add_argument(
        "--val-fraction",
        type=fraction,
        default=DEFAULTS["val_fraction"],
        help="share of the training data held out to pick the best epoch (0: none)",
    )
    add_device_arg(t)
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    t.add_argument("--out", metavar="DIR", help="output folder (default runs/DATASET-MODEL)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-plots", action="store_true", help="no PNG plots")
    t.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="log scalars and per-layer histograms for TensorBoard (`tensorboard --logdir DIR`; "
        'needs pip install "tinygrad-digits[tensorboard]")',
    )
    t.add_argument("--no-doctor", action="store_true", help="skip the training doctor's checks")
    t.set_defaults(func=run)
    return t


def _optimizer(name: str, params: Any, args: argparse.Namespace) -> Any:
    from .. import optim

    if name == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay or 1e-2)
    return optim.RMSprop(params, lr=args.lr, weight_decay=args.weight_decay)


def run(args: argparse.Namespace) -> int:
    """Train, save the model with its config, history and plots, print the test accuracy."""
    import tinygrad_digits as tg

    from ..data import DataLoader, split_dataset
    from ..doctor import run_doctor_checks
    from ..nn import functional as F
    from ..training.loop import fit, report
    from ..training.models import build_model, describe, input_is_flat, make_config

    started = time.perf_counter()
    device = tg.get_device(args.device)
    tg.manual_seed(args.seed)
    if args.csv and args.dataset != "digits":
        raise CLIError("pass either --dataset or --csv, not both", code=2)
    dataset_name = "csv" if args.csv else args.dataset
    flat = input_is_flat({"model": args.model})
    train_full, test_set = load_data(
        args.dataset,
        flatten=flat,
        csv=args.csv,
        test_csv=args.test_csv,
        data_dir=args.data_dir,
        download=args.download,
    )
    if args.val_fraction > 0:
        train_set, val_set = split_dataset(train_full, args.val_fraction, seed=args.seed)
    else:
        train_set, val_set = train_full, None
    config = make_config(
        args.model,
        side=train_full.side,
        num_classes=train_full.num_classes,
        hidden=args.hidden,
        activation=args.activation,
        **cnn_extra(args, args.model),
        dataset=dataset_name,
        csv=str(Path(args.csv).resolve()) if args.csv else None,
        test_csv=str(Path(args.test_csv).resolve()) if args.test_csv else None,
        data_dir=str(Path(args.data_dir).resolve()) if args.data_dir else None,
        classes=list(train_full.classes),
        normalization=train_full.normalization,
        training={
            "optimizer": args.optimizer,
            "lr": args.lr,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "label_smoothing": args.label_smoothing,
            "weight_decay": args.weight_decay,
            "val_fraction": args.val_fraction,
            "seed": args.seed,
        },
    )
    out = Path(args.out or f"runs/{dataset_name}-{args.model}")
    model = build_model(config, device=device)
    optimizer = _optimizer(args.optimizer, model.parameters(), args)
    smoothing = args.label_smoothing

    def loss_fn(logits: Any, target: Any) -> Any:
        return F.cross_entropy(logits, target, label_smoothing=smoothing)

    train_loader = DataLoader(
        train_set, args.batch_size, shuffle=True, seed=args.seed, device=device
    )
    val_loader = DataLoader(val_set, 1000, device=device) if val_set is not None else None
    n_params = sum(p.numel() for p in model.parameters())
    sizes = describe(config)
    print(
        f"{dataset_name}: {len(train_set)} training, "
        f"{len(val_set) if val_set is not None else 0} validation, {len(test_set)} test images; "
        f"{args.model} {sizes} ({args.activation}, {n_params:,} parameters) on {device}"
    )
    if not args.no_doctor:
        run_doctor_checks(
            model, train_loader, loss_fn=loss_fn, optimizer=optimizer, config=config, log=print
        )
    history = fit(
        model,
        train_loader,
        val_loader,
        optimizer,
        loss_fn=loss_fn,
        epochs=args.epochs,
        progress=not args.no_progress,
        out_dir=out,
        config=config,
        plots=not args.no_plots,
        tensorboard=args.tensorboard,
    )
    test_loader = DataLoader(test_set, 1000, device=device)
    result = report(
        model,
        test_loader,
        train_full.classes,
        out_dir=None if args.no_plots else out,
        title="test",
    )
    results = {
        "test_accuracy": result.accuracy,
        "test_loss": result.loss,
        "best_epoch": history.best_epoch,
        "seconds": time.perf_counter() - started,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    correct = int(np.trace(result.confusion))
    print(f"saved model, config, history and plots in {out}/")
    print(
        f"test accuracy: {result.accuracy:.2%} ({correct}/{len(test_set)}) "
        f"in {results['seconds']:.1f}s"
    )
    return 0
