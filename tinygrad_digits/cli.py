"""`tinygrad-digits`: train, evaluate, predict, gradcheck (and graph) from the command line.

    tinygrad-digits train                      # 8×8 digits, MLP 128-64, ~98% test accuracy
    tinygrad-digits evaluate runs/digits
    tinygrad-digits predict runs/digits my_digit.png --json
    tinygrad-digits gradcheck

Every failure a user can cause (a bad argument, path, data or model file, a missing device or
optional package) ends with one line on stderr and a non-zero exit code, never a traceback;
``--debug`` (or TINYGRAD_DIGITS_DEBUG=1) shows the traceback for bug reports.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PROG = "tinygrad-digits"
DATASETS = ("digits", "mnist", "fashion-mnist")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
# Modules adding a subcommand: each has add_parser(subparsers), which sets func=run(args) -> int.
PLUGIN_COMMANDS = (".viz.cli_graph", ".doctor.cli_doctor")
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


class CLIError(Exception):
    """A problem with the user's input, reported as one line (exit code 2 for usage errors)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --- arguments ---------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the message and where to get help, no usage block."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _hidden(text: str) -> list[int]:
    from .models import parse_hidden

    try:
        return parse_hidden(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _channels(text: str) -> list[int]:
    sizes = _hidden(text)
    if not sizes:
        raise argparse.ArgumentTypeError("--channels needs at least one width, like 32,64")
    return sizes


def _add_cnn_args(p: argparse.ArgumentParser) -> None:
    """Options of --model cnn (ignored by the MLP); unset ones take models.CNN_DEFAULTS."""
    from .models import CNN_DEFAULTS

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
        type=_fraction,
        metavar="P",
        help=f"cnn: dropout before and inside the dense head (default {CNN_DEFAULTS['dropout']})",
    )


def _cnn_extra(args: argparse.Namespace, model: str) -> dict[str, Any]:
    """The CNN options the user gave (make_config fills in the rest)."""
    if model != "cnn":
        return {}
    return {
        "channels": args.channels,
        "batch_norm": args.batch_norm,
        "dropout": args.dropout,
    }


def _dataset_name(text: str) -> str:
    name = text.strip().lower().replace("_", "-")
    name = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}.get(name, name)
    if name not in DATASETS:
        raise argparse.ArgumentTypeError(
            f"unknown dataset {text!r}; choose one of: {', '.join(DATASETS)} (or --csv PATH)"
        )
    return name


def _add_data_args(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument(
        "--dataset",
        type=_dataset_name,
        default=default,
        metavar="{digits,mnist,fashion-mnist}",
        help="built-in 8×8 digits (sklearn, no download), MNIST or Fashion-MNIST"
        + (f" (default {default})" if default else " (default: the one the model was trained on)"),
    )
    p.add_argument("--csv", metavar="PATH", help="digits from a CSV file (label, then pixels)")
    p.add_argument(
        "--test-csv",
        metavar="PATH",
        help="test rows for --csv (default: a stratified 20%% of the --csv rows)",
    )
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the MNIST-style IDX files")
    p.add_argument(
        "--download", action="store_true", help="download missing MNIST-style files (checksummed)"
    )


def _add_device_arg(p: argparse.ArgumentParser, default: str | None = "cpu") -> None:
    p.add_argument(
        "--device",
        default=default,
        metavar="{cpu,cuda,cuda:N,strict}",
        help=f"where to compute (default {default or 'the device the model was trained on'})",
    )


def build_parser() -> argparse.ArgumentParser:
    from .models import ACTIVATIONS, MODELS

    parser = _Parser(
        prog=PROG,
        description="Train and use handwritten-digit recognisers built on tinygrad_digits.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser(
        "train",
        help="train a model and report its test accuracy",
        description="Train a model (default: MLP 128-64 on sklearn's 8×8 digits), show progress, "
        "save the model, its config, history and plots in --out, and print the test accuracy.",
    )
    _add_data_args(t, "digits")
    t.add_argument("--model", default="mlp", choices=sorted(MODELS), help="architecture")
    t.add_argument(
        "--hidden",
        type=_hidden,
        default=None,
        metavar="SIZES",
        help=f"hidden layer sizes, comma-separated (default {DEFAULTS['hidden']}; cnn: the "
        "dense layers after the convolutions, default 128)",
    )
    _add_cnn_args(t)
    t.add_argument("--activation", default=DEFAULTS["activation"], choices=ACTIVATIONS)
    t.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"])
    t.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"])
    t.add_argument("--lr", type=_positive_float, default=DEFAULTS["lr"], help="learning rate")
    t.add_argument("--optimizer", default=DEFAULTS["optimizer"], choices=OPTIMIZERS)
    t.add_argument("--momentum", type=float, default=0.9, help="for sgd (default 0.9)")
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument(
        "--label-smoothing",
        type=_fraction,
        default=DEFAULTS["label_smoothing"],
        help=f"cross-entropy label smoothing (default {DEFAULTS['label_smoothing']})",
    )
    t.add_argument(
        "--val-fraction",
        type=_fraction,
        default=DEFAULTS["val_fraction"],
        help="share of the training data held out to pick the best epoch (0: none)",
    )
    _add_device_arg(t)
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    t.add_argument("--out", metavar="DIR", help="output folder (default runs/DATASET-MODEL)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-plots", action="store_true", help="no PNG plots")
    t.add_argument("--no-doctor", action="store_true", help="skip the training doctor's checks")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "evaluate",
        help="accuracy and confusion matrix of a saved model",
        description="Rebuild a saved model from its config and report loss, accuracy and the "
        "confusion matrix on the test set of the data it was trained on (or another one).",
    )
    e.add_argument("model", metavar="MODEL", help="model file, or the --out folder of train")
    _add_data_args(e, None)
    _add_device_arg(e, "cpu")
    e.add_argument("--batch-size", type=_positive_int, default=1000)
    e.add_argument("--out", metavar="DIR", help="save the confusion matrix PNG here")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "predict",
        help="read the digit in image files",
        description="Preprocess each picture as the training images were made (greyscale, ink "
        "light on dark, cropped, scaled and centred; 8×8 for digits models, 28×28 for MNIST-style "
        "ones), then print the predicted class and the top-3 probabilities.",
    )
    p.add_argument("model", metavar="MODEL", help="model file, or the --out folder of train")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="PNG/JPEG/BMP files")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--top", type=_positive_int, default=3, help="how many classes to list")
    p.add_argument(
        "--show-input",
        metavar="PATH",
        help="save what the network sees as PNG (a folder when several images are given)",
    )
    inv = p.add_mutually_exclusive_group()
    inv.add_argument("--invert", dest="invert", action="store_true", default=None)
    inv.add_argument("--no-invert", dest="invert", action="store_false")
    _add_device_arg(p, "cpu")
    p.set_defaults(func=cmd_predict)

    g = sub.add_parser(
        "gradcheck",
        help="check backprop against finite differences on a real batch",
        description="Build the default MLP (or a saved one) in float64, take a real batch, and "
        "compare each parameter's backprop gradient with central finite differences along "
        "random directions. Prints the worst relative error per parameter and PASS/FAIL.",
    )
    g.add_argument("model", metavar="MODEL", nargs="?", help="a saved model (default: a new MLP)")
    g.add_argument(
        "--model",
        dest="new_model",
        default="mlp",
        choices=sorted(MODELS),
        help="architecture of the new model checked when no MODEL file is given",
    )
    g.add_argument("--hidden", type=_hidden, default=None, metavar="SIZES")
    _add_cnn_args(g)
    g.add_argument("--activation", default=DEFAULTS["activation"], choices=ACTIVATIONS)
    g.add_argument("--batch-size", type=_positive_int, default=32)
    g.add_argument("--directions", type=_positive_int, default=3, help="per parameter")
    g.add_argument("--tolerance", type=_positive_float, default=1e-5, help="max relative error")
    g.add_argument("--seed", type=int, default=0)
    _add_device_arg(g, "cpu")
    g.set_defaults(func=cmd_gradcheck)

    for module in PLUGIN_COMMANDS:  # commands that live with their own code
        try:
            plugin = importlib.import_module(module, __package__)
        except ImportError:
            continue
        plugin.add_parser(sub)
    return parser


# --- data ----------------------------------------------------------------------------------
def load_data(
    dataset: str | None,
    *,
    flatten: bool,
    csv: str | None = None,
    test_csv: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    train: bool = True,
    normalization: dict[str, float] | None = None,
) -> tuple[Any, Any]:
    """(training set or None, test set) as torch-style datasets, normalised from the training
    data (or with ``normalization`` from a saved config, so evaluation matches training)."""
    from .data import MNIST, CSVDigits, Digits, FashionMNIST

    stats = normalization or {}
    mean, std = stats.get("mean"), stats.get("std")
    if csv is not None:
        if test_csv is not None:
            train_set = (
                CSVDigits(csv, "all", flatten=flatten, mean=mean, std=std) if train else None
            )
            ref = train_set if train_set is not None else None
            m = ref.mean if ref is not None else mean
            s = ref.std if ref is not None else std
            test_set = CSVDigits(test_csv, "all", flatten=flatten, mean=m, std=s)
            return train_set, test_set
        train_set = CSVDigits(csv, "train", flatten=flatten, mean=mean, std=std) if train else None
        return train_set, CSVDigits(csv, "test", flatten=flatten, mean=mean, std=std)
    if dataset in (None, "digits"):
        train_set = Digits(True, flatten=flatten, mean=mean, std=std) if train else None
        return train_set, Digits(False, flatten=flatten, mean=mean, std=std)
    cls = MNIST if dataset == "mnist" else FashionMNIST
    kw = {"flatten": flatten, "mean": mean, "std": std, "download": download}
    train_set = cls(data_dir, train=True, **kw) if train else None
    return train_set, cls(data_dir, train=False, **kw)


# --- model files --------------------------------------------------------------------------
def _model_path(text: str) -> Path:
    from .train import CHECKPOINT_NAME

    path = Path(text)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
        if not path.is_file():
            raise CLIError(f"{text}: folder has no {CHECKPOINT_NAME} (is it a train --out folder?)")
    elif not path.exists():
        raise CLIError(f"{text}: no such model file or folder")
    return path


def load_model(text: str, device: Any = None, dtype: Any = None) -> tuple[Any, dict[str, Any]]:
    """(model in eval mode, config) from a saved model file or train --out folder."""
    from .models import build_model
    from .train import load_checkpoint

    path = _model_path(text)
    config, state = load_checkpoint(path, map_location=device)
    if not config.get("model") or not config.get("in_features"):
        raise CLIError(
            f"{path}: the model file carries no config (model, in_features, ...) and there is "
            "no config.json beside it; save models with train.save_checkpoint"
        )
    model = build_model(config, device=device, dtype=dtype)
    model.load_state_dict(state)
    model.eval()
    return model, config


# --- train --------------------------------------------------------------------------------
def _optimizer(name: str, params: Any, args: argparse.Namespace) -> Any:
    from . import optim

    if name == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay or 1e-2)
    return optim.RMSprop(params, lr=args.lr, weight_decay=args.weight_decay)


def run_doctor_checks(
    model: Any,
    loader: Any,
    *,
    loss_fn: Callable[..., Any],
    optimizer: Any,
    config: dict[str, Any],
    log: Callable[[str], Any] = print,
) -> None:
    """Hand the model and a loader to the training doctor before training, if it is installed.

    The doctor (``tinygrad_digits.doctor.run_doctor_checks``, same keyword arguments) looks for
    the classic mistakes (unscaled inputs, saturated activations, a bad learning rate...) and
    reports them through ``log``. It is optional: when the module or the function is missing
    nothing happens, and a doctor failure is reported but never stops training.
    """
    try:
        from . import doctor
    except ImportError:
        return
    check = getattr(doctor, "run_doctor_checks", None)
    if check is None:
        return
    try:
        check(model, loader, loss_fn=loss_fn, optimizer=optimizer, config=config, log=log)
    except Exception as exc:  # the doctor must never cost a training run
        log(f"doctor: checks skipped ({type(exc).__name__}: {exc})")


def cmd_train(args: argparse.Namespace) -> int:
    import tinygrad_digits as tg

    from .data import DataLoader, split_dataset
    from .models import build_model, describe, input_is_flat, make_config
    from .nn import functional as F
    from .train import fit, report

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
        **_cnn_extra(args, args.model),
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


# --- evaluate -----------------------------------------------------------------------------
def _data_for(args: argparse.Namespace, config: dict[str, Any]) -> Any:
    from .models import input_is_flat

    flat = input_is_flat(config)
    csv, test_csv = args.csv, args.test_csv
    dataset = args.dataset
    if csv is None and dataset is None:  # the data the model was trained on
        dataset = config.get("dataset", "digits")
        if dataset == "csv":
            csv, test_csv = config.get("csv"), config.get("test_csv")
            if csv is None:
                raise CLIError("the model was trained on a CSV file: pass it with --csv PATH")
    _, test_set = load_data(
        None if dataset == "csv" else dataset,
        flatten=flat,
        csv=csv,
        test_csv=test_csv,
        data_dir=args.data_dir or config.get("data_dir"),
        download=args.download,
        train=False,
        normalization=config.get("normalization"),
    )
    if test_set.side * test_set.side != config["in_features"]:
        raise CLIError(
            f"the model takes {config['side']}×{config['side']} images but the test data has "
            f"{test_set.side}×{test_set.side}; pick the dataset it was trained on"
        )
    return test_set


def cmd_evaluate(args: argparse.Namespace) -> int:
    import tinygrad_digits as tg

    from .data import DataLoader
    from .train import report

    device = tg.get_device(args.device)
    model, config = load_model(args.model, device=device)
    test_set = _data_for(args, config)
    print(f"{config.get('dataset', '?')} test set: {len(test_set)} images")
    report(
        model,
        DataLoader(test_set, args.batch_size, device=device),
        config.get("classes"),
        out_dir=args.out,
    )
    return 0


# --- predict ------------------------------------------------------------------------------
def _input_paths(show: str | None, images: Sequence[str]) -> list[Path | None]:
    """Where to save what the network sees for each image (None: don't)."""
    if show is None:
        return [None] * len(images)
    target = Path(show)
    if len(images) == 1 and not target.is_dir():
        return [target]
    target.mkdir(parents=True, exist_ok=True)
    return [target / f"{Path(image).stem}_input.png" for image in images]


def model_input(
    pixels: np.ndarray, config: dict[str, Any]
) -> np.ndarray:  # (n, side, side) from preprocess_digit_image
    """Normalise preprocessed pictures exactly as the training images were (see data docs)."""
    from .data import normalize_images
    from .models import input_is_flat

    side = int(config["side"])
    stats = config.get("normalization") or {}
    unit = pixels / 16.0 if side == 8 else pixels  # preprocess gives 0–16 (8×8) or 0–1 (28×28)
    return normalize_images(
        unit.reshape(len(unit), side, side),
        1.0,
        float(stats.get("mean", 0.0)),
        float(stats.get("std", 1.0)),
        flatten=input_is_flat(config),
    )


def cmd_predict(args: argparse.Namespace) -> int:
    import tinygrad_digits as tg

    from .autograd import no_grad
    from .data import preprocess_digit_image

    device = tg.get_device(args.device)
    model, config = load_model(args.model, device=device)
    side = int(config["side"])
    if side not in (8, 28):
        raise CLIError(f"predict handles 8×8 and 28×28 models; this one takes {side}×{side}")
    classes = [str(c) for c in config.get("classes") or range(config["num_classes"])]
    saves = _input_paths(args.show_input, args.images)
    pixels = np.stack(
        [
            preprocess_digit_image(image, size=side, invert=args.invert, save_path=save)
            for image, save in zip(args.images, saves)
        ]
    )
    with no_grad():
        logits = model(tg.tensor(model_input(pixels, config), device=device))
        probs = logits.softmax(1).cpu().numpy().astype(np.float64)
    top = min(args.top, probs.shape[1])
    results = []
    for image, p, save in zip(args.images, probs, saves):
        order = np.argsort(-p, kind="stable")[:top]
        entry: dict[str, Any] = {
            "image": image,
            "prediction": int(order[0]),
            "label": classes[order[0]],
            "top": [
                {"class": int(k), "label": classes[k], "probability": round(float(p[k]), 6)}
                for k in order
            ],
        }
        if save is not None:
            entry["input_image"] = str(save)
        results.append(entry)
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
        return 0
    width = max(len(r["image"]) for r in results)
    for r in results:
        tops = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in r["top"])
        line = f"{r['image']:<{width}}  {r['label']}   (top {top}: {tops})"
        if "input_image" in r:
            line += f"  [input saved to {r['input_image']}]"
        print(line)
    return 0


# --- gradcheck ----------------------------------------------------------------------------
def _directional_errors(
    model: Any, x: Any, y: Any, directions: int, seed: int, eps: float = 1e-6
) -> list[tuple[str, tuple[int, ...], float]]:
    """(name, shape, worst relative error) per parameter: backprop's <grad, u> against the
    central difference (L(p + eps u) - L(p - eps u)) / 2 eps along random unit directions u.

    A direction whose difference disagrees is retried with eps / 10 and eps / 100 and keeps
    its best agreement: a kink (a ReLU at 0, a max-pool window whose top two values are
    within the step) inside the step spoils one eps but not all, while a wrong backward
    disagrees at every eps. CNNs on 28×28 images need this: quantised pixels give near-ties.
    """
    import tinygrad_digits as tg

    from .autograd import no_grad
    from .nn import functional as F

    def loss_at(p: Any, value: Any) -> float:
        with no_grad():
            p.copy_(value)
            return F.cross_entropy(model(x), y).item()

    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    rng = np.random.default_rng(seed)
    rows = []
    for name, p in model.named_parameters():
        grad = p.grad.cpu().numpy() if p.grad is not None else np.zeros(p.shape)
        original = p.detach().clone()
        worst = 0.0
        for _ in range(directions):
            u = rng.standard_normal(p.shape)
            u /= np.linalg.norm(u)
            analytic = float(np.sum(grad * u))
            best = float("inf")
            for step_size in (eps, eps / 10, eps / 100):
                step = tg.tensor(u * step_size, dtype=p.dtype, device=p.device)
                plus, minus = loss_at(p, original + step), loss_at(p, original - step)
                numeric = (plus - minus) / (2 * step_size)
                scale = max(abs(numeric), abs(analytic), 1e-7)
                best = min(best, abs(numeric - analytic) / scale)
                if best <= 1e-7:
                    break
            with no_grad():
                p.copy_(original)
            worst = max(worst, best)
        rows.append((name, tuple(p.shape), worst))
    return rows


def cmd_gradcheck(args: argparse.Namespace) -> int:
    import tinygrad_digits as tg

    from .models import build_model, describe, input_is_flat, make_config
    from .nn import functional as F
    from .nn.utils import functional_call

    device = tg.get_device(args.device)
    tg.manual_seed(args.seed)
    if args.model:
        model, config = load_model(args.model, device=device)
        model.double()
        source = args.model
    else:
        config = make_config(
            args.new_model,
            side=8,
            hidden=args.hidden,
            activation=args.activation,
            **_cnn_extra(args, args.new_model),
        )
        model = build_model(config, device=device, dtype=tg.float64)
        source = f"a new {args.new_model.upper()}"
    model.eval()
    dataset = config.get("dataset", "digits")
    if dataset == "csv":
        dataset = "digits" if config["side"] == 8 else "mnist"
    _, test_set = load_data(
        dataset,
        flatten=input_is_flat(config),
        data_dir=config.get("data_dir"),
        train=False,
        normalization=config.get("normalization"),
    )
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(test_set), size=min(args.batch_size, len(test_set)), replace=False)
    xs, ys = test_set.__getitems__(np.sort(pick))
    x = tg.tensor(xs.astype(np.float64), device=device)
    y = tg.tensor(ys, device=device)
    sizes = describe(config)
    print(
        f"gradcheck of {source} ({config['model']} {sizes}, {config.get('activation')}) in "
        f"float64 on {len(ys)} {dataset} test images, {args.directions} random directions per "
        f"parameter; tolerance {args.tolerance:g} relative"
    )
    rows = _directional_errors(model, x, y, args.directions, args.seed)
    passed = True
    width = max(len(name) for name, _, _ in rows)
    for (name, shape, worst), p in zip(rows, [p for _, p in model.named_parameters()]):
        w = p.detach().clone().requires_grad_(True)

        def loss(w_: Any, name: str = name) -> Any:
            return F.cross_entropy(functional_call(model, {name: w_}, (x,)), y)

        # The library's own directional check too (small eps: stays clear of ReLU kinks;
        # once more with a smaller one if a kink still falls inside the step).
        ok_fast = any(
            tg.gradcheck(loss, [w], eps=step, fast_mode=True, seed=args.seed, raise_exception=False)
            for step in (1e-7, 1e-8)
        )
        ok = worst <= args.tolerance and ok_fast
        passed &= ok
        shape_text = "×".join(str(s) for s in shape)
        print(
            f"  {name:<{width}}  {shape_text:>8}  worst relative error {worst:.2e}  "
            f"{'ok' if ok else 'MISMATCH'}"
        )
    print("PASS" if passed else "FAIL: backprop disagrees with finite differences")
    return 0 if passed else 1


# --- entry point ---------------------------------------------------------------------------
def _one_line(exc: BaseException) -> str:
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 success, 1 failure, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("TINYGRAD_DIGITS_DEBUG") == "1"
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `... | head`: stop quietly, as other command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except CLIError as exc:
        if debug:
            raise
        print(f"{PROG} {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # every library error names its cause; show it as one line
        if debug:
            raise
        known = (OSError, ValueError, RuntimeError, ImportError, LookupError, TypeError)
        hint = "" if isinstance(exc, known) else " (run with --debug for the traceback)"
        print(f"{PROG} {args.command}: error: {_one_line(exc)}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
