"""Turn a person's own digit picture into the input a digits model expects.

A model trained on MNIST only knows MNIST's conventions, so we repeat how MNIST was made: a
bilevel digit (ink high, background zero), size-normalised to fit a 20×20 box with its aspect
ratio kept, anti-aliased, then placed in a 28×28 field with its centre of mass at the centre. For
the 8×8 sklearn digits the recipe is that of their source (UCI optdigits): the digit fills a 32×32
bitmap, and each output pixel counts the ink in a 4×4 block, 0–16.

Photos add problems MNIST never had: dark ink on light paper (we invert when the border is light),
low contrast (we stretch), huge sizes and pen strokes far thinner than MNIST's after shrinking (we
thicken strokes that would end up thinner than MNIST's before resizing).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .exceptions import BlankImageError, DataFormatError

__all__ = ["preprocess_digit_image"]

_MIN_CONTRAST = 0.1  # ink must differ from the background by 10% of full scale
_MAX_SIDE = 1600  # larger photos are box-reduced first: it keeps detail and saves time
# Output size -> (box the digit is fitted into, stroke width as a fraction of that box).
_LAYOUT = {28: (20, 0.13), 8: (32, 0.15)}


def _pil():
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise ImportError(
            'Reading digit images needs Pillow: pip install "tinygrad-digits[images]"'
        ) from exc
    return Image, ImageOps


def _grey_from_array(array: np.ndarray) -> np.ndarray:
    """Greyscale in [0, 1] from a (H, W), (H, W, 3) or (H, W, 4) array; alpha over white."""
    if array.dtype == bool:
        array = array.astype(np.float64)
    elif array.dtype in (np.uint8, np.uint16):
        array = array.astype(np.float64) / np.iinfo(array.dtype).max
    elif array.dtype.kind in "ui":  # wider ints (Pillow's "I", np.array of ints): judge by range
        array = array.astype(np.float64)
        peak = array.max(initial=0.0)
        array = array / (255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak)
    else:
        array = array.astype(np.float64)
        if array.max(initial=0.0) > 1.0:  # floats on another scale (0–255, 0–16): use their own
            array = array / array.max()
    if array.ndim == 3 and array.shape[2] in (2, 4):  # grey+alpha or RGBA: paint on white paper
        alpha = array[..., -1:]
        array = array[..., :-1] * alpha + (1.0 - alpha)
    if array.ndim == 3 and array.shape[2] == 3:
        array = array @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as Pillow's "L"
    elif array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(
            f"expected a (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}"
        )
    return array


def _grey_from_pil(image) -> np.ndarray:
    """Greyscale in [0, 1] from a Pillow image of any mode, upright per its EXIF orientation."""
    Image, ImageOps = _pil()
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):  # 16/32-bit: keep the depth
        return _grey_from_array(np.asarray(image))
    if "A" in image.getbands() or "transparency" in image.info:
        image = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image)
    image = image.convert("L")
    if max(image.size) > _MAX_SIDE:
        image = image.reduce(math.ceil(max(image.size) / _MAX_SIDE))
    return np.asarray(image, dtype=np.float64) / 255.0


def _load_grey(source) -> tuple[np.ndarray, str]:
    """(greyscale in [0, 1], a name for messages) from a path, a Pillow image or an array."""
    if isinstance(source, np.ndarray):
        return _grey_from_array(source), f"image array of shape {source.shape}"
    if not isinstance(source, (str, os.PathLike)):
        return _grey_from_pil(source), "image"
    path = Path(source)
    Image, _ = _pil()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            image.load()
            return _grey_from_pil(image), str(path)
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's ways of saying "not an image"
        raise DataFormatError(
            f"{path}: cannot read it as an image ({exc}); expected a PNG, JPEG or BMP file. "
            "Open it in an image viewer to check it, or save it again as PNG."
        ) from None


def _border(grey: np.ndarray) -> np.ndarray:
    width = max(1, round(0.02 * min(grey.shape)))
    return np.concatenate(
        [
            grey[:width].ravel(),
            grey[-width:].ravel(),
            grey[:, :width].ravel(),
            grey[:, -width:].ravel(),
        ]
    )


def _ink_high(grey: np.ndarray, invert: bool | None, name: str) -> np.ndarray:
    """Ink 1, background 0: invert a light background (judged by the border), then stretch."""
    background = float(np.median(_border(grey)))
    hint = ""
    if invert is None:
        invert = background > (grey.min() + grey.max()) / 2
    else:
        hint = f" You passed invert={invert}: try invert=None to let the border decide."
    if invert:
        grey, background = 1.0 - grey, 1.0 - background
    peak = float(grey.max())
    if peak - background < _MIN_CONTRAST:
        raise BlankImageError(
            f"{name}: found no ink (the strongest ink differs from the paper by "
            f"{max(peak - background, 0):.0%} of full scale, need {_MIN_CONTRAST:.0%}). Check that "
            f"the digit is in the picture and clearly darker or lighter than the paper.{hint}"
        )
    return np.clip((grey - background) / (peak - background), 0.0, 1.0)


def _otsu(values: np.ndarray) -> float:
    """The threshold that best separates ink from background (Otsu's method, 256 bins)."""
    hist, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    weight = np.cumsum(hist).astype(np.float64)
    mass = np.cumsum(hist * (edges[:-1] + edges[1:]) / 2)
    total_w, total_m = weight[-1], mass[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_lo = mass / weight
        mean_hi = (total_m - mass) / (total_w - weight)
        between = weight * (total_w - weight) * (mean_lo - mean_hi) ** 2
    return float(edges[1:][int(np.nanargmax(between))])


def _pool_any(mask: np.ndarray, factor: int) -> np.ndarray:
    """Shrink a mask by ``factor`` keeping a pixel wherever any ink was: thin strokes survive."""
    h, w = -(-mask.shape[0] // factor) * factor, -(-mask.shape[1] // factor) * factor
    padded = np.zeros((h, w), dtype=bool)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    return padded.reshape(h // factor, factor, w // factor, factor).any(axis=(1, 3))


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: ink area over half the length of the ink's outline."""
    padded = np.pad(mask, 1).astype(np.int8)
    edges = np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum()
    return 2.0 * mask.sum() / max(int(edges), 1)


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """Grow the ink by ``steps`` pixels on every side (3×3 square, repeated)."""
    out = np.pad(mask, steps)
    for _ in range(steps):
        rows = out.copy()
        rows[1:] |= out[:-1]
        rows[:-1] |= out[1:]
        out = rows.copy()
        out[:, 1:] |= rows[:, :-1]
        out[:, :-1] |= rows[:, 1:]
    return out


def _fit(mask: np.ndarray, box: int, stroke: float) -> np.ndarray:
    """The cropped digit resized (anti-aliased) so its longer side is ``box`` pixels, strokes at
    least ``stroke * box`` wide after resizing."""
    Image, _ = _pil()
    factor = max(1, max(mask.shape) // (4 * box))
    mask = _pool_any(mask, factor)
    wanted = stroke * max(mask.shape)  # in the pooled mask's pixels
    steps = int(round((wanted - _stroke_width(mask)) / 2))
    if steps > 0:
        mask = _dilate(mask, steps)
    h, w = mask.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Shrinking: BOX makes each pixel the ink fraction it covers, the cleanest anti-aliasing for a
    # bilevel digit (Lanczos would add ringing halos). Enlarging a small picture: BILINEAR.
    shrink = size[0] <= w
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    patch = Image.fromarray(mask.astype(np.float32)).resize(size, method)
    return np.clip(np.asarray(patch, dtype=np.float64), 0.0, 1.0)


def _place_by_mass(patch: np.ndarray, side: int) -> np.ndarray:
    """Paste ``patch`` into a side×side field with its centre of mass at (side/2, side/2)."""
    ys, xs = np.indices(patch.shape)
    total = patch.sum()
    cy, cx = (patch * ys).sum() / total, (patch * xs).sum() / total
    top = int(np.clip(round(side / 2 - cy), 0, side - patch.shape[0]))
    left = int(np.clip(round(side / 2 - cx), 0, side - patch.shape[1]))
    field = np.zeros((side, side))
    field[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return field


def _place_centred(patch: np.ndarray, side: int) -> np.ndarray:
    field = np.zeros((side, side))
    top, left = (side - patch.shape[0]) // 2, (side - patch.shape[1]) // 2
    field[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return field


def _save_view(out: np.ndarray, top: float, save_path: str | os.PathLike) -> None:
    """Write what the network sees as a PNG, enlarged (nearest neighbour) to about 280 pixels."""
    Image, _ = _pil()
    pixels = np.round(out / top * 255).astype(np.uint8)
    zoom = max(1, 280 // out.shape[0])
    view = Image.fromarray(pixels).resize((out.shape[1] * zoom, out.shape[0] * zoom), Image.NEAREST)
    view.save(Path(save_path), format="PNG")


def preprocess_digit_image(
    source,
    size: int = 28,
    *,
    invert: bool | None = None,
    threshold: float | None = None,
    save_path: str | os.PathLike | None = None,
) -> np.ndarray:
    """A digit picture (path, Pillow image or array; any size, colour or grey) as model input.

    ``size=28``: float32 (28, 28) in [0, 1], ink high, like MNIST / 255. ``size=8``: float32 (8, 8)
    in 0–16 like sklearn's digits. ``invert=None`` decides from the border whether the background is
    light; ``threshold`` (on the contrast-stretched image, 0–1) separates ink from paper, by default
    Otsu's choice clipped to [0.2, 0.8]. ``save_path`` writes the result, enlarged, as a PNG.
    """
    if size not in _LAYOUT:
        raise ValueError(f"size must be 28 (MNIST) or 8 (sklearn digits), got {size}")
    grey, name = _load_grey(source)
    if min(grey.shape) < 2:
        raise DataFormatError(f"{name}: image is {grey.shape[1]}×{grey.shape[0]}, too small")
    ink = _ink_high(grey, invert, name)
    cut = float(np.clip(_otsu(ink), 0.2, 0.8)) if threshold is None else float(threshold)
    mask = ink > cut
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise BlankImageError(f"{name}: no pixel is above the ink threshold {cut:.2f}")
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    box, stroke = _LAYOUT[size]
    patch = _fit(mask, box, stroke)
    if size == 28:
        out = _place_by_mass(patch, 28)
        out, top = out / out.max(), 1.0
    else:  # 32×32 bitmap, then ink per 4×4 block, scaled so the inkiest block reads 16
        blocks = _place_centred(patch, 32).reshape(8, 4, 8, 4).mean(axis=(1, 3))
        out, top = blocks * (16.0 / blocks.max()), 16.0
    out = out.astype(np.float32)
    if save_path is not None:
        _save_view(out, top, save_path)
    return out
