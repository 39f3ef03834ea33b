"""From a person's digit picture to class probabilities, the same way for every front end.

``predict`` on the command line and the ``serve`` web page must show the same answer for the same
picture, so both go through here: `preprocess_digit_image` (crop, scale, centre, as the training
images were made), then `model_input` (normalise with the statistics saved in the run's config).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..data import normalize_images, preprocess_digit_image
from ..data.images import DigitCleanup, clean_digit_image
from .models import input_is_flat

__all__ = [
    "class_labels",
    "clean_for",
    "doubts",
    "model_input",
    "preprocess_for",
    "probabilities",
]

SIDES = (8, 28)  # the sizes preprocess_digit_image knows how to make


def class_labels(config: dict[str, Any]) -> list[str]:
    """The name of each output class, from a run's config ("0".."9" when it names none)."""
    return [str(c) for c in config.get("classes") or range(int(config["num_classes"]))]


def preprocess_for(
    config: dict[str, Any],
    source: Any,
    *,
    invert: bool | None = None,
    save_path: str | os.PathLike | None = None,
) -> np.ndarray:
    """One picture (path, Pillow image or array) as the (side, side) image this run's model
    sees: 0–16 for 8×8 models, 0–1 for 28×28 ones (see `preprocess_digit_image`)."""
    return preprocess_digit_image(source, size=_side(config), invert=invert, save_path=save_path)


def _side(config: dict[str, Any]) -> int:
    side = int(config["side"])
    if side not in SIDES:
        raise ValueError(
            f"pictures can be read for 8×8 and 28×28 models; this one takes {side}×{side}"
        )
    return side


def clean_for(config: dict[str, Any], source: Any, *, invert: bool | None = None) -> DigitCleanup:
    """`preprocess_for` with its clean-up steps and warnings about ambiguous ink."""
    return clean_digit_image(source, size=_side(config), invert=invert)


LOW_CONFIDENCE = 0.5  # below this top probability the answer is a guess worth a warning


def doubts(probs: np.ndarray, cleanup: DigitCleanup, labels: list[str]) -> list[str]:
    """Why not to trust one prediction: the picture's ink warnings and a low confidence."""
    found = list(cleanup.warnings)
    first, second = np.argsort(-probs, kind="stable")[:2]
    if probs[first] < LOW_CONFIDENCE:
        found.append(
            f"low confidence: {probs[first]:.0%} for {labels[first]}, {probs[second]:.0%} for "
            f"{labels[second]}; check the input steps (--show-input) or take a clearer picture"
        )
    return found


def model_input(pixels: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """(n, side, side) preprocessed pictures -> the normalised batch the model takes, exactly
    as the training images were normalised (see the data docs)."""
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


def probabilities(
    model: Any, pixels: np.ndarray, config: dict[str, Any], device: Any = None
) -> np.ndarray:
    """(n, classes) float64 softmax probabilities of a model in eval mode for preprocessed
    pictures (n, side, side)."""
    from ..autograd.factories import tensor
    from ..autograd.grad_mode import no_grad

    with no_grad():
        logits = model(tensor(model_input(pixels, config), device=device))
        return logits.softmax(1).cpu().numpy().astype(np.float64)
