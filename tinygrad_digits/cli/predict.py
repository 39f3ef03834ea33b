"""`tinygrad-digits predict MODEL IMAGE...`: the digit in each picture, with the top
probabilities."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..training.loading import load_model
from ..training.models import takes_pictures
from .errors import CLIError
from .options import add_device_arg, add_model_def_arg, positive_int


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `predict` command to an argparse subparsers object; it sets `func=run`."""
    p = subparsers.add_parser(
        "predict",
        help="read the digit in image files",
        description="Preprocess each picture as the training images were made (greyscale, ink "
        "light on dark, cropped, scaled and centred; 8×8 for digits models, 28×28 for MNIST-style "
        "ones), then print the predicted class and the top-3 probabilities.",
    )
    p.add_argument("model", metavar="MODEL", help="model file, or the --out folder of train")
    p.add_argument("images", metavar="IMAGE", nargs="*", help="PNG/JPEG/BMP files")
    p.add_argument(
        "--csv",
        metavar="PATH",
        help="pictures as CSV rows without labels (Kaggle's digit-recognizer test.csv)",
    )
    p.add_argument(
        "--submission",
        metavar="PATH",
        help="with --csv: write the predictions as Kaggle's submission file (ImageId,Label)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--top", type=positive_int, default=3, help="how many classes to list")
    p.add_argument(
        "--show-input",
        metavar="PATH",
        help="save what the network sees as PNG (a folder when several images are given), and "
        "beside it NAME_steps.png, the picture's clean-up step by step; an existing file is never "
        "replaced without --overwrite",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="let --show-input replace existing files"
    )
    inv = p.add_mutually_exclusive_group()
    inv.add_argument("--invert", dest="invert", action="store_true", default=None)
    inv.add_argument("--no-invert", dest="invert", action="store_false")
    add_device_arg(p, "cpu")
    add_model_def_arg(p)
    p.set_defaults(func=run)
    return p


def _input_paths(show: str | None, images: Sequence[str], overwrite: bool) -> list[Path | None]:
    """Where to save what the network sees for each image (None: don't): one file per input,
    never an existing file unless ``overwrite`` (it could be the photo or the model)."""
    if show is None:
        return [None] * len(images)
    target = Path(show)
    if len(images) == 1 and not target.is_dir():
        paths = [target]
    else:
        if target.exists() and not target.is_dir():
            raise CLIError(f"--show-input {show}: with several images it must be a folder")
        paths, used = [], set()
        for image in images:
            stem, n = Path(image).stem, 1
            name = f"{stem}_input.png"
            while name in used:  # two inputs named the same: one view each
                n += 1
                name = f"{stem}_{n}_input.png"
            used.add(name)
            paths.append(target / name)
    existing = [str(p) for p in [*paths, *map(_steps_path, paths)] if p.exists()]
    if existing and not overwrite:
        raise CLIError(
            f"--show-input would overwrite {', '.join(existing)}; pick another path or pass "
            "--overwrite"
        )
    if len(paths) > 1 or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    return list(paths)


def _predict_csv(args: argparse.Namespace, model: Any, config: dict[str, Any], device: Any) -> int:
    """Predict every row of an unlabelled CSV; print the counts, or write a submission file."""
    from ..data.csv_digits import read_unlabelled_csv
    from ..training.prediction import class_labels, probabilities

    if not args.csv:
        raise CLIError("--submission needs the pictures: --csv test.csv", code=2)
    if args.images:
        raise CLIError("give IMAGE files or --csv, not both", code=2)
    images = read_unlabelled_csv(args.csv)
    side = int(config["side"])
    if images.shape[1] != side:
        raise CLIError(
            f"{args.csv} holds {images.shape[1]}×{images.shape[1]} pictures but the model takes "
            f"{side}×{side}; train one on data of that size"
        )
    scale = 16.0 / 255.0 if side == 8 and images.max() > 16 else (1 / 255.0 if side == 28 else 1)
    labels = class_labels(config)
    probs = np.concatenate(
        [
            probabilities(model, images[i : i + 1000] * scale, config, device)
            for i in range(0, len(images), 1000)
        ]
    )
    guesses = probs.argmax(axis=1)
    if args.submission:
        rows = "".join(f"{i},{labels[k]}\n" for i, k in enumerate(guesses, start=1))
        Path(args.submission).write_text("ImageId,Label\n" + rows)
        print(f"wrote {args.submission}: {len(guesses)} predictions (ImageId,Label)")
        return 0
    counts = np.bincount(guesses, minlength=len(labels))
    print(
        f"{args.csv}: {len(guesses)} pictures; predicted "
        + ", ".join(f"{labels[k]}: {c}" for k, c in enumerate(counts))
    )
    return 0


def _steps_path(save: Path) -> Path:
    return save.with_name(f"{save.stem}_steps.png")


def _read_pictures(
    config: dict[str, Any], images: Sequence[str], saves: Sequence[Path | None], invert: Any
) -> list[Any]:
    """Each picture cleaned up for the model; with --show-input, what the model sees and the
    clean-up steps saved."""
    from ..data.images import save_steps, save_view
    from ..training.prediction import clean_for

    cleanups = []
    for image, save in zip(images, saves):
        cleanup = clean_for(config, image, invert=invert)
        if save is not None:
            save_view(cleanup, save)
            save_steps(cleanup, _steps_path(save))
        cleanups.append(cleanup)
    return cleanups


def _warn(results: Sequence[dict[str, Any]]) -> None:
    """Doubts about a prediction on stderr, so --json output stays clean."""
    for r in results:
        for doubt in r["warnings"]:
            print(f"warning: {r['image']}: {doubt}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Print the predicted class and the top probabilities of each image."""
    import tinygrad_digits as tg

    from ..training.prediction import SIDES, class_labels, doubts, probabilities

    saves = _input_paths(args.show_input, args.images, args.overwrite)  # before any work
    device = tg.get_device(args.device)
    model, config = load_model(args.model, device=device, model_def=args.model_def)
    if not takes_pictures(config):  # a logic gate's network
        raise CLIError("this model was trained on a logic gate's rows, not on pictures", code=2)
    if args.csv or args.submission:
        return _predict_csv(args, model, config, device)
    if not args.images:
        raise CLIError("give IMAGE files to read, or --csv PATH", code=2)
    side = int(config["side"])
    if side not in SIDES:
        raise CLIError(f"predict handles 8×8 and 28×28 models; this one takes {side}×{side}")
    classes = class_labels(config)
    cleanups = _read_pictures(config, args.images, saves, args.invert)
    pixels = np.stack([c.image for c in cleanups])
    from ..doctor.checks_image import warn_about_images  # the predict-time check

    warn_about_images(config, pixels, args.images)
    probs = probabilities(model, pixels, config, device)
    top = min(args.top, probs.shape[1])
    results = []
    for image, p, save, cleanup in zip(args.images, probs, saves, cleanups):
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
            entry["input_steps"] = str(_steps_path(save))
        entry["warnings"] = doubts(p, cleanup, classes)
        results.append(entry)
    _warn(results)
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
