"""`tinygrad-digits evaluate MODEL`: loss, accuracy and confusion matrix of a saved model."""

from __future__ import annotations

import argparse
from typing import Any

from ..training.loading import load_data, load_model
from .errors import CLIError
from .options import add_data_args, add_device_arg, add_model_def_arg, positive_int


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `evaluate` command to an argparse subparsers object; it sets `func=run`."""
    e = subparsers.add_parser(
        "evaluate",
        help="accuracy and confusion matrix of a saved model",
        description="Rebuild a saved model from its config and report loss, accuracy and the "
        "confusion matrix on the test set of the data it was trained on (or another one).",
    )
    e.add_argument("model", metavar="MODEL", help="model file, or the --out folder of train")
    add_data_args(e, None)
    add_device_arg(e, "cpu")
    add_model_def_arg(e)
    e.add_argument("--batch-size", type=positive_int, default=1000)
    e.add_argument("--out", metavar="DIR", help="save the confusion matrix PNG here")
    e.set_defaults(func=run)
    return e


def _data_for(args: argparse.Namespace, config: dict[str, Any]) -> Any:
    from ..training.models import input_is_flat

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
    if test_set.in_features != config["in_features"]:
        raise CLIError(
            f"the model takes {config['side']}×{config['side']} images but the test data has "
            f"{test_set.side}×{test_set.side}; pick the dataset it was trained on"
        )
    return test_set


def run(args: argparse.Namespace) -> int:
    """Report loss, accuracy and the confusion matrix of a saved model on its test set."""
    import tinygrad_digits as tg

    from ..data import DataLoader
    from ..training.loop import report
    from .options import make_loss

    device = tg.get_device(args.device)
    model, config = load_model(args.model, device=device, model_def=args.model_def)
    test_set = _data_for(args, config)
    print(f"{config.get('dataset', '?')} test set: {len(test_set)} images")
    report(
        model,
        DataLoader(test_set, args.batch_size, device=device),
        config.get("classes"),
        out_dir=args.out,
        loss_fn=make_loss(
            config.get("training", {}).get("loss", "cross_entropy"),
            int(config.get("num_classes", 10)),
            output_activation=config.get("training", {}).get("output_activation", "auto"),
        ),
    )
    return 0
