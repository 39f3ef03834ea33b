"""The predict-time check: a user's picture, after predict's preprocessing, against the
statistics of the images the model was trained on (polarity, ink share, scale). A model
only knows pictures like its training data; a mismatch here explains a confident wrong
answer better than anything inside the network."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from ..diagnostics.findings import WARNING, Finding, format_findings

INK = 0.5  # a pixel (scaled to 0–1) brighter than this is ink on a dark background
INK_FACTOR = 2.5  # ink share this many times the training images' (either way) is suspect
_PREPROCESSING = (
    "`tinygrad-digits predict --show-input FILE` saves the image the model sees; predict "
    "crops, centres and scales the digit and inverts dark-on-light pictures (--invert / "
    "--no-invert force it)"
)


def check_image(
    pixels: np.ndarray, config: dict[str, Any], name: str = "the image"
) -> list[Finding]:
    """Findings for one preprocessed picture (side × side; 0–16 for 8×8 models, 0–1 for
    28×28 ones) against the training statistics saved in the run's `config`."""
    side = int(config.get("side", 8))
    unit = np.asarray(pixels, dtype=np.float64).reshape(side, side)
    unit = unit / 16.0 if side == 8 else unit
    stats = config.get("normalization") or {}
    mean = float(stats.get("mean", 0.0)) or float("nan")
    out: list[Finding] = []
    top = float(unit.max())
    if top > 1.5:
        out.append(
            Finding(
                "input_scale",
                WARNING,
                name,
                f"{name}'s pixels go up to {top:.3g}, but the model was trained on pixels "
                "scaled to 0–1: every unit sees inputs far larger than in training",
                "feed the picture through predict's preprocessing (or scale it to 0–1 "
                f"yourself); {_PREPROCESSING}",
                top,
            )
        )
        return out
    border = np.concatenate([unit[0], unit[-1], unit[:, 0], unit[:, -1]])
    background = float(np.median(border))
    if background > INK:
        out.append(
            Finding(
                "input_inverted",
                WARNING,
                name,
                f"{name} has a light background (median border {background:.2f} on 0–1), but the "
                "training digits are light ink on a dark background",
                f"invert the picture (1 - pixels); {_PREPROCESSING}",
                background,
            )
        )
    ink = float((unit > INK).mean())
    if np.isfinite(mean) and mean > 0 and (ink > INK_FACTOR * mean or ink < mean / INK_FACTOR):
        what = "more" if ink > mean else "less"
        size = "big or thick" if ink > mean else "small or thin"
        out.append(
            Finding(
                "input_ink",
                WARNING,
                name,
                f"ink covers {ink:.0%} of {name}, {what} than in the training images (mean "
                f"brightness {mean:.0%}): the digit is too {size}, "
                "or the picture holds more than the digit",
                f"crop the picture to the digit; {_PREPROCESSING}",
                ink,
            )
        )
    return out


def warn_about_images(
    config: dict[str, Any],
    pixels: np.ndarray,
    names: Sequence[str],
    file: IO[str] | None = None,
) -> list[Finding]:
    """predict's one call: check each preprocessed picture and print what is off (to
    stderr by default), so a surprising answer comes with its likely reason."""
    found = [f for image, name in zip(pixels, names) for f in check_image(image, config, name)]
    if found:
        print(format_findings(found, "doctor (the input pictures)"), file=file or sys.stderr)
    return found


__all__ = ["check_image", "warn_about_images"]
