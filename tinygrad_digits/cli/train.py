"""`tinygrad-digits train`: train a model, show progress, save it with its plots, print the test
accuracy."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data.arrays import LOGIC_GATES
from ..training.loading import load_data
from .errors import CLIError
from .options import (
    OPTIMIZERS,
    add_cnn_args,
    add_data_args,
    add_device_arg,
    add_init_args,
    add_input_scale_arg,
    add_loss_args,
    cnn_extra,
    default_loss,
    fraction,
    hidden_sizes,
    init_extra,
    make_loss,
    make_optimizer,
    momentum,
    non_negative_float,
    positive_float,
    positive_int,
)

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
    add_data_args(t, "digits", gates=True)
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
    add_init_args(t)
    add_input_scale_arg(t)
    add_loss_args(t)
    t.add_argument(
        "--epochs", type=positive_int, help=f"how many epochs (default {DEFAULTS['epochs']})"
    )
    t.add_argument("--batch-size", type=positive_int, default=DEFAULTS["batch_size"])
    t.add_argument("--lr", type=positive_float, default=DEFAULTS["lr"], help="learning rate")
    t.add_argument("--optimizer", default=DEFAULTS["optimizer"], choices=OPTIMIZERS)
    t.add_argument("--momentum", type=momentum, help="for sgd (default 0.9)")
    t.add_argument("--weight-decay", type=non_negative_float, default=0.0)
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
    t.add_argument(
        "--augment",
        choices=("auto", "on", "off"),
        default="auto",
        help="random small shifts, turns, resizes and pen widths of 28×28 training images "
        "(auto: on for MNIST and 28×28 CSV digits, where it helps photos; off for Fashion-MNIST, "
        "where it did not help held-out accuracy, and for 8×8 digits)",
    )
    add_device_arg(t)
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    t.add_argument(
        "--out",
        metavar="DIR",
        help="run folder (default runs/DATASET-MODEL); when it already holds files the run "
        "goes into a new numbered sub-folder DIR/2, DIR/3, ... (see docs/runs.md)",
    )
    t.add_argument(
        "--overwrite", action="store_true", help="replace the run in --out instead of keeping it"
    )
    t.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the run in folder RUN from its last completed epoch, with its options "
        "(--epochs may raise the number of epochs)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-plots", action="store_true", help="no PNG plots")
    t.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="log scalars and per-layer histograms for TensorBoard (`tensorboard --logdir DIR`; "
        'needs pip install "tinygrad-digits[tensorboard]")',
    )
    t.add_argument("--no-doctor", action="store_true", help="skip the training doctor's checks")
    t.set_defaults(func=run, dataset=None)  # None: not given (digits), see _given_options
    return t


def _optimizer(args: argparse.Namespace, model: Any) -> Any:
    return make_optimizer(
        args.optimizer, model.parameters(), args.lr, args.momentum, args.weight_decay
    )


def _loss(
    args: argparse.Namespace,
    config: dict[str, Any],
    model: Any,
    n: int,
    smoothing: float,
    penalty: bool = True,
) -> Any:
    """The --loss for `model` (--l2's penalty over n training samples, unless not `penalty`:
    the test loss is the data's alone)."""
    return make_loss(
        args.loss,
        int(config["num_classes"]),
        output_activation=args.output_activation,
        l2=args.l2 if penalty else 0.0,
        n=n,
        model=model,
        label_smoothing=smoothing,
    )


def _augments(choice: str, dataset: str, side: int) -> bool:
    """Whether to augment: "auto" where it measured better on held-out data (docs/data.md)."""
    if choice != "auto":
        if choice == "on" and side != 28:
            raise CLIError(f"--augment on works on 28×28 images; these are {side}×{side}", code=2)
        return choice == "on"
    return side == 28 and dataset != "fashion-mnist"


def run(args: argparse.Namespace) -> int:
    """Train into a run folder of its own, save the model with its config, history and plots,
    print the test accuracy. Exit 130 after Ctrl-C (the best and the last completed epoch
    kept), 1 when the loss or a gradient became NaN or inf (nothing new saved).

    ``--overwrite`` of a folder holding a run trains in a staging folder inside it, swapped in
    once the new run is finished or interrupted with an epoch to keep: a kill at any moment
    leaves the earlier run or the new one, whole."""
    from ..training.resume import LAST_NAME
    from ..training.run_folder import (
        RunLock,
        claim_run_folder,
        discard_staging,
        holds_run,
        stage_run,
        swap_in,
    )

    _given_options(args)
    if args.resume:
        args = _resumed_args(args)
    _check_options(args)
    if args.resume:
        folder, why = Path(args.resume), "resuming its last completed epoch"
        fresh = False
        lock = RunLock(folder).acquire()
    else:
        base = args.out if args.out is not None else f"runs/{_dataset_name(args)}-{args.model}"
        existed = Path(base).exists()
        folder, why, lock = claim_run_folder(base, overwrite=args.overwrite)
        fresh = folder != Path(base) or not existed  # made by this run
    with lock:
        staging = stage_run(folder) if args.overwrite and holds_run(folder) else None
        if staging is None:
            code = None  # an exception: a folder this run made and trained nothing into goes
            try:  # (announced inside: a Ctrl-C right after the line is cleaned up too)
                print(f"run folder: {folder} ({why})")
                code = _train(args, folder, folder)
            finally:
                if fresh and code in (None, 130) and not (folder / LAST_NAME).is_file():
                    shutil.rmtree(folder, ignore_errors=True)
                    if code == 130:
                        print(f"removed {folder}/, which held nothing of this run", file=sys.stderr)
            return code
        code = None  # an exception: the staging folder goes, the error is the one line
        try:
            print(f"run folder: {folder} ({why})")
            code = _train(args, staging, folder)
        finally:
            keep = code == 0 or (code == 130 and (staging / LAST_NAME).is_file())
            if keep:
                swap_in(staging, folder)
            else:
                discard_staging(staging)
        if not keep:
            print(f"{folder} keeps the run it held before", file=sys.stderr)
        return code


def _given_options(args: argparse.Namespace) -> None:
    """Note which options were given (a conflict needs to know), then fill in the defaults."""
    for name, default in (("dataset", "digits"), ("momentum", 0.9), ("epochs", DEFAULTS["epochs"])):
        value = getattr(args, name, None)
        setattr(args, f"{name}_given", value is not None)
        setattr(args, name, default if value is None else value)
    if args.loss is None:  # cross-entropy, or BCE for a logic gate's one output
        args.loss = default_loss(1 if args.dataset in LOGIC_GATES else 2)


def _dataset_name(args: argparse.Namespace) -> str:
    return "csv" if args.csv else args.dataset


def _check_options(args: argparse.Namespace) -> None:
    """Refuse conflicting or ignored options before any data is loaded or file written."""
    if args.csv and args.dataset_given:
        raise CLIError("pass either --dataset or --csv, not both", code=2)
    if args.test_csv and not args.csv:
        raise CLIError("--test-csv needs --csv (the training rows)", code=2)
    if args.test_csv:
        _check_csv_sides(args.csv, args.test_csv)
    if args.dataset in LOGIC_GATES and (args.model != "mlp" or args.augment == "on"):
        raise CLIError("a logic gate's rows are no pictures: train it with --model mlp", code=2)
    if args.model != "cnn":
        given = [
            name
            for name, value in (
                ("--channels", args.channels),
                ("--batch-norm/--no-batch-norm", args.batch_norm),
                ("--dropout", args.dropout),
            )
            if value is not None
        ]
        if given:
            raise CLIError(f"{', '.join(given)} only apply to --model cnn", code=2)
    if args.optimizer != "sgd" and args.momentum_given:
        raise CLIError(f"--momentum only applies to --optimizer sgd, not {args.optimizer}", code=2)
    if args.out is not None and not args.out.strip():
        raise CLIError("--out is empty: give a folder name", code=2)
    if args.overwrite and args.resume:
        raise CLIError("--resume continues a run; it can't be combined with --overwrite", code=2)


def _check_csv_sides(csv: str, test_csv: str) -> None:
    """Refuse a --test-csv of another image size from each file's first row, before anything is
    loaded (a pipe can't be peeked at: its size is compared once it is read)."""
    from ..data.csv_digits import csv_image_side

    sides = [(name, csv_image_side(name)) for name in (csv, test_csv)]
    if sides[0][1] is not None and sides[1][1] is not None and sides[0][1] != sides[1][1]:
        (train, a), (test, b) = sides
        raise CLIError(
            f"--csv {train} holds {a}×{a} images ({a * a + 1} fields a row) but --test-csv "
            f"{test} holds {b}×{b} ({b * b + 1} fields a row): they must match",
            code=2,
        )


def _resumed_args(args: argparse.Namespace) -> argparse.Namespace:
    """The options of the run in ``args.resume`` (from its run.json); --epochs may be raised."""
    from ..training.resume import LAST_NAME

    folder = Path(args.resume)
    if not (folder / LAST_NAME).is_file() or not (folder / "run.json").is_file():
        raise CLIError(
            f"{folder}: no {LAST_NAME} and run.json to resume from (a train run folder?)"
        )
    saved = json.loads((folder / "run.json").read_text())["options"]
    epochs = args.epochs if args.epochs_given else saved["epochs"]
    resumed = argparse.Namespace(**{**vars(args), **saved})
    resumed.resume, resumed.epochs, resumed.overwrite = str(folder), epochs, False
    resumed.no_progress, resumed.no_doctor = args.no_progress, True
    return resumed


# the options run.json keeps, so that --resume rebuilds the same run
_RUN_OPTIONS = (
    "dataset", "dataset_given", "csv", "test_csv", "data_dir", "download", "model", "hidden",
    "channels", "batch_norm", "dropout", "activation", "epochs", "batch_size", "lr", "optimizer",
    "momentum", "momentum_given", "weight_decay", "label_smoothing", "val_fraction", "device",
    "seed", "no_plots", "init", "init_biases", "no_bias", "loss", "output_activation", "l2",
    "unnormalised",
)  # fmt: skip


def _train(args: argparse.Namespace, out: Path, shown: Path) -> int:
    """Train into ``out``; messages name ``shown``, where the files will be (``out`` is a
    staging folder when --overwrite replaces a run)."""
    import tinygrad_digits as tg

    from ..data import DataLoader, split_dataset
    from ..data.augment import Augmented, RandomDistortion
    from ..doctor import run_doctor_checks
    from ..training.guards import NonFiniteError
    from ..training.loop import fit, report
    from ..training.models import build_model, describe, input_is_flat, make_config
    from ..training.resume import LAST_NAME, resume_training
    from ..training.run_folder import write_json

    started = time.perf_counter()
    if out == shown:
        say = print
    else:  # a staging folder: name the files where they will be

        def say(line: Any) -> None:
            print(str(line).replace(str(out), str(shown)))

    run_info = {"options": {k: getattr(args, k) for k in _RUN_OPTIONS}, "status": "running"}
    if not args.resume:
        write_json(out / "run.json", run_info)
    device = tg.get_device(args.device)
    tg.manual_seed(args.seed)
    dataset_name = _dataset_name(args)
    flat = input_is_flat({"model": args.model})
    train_full, test_set = load_data(
        args.dataset,
        flatten=flat,
        csv=args.csv,
        test_csv=args.test_csv,
        data_dir=args.data_dir,
        download=args.download,
    )
    if args.unnormalised:  # the raw pixels (a gate's four rows are raw already)
        for dataset in {id(d): d for d in (train_full, test_set)}.values():
            dataset.unnormalise()
    if test_set.side != train_full.side:
        raise CLIError(
            f"--test-csv holds {test_set.side}×{test_set.side} images but --csv holds "
            f"{train_full.side}×{train_full.side}: they must match"
        )
    if args.val_fraction > 0 and train_full.side is not None:  # a gate has no rows to spare
        train_set, val_set = split_dataset(train_full, args.val_fraction, seed=args.seed)
    else:
        train_set, val_set = train_full, None
    augment = _augments(args.augment, dataset_name, train_full.side)
    if augment:
        train_set = Augmented(train_set, RandomDistortion(seed=args.seed))
    config = make_config(
        args.model,
        side=train_full.side,
        num_classes=train_full.num_classes,
        in_features=train_full.in_features,
        hidden=args.hidden,
        activation=args.activation,
        **cnn_extra(args, args.model),
        **init_extra(args, args.model),
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
            "loss": args.loss,
            "output_activation": args.output_activation,
            "l2": args.l2,
            "unnormalised": args.unnormalised,
            "momentum": args.momentum if args.optimizer == "sgd" else None,
            "weight_decay": args.weight_decay,
            "val_fraction": args.val_fraction,
            "augment": augment,
            "seed": args.seed,
        },
    )
    model = build_model(config, device=device)
    optimizer = _optimizer(args, model)
    smoothing = args.label_smoothing if args.loss in ("cross_entropy", "ce") else 0.0
    loss_fn = _loss(args, config, model, len(train_set), smoothing)

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
    if smoothing:
        print(
            f"train and val losses include label smoothing {smoothing:g}; the test loss at the "
            "end is plain cross-entropy, so it reads lower"
        )
    if not args.no_doctor:
        run_doctor_checks(
            model, train_loader, loss_fn=loss_fn, optimizer=optimizer, config=config, log=print
        )
    resumed = None
    if args.resume:
        resumed = resume_training(out / LAST_NAME, model, optimizer, train_loader)
        if resumed.epoch >= args.epochs:
            raise CLIError(
                f"{shown} already finished epoch {resumed.epoch} of {args.epochs}: pass a larger "
                "--epochs to train on"
            )
        print(f"resuming after epoch {resumed.epoch} of {args.epochs}")
    try:
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
            log=say,
            initial_epoch=resumed.epoch if resumed else 0,
            history=resumed.history if resumed else None,
        )
    except NonFiniteError as exc:
        write_json(out / "run.json", {**run_info, "status": "stopped: non-finite"})
        print(f"stopped: {exc}", file=sys.stderr)
        print("doctor, on a fresh model with the same options:", file=sys.stderr)
        fresh = build_model(config, device=device)
        run_doctor_checks(
            fresh,
            train_loader,
            loss_fn=_loss(args, config, fresh, len(train_set), smoothing),
            optimizer=_optimizer(args, fresh),
            config=config,
            log=lambda line: print(line, file=sys.stderr),
        )
        return 1
    if history.interrupted:
        write_json(out / "run.json", {**run_info, "status": "interrupted"})
        print(_kept(shown, history), file=sys.stderr)
        return 130
    test_loader = DataLoader(test_set, 1000, device=device)
    result = report(
        model,
        test_loader,
        train_full.classes,
        out_dir=None if args.no_plots else out,
        title="test",
        log=say,
        loss_fn=_loss(args, config, model, len(train_set), 0.0, penalty=False),
    )
    results = {
        "test_accuracy": result.accuracy,
        "test_loss": result.loss,
        "best_epoch": history.best_epoch,
        "seconds": time.perf_counter() - started,
    }
    write_json(out / "results.json", results)  # last: its presence says the run is complete
    write_json(out / "run.json", {**run_info, "status": "complete"})
    correct = int(np.trace(result.confusion))
    print(f"saved model, config, history and plots in {shown}/")
    print(
        f"test accuracy: {result.accuracy:.2%} ({correct}/{len(test_set)}) "
        f"in {results['seconds']:.1f}s"
    )
    return 0


def _kept(out: Path, history: Any) -> str:
    """What an interrupted run left in its folder, and how to go on."""
    done = len(history.epochs)
    if not done:
        return f"interrupted before the first epoch ended: nothing was saved in {out}/"
    best = history.best_epoch or done
    return (
        f"interrupted: kept the best epoch ({best}) in {out}/model.safetensors and the last "
        f"completed epoch ({done}) in {out}/last.safetensors; continue with "
        f"`tinygrad-digits train --resume {out}`"
    )
