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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .exceptions import BlankImageError, DataFormatError

__all__ = [
    "DigitCleanup",
    "clean_digit_image",
    "preprocess_digit_image",
    "save_steps",
    "save_view",
]

_MIN_CONTRAST = 0.1  # ink must differ from the background by 10% of full scale
_MAX_SIDE = 1600  # larger photos are box-reduced first: it keeps detail and saves time
_FIT_SIDE = 64  # the paper's shading is fitted on a copy this small: shading is smooth
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


def _ndimage():
    try:
        from scipy import ndimage
    except ImportError as exc:
        raise ImportError(
            'Cleaning up digit pictures needs scipy: pip install "tinygrad-digits[images]"'
        ) from exc
    return ndimage


def _ink_high(grey: np.ndarray, invert: bool | None, name: str) -> np.ndarray:
    """Ink high, paper low. The paper is most of the picture, so its level is the median: a
    dark frame or table around the page (which fooled a border-based guess) cannot outvote it."""
    hint = ""
    if invert is None:
        invert = float(np.median(grey)) > (grey.min() + grey.max()) / 2
    else:
        hint = f" You passed invert={invert}: try invert=None to let the picture decide."
    ink = 1.0 - grey if invert else grey
    if float(ink.max() - np.median(ink)) < _MIN_CONTRAST:
        raise BlankImageError(
            f"{name}: found no ink (the strongest ink differs from the paper by "
            f"{max(float(ink.max() - np.median(ink)), 0):.0%} of full scale, need "
            f"{_MIN_CONTRAST:.0%}). Check that the digit is in the picture and clearly darker or "
            f"lighter than the paper.{hint}"
        )
    return ink


def _quadratic_terms(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(ys), ys, xs, ys * ys, xs * xs, ys * xs], axis=-1)


def _paper_level(ink: np.ndarray) -> np.ndarray:
    """The paper's brightness at every pixel: a smooth (quadratic) surface fitted to the paper
    alone, so a shadow or light falling across the page is flattened away. Ink, frames and specks
    sit far above the fit and are left out of it, a few rounds of fitting and trimming."""
    Image, _ = _pil()
    h, w = ink.shape
    factor = max(1, max(h, w) // _FIT_SIDE)
    small = np.asarray(
        Image.fromarray(ink.astype(np.float32)).reduce(factor) if factor > 1 else ink,
        dtype=np.float64,
    )
    ys, xs = np.indices(small.shape, dtype=np.float64)
    ys, xs = (ys + 0.5) * factor / h, (xs + 0.5) * factor / w
    a, z = _quadratic_terms(ys, xs).reshape(-1, 6), small.ravel()
    paper = float(np.median(z))
    keep = z <= paper + (z.max() - paper) / 2  # a first guess: what is nearer paper than ink
    for _ in range(4):
        used = a[keep]
        coef = np.linalg.solve(used.T @ used + 1e-9 * np.eye(6), used.T @ z[keep])
        residual = z - a @ coef
        spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep])))
        keep = residual < np.median(residual[keep]) + 3 * spread + 0.02
    yy, xx = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    return _quadratic_terms(yy, xx) @ coef


def _without_ruling(ink: np.ndarray) -> np.ndarray:
    """Remove the lines of ruled or squared paper: straight marks running (almost) across the
    whole picture, which no digit makes."""
    ndimage = _ndimage()
    h, w = ink.shape
    across = ndimage.grey_opening(ink, size=(1, max(3, int(0.9 * w))))
    down = ndimage.grey_opening(ink, size=(max(3, int(0.9 * h)), 1))
    return np.clip(ink - np.maximum(across, down), 0.0, None)


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


def _digit_marks(mask: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """The marks that make the digit, and warnings. Connected marks are judged by size and place:
    a mark along the picture's edge is a frame or the table, one far smaller than the digit is a
    speck, and a small one away from the digit is dust."""
    ndimage = _ndimage()
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        raise BlankImageError(f"{name}: no pixel is above the ink threshold")
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    ring = np.ones(mask.shape, dtype=bool)
    band = max(1, round(0.02 * min(mask.shape)))
    ring[band:-band, band:-band] = False
    on_edge = np.bincount(labels[ring], minlength=count + 1)[1:]
    frame = on_edge > 0.2 * ring.sum()
    if frame.all():
        raise BlankImageError(f"{name}: found only a frame along the edge of the picture, no digit")
    main = int(np.argmax(np.where(frame, -1, areas)))
    boxes = ndimage.find_objects(labels)
    top, bottom = boxes[main][0].start, boxes[main][0].stop
    left, right = boxes[main][1].start, boxes[main][1].stop
    grow = 0.15 * max(bottom - top, right - left)
    kept = np.zeros(count + 1, dtype=bool)
    big = []
    for i, (rows, cols) in enumerate(boxes):
        if frame[i]:
            continue
        cy, cx = (rows.start + rows.stop) / 2, (cols.start + cols.stop) / 2
        near = top - grow <= cy <= bottom + grow and left - grow <= cx <= right + grow
        if areas[i] >= 0.15 * areas[main] or (near and areas[i] >= 0.02 * areas[main]):
            kept[i + 1] = True
            if not near and areas[i] >= 0.3 * areas[main]:
                big.append(i)
    warnings = []
    if big:
        warnings.append(
            f"the picture holds {len(big) + 1} separate marks of similar size (several digits?); "
            "all of them were read as one digit: crop the picture to one digit"
        )
    dropped = areas[~frame & ~kept[1:]].sum()
    if dropped > 0.5 * areas[kept[1:]].sum():
        warnings.append(
            "much of the ink was set aside as specks or smudges: check the input steps "
            "(--show-input) and crop the picture closer to the digit"
        )
    return kept[labels], warnings


def _pool_max(ink: np.ndarray, factor: int) -> np.ndarray:
    """Shrink by ``factor`` keeping each block's strongest ink: thin strokes survive."""
    h, w = -(-ink.shape[0] // factor) * factor, -(-ink.shape[1] // factor) * factor
    padded = np.zeros((h, w))
    padded[: ink.shape[0], : ink.shape[1]] = ink
    return padded.reshape(h // factor, factor, w // factor, factor).max(axis=(1, 3))


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: ink area over half the length of the ink's outline."""
    padded = np.pad(mask, 1).astype(np.int8)
    edges = np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum()
    return 2.0 * mask.sum() / max(int(edges), 1)


def _disk(radius: int) -> np.ndarray:
    return np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius + 0.5


def _fit(ink: np.ndarray, box: int, stroke: float) -> np.ndarray:
    """The cropped digit (ink in [0, 1]) resized, anti-aliased, so its longer side is ``box``
    pixels, strokes about ``stroke * box`` wide after resizing (MNIST's pen)."""
    Image, _ = _pil()
    ink = _pool_max(ink, max(1, max(ink.shape) // (4 * box)))
    wanted = stroke * max(ink.shape)  # in the pooled ink's pixels
    steps = int(round((wanted - _stroke_width(ink > 0.5)) / 2))
    if steps > 0:  # a thin pen: grow the ink by `steps` pixels on every side
        ink = _ndimage().grey_dilation(np.pad(ink, steps), footprint=_disk(steps))
    elif steps < 0:  # a felt tip: thin it (strokes stay wider than `wanted`: none breaks)
        ink = _ndimage().grey_erosion(ink, footprint=_disk(min(-steps, int(wanted / 4) or 1)))
    h, w = ink.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Shrinking: BOX makes each pixel the ink fraction it covers, the cleanest anti-aliasing for a
    # bilevel digit (Lanczos would add ringing halos). Enlarging a small picture: BILINEAR.
    shrink = size[0] <= w
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    patch = Image.fromarray(ink.astype(np.float32)).resize(size, method)
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


@dataclass
class DigitCleanup:
    """A picture's way to model input: the ``image`` the model sees, each clean-up ``step``
    (name -> picture in [0, 1], for `save_steps`) and ``warnings`` about ambiguous ink."""

    image: np.ndarray
    steps: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def clean_digit_image(
    source,
    size: int = 28,
    *,
    invert: bool | None = None,
    threshold: float | None = None,
) -> DigitCleanup:
    """`preprocess_digit_image` with its working shown: every step and the warnings."""
    if size not in _LAYOUT:
        raise ValueError(f"size must be 28 (MNIST) or 8 (sklearn digits), got {size}")
    grey, name = _load_grey(source)
    if min(grey.shape) < 2:
        raise DataFormatError(f"{name}: image is {grey.shape[1]}×{grey.shape[0]}, too small")
    raw = _ink_high(grey, invert, name)
    flat = _without_ruling(np.clip(raw - _paper_level(raw), 0.0, None))
    peak = float(flat.max())
    if peak < _MIN_CONTRAST:
        raise BlankImageError(
            f"{name}: found no ink once the paper's shading is flattened (the strongest ink "
            f"stands {peak:.0%} above the paper, need {_MIN_CONTRAST:.0%})"
        )
    flat /= peak
    cut = float(np.clip(_otsu(flat), 0.2, 0.8)) if threshold is None else float(threshold)
    mask = flat > cut
    if not mask.any():
        raise BlankImageError(f"{name}: no pixel is above the ink threshold {cut:.2f}")
    digit, warnings = _digit_marks(mask, name)
    if peak < 2.5 * _MIN_CONTRAST:
        warnings.append(f"the ink is faint ({peak:.0%} contrast with the paper)")
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    level = float(np.median(flat[mask]))  # the typical ink: full strength from here up
    soft = np.clip((flat - cut / 2) / max(level - cut / 2, 1e-6), 0.0, 1.0)
    soft *= _ndimage().binary_dilation(digit, np.ones((3, 3)))  # kept marks, with their rims
    crop = soft[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    box, stroke = _LAYOUT[size]
    patch = _fit(crop, box, stroke)
    if size == 28:
        out = _place_by_mass(patch, 28)
        out = out / out.max()
    else:  # 32×32 bitmap, then ink per 4×4 block, scaled so the inkiest block reads 16
        blocks = _place_centred(patch, 32).reshape(8, 4, 8, 4).mean(axis=(1, 3))
        out = blocks * (16.0 / blocks.max())
    steps = {
        "picture": grey,
        "paper flattened": flat,
        "ink threshold": mask.astype(np.float64),
        "digit kept": digit.astype(np.float64),
        "model input": out / out.max(),
    }
    return DigitCleanup(out.astype(np.float32), steps, warnings)


def save_view(cleanup: DigitCleanup, path: str | os.PathLike) -> None:
    """Write what the network sees as a PNG, enlarged (nearest neighbour) to about 280 pixels."""
    Image, _ = _pil()
    out = cleanup.image
    pixels = np.round(out / out.max() * 255).astype(np.uint8)
    zoom = max(1, 280 // out.shape[0])
    view = Image.fromarray(pixels).resize((out.shape[1] * zoom, out.shape[0] * zoom), Image.NEAREST)
    view.save(Path(path), format="PNG")


def save_steps(cleanup: DigitCleanup, path: str | os.PathLike, height: int = 140) -> None:
    """Write the clean-up steps side by side as one PNG, each ``height`` pixels tall."""
    Image, _ = _pil()
    panels = []
    for picture in cleanup.steps.values():
        pixels = Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8))
        width = max(1, round(picture.shape[1] * height / picture.shape[0]))
        small = picture.shape[0] < height
        method = Image.Resampling.NEAREST if small else Image.Resampling.BOX
        panels.append(pixels.resize((width, height), method))
    gap = 8
    sheet = Image.new("L", (sum(p.width for p in panels) + gap * (len(panels) - 1), height), 128)
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + gap
    sheet.save(Path(path), format="PNG")


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
    in 0–16 like sklearn's digits. ``invert=None`` decides from the picture whether the paper is
    light; ``threshold`` (on the flattened, contrast-stretched image, 0–1) separates ink from paper,
    by default Otsu's choice clipped to [0.2, 0.8]. ``save_path`` writes the result, enlarged, as a
    PNG. `clean_digit_image` gives the steps and warnings too.
    """
    cleanup = clean_digit_image(source, size, invert=invert, threshold=threshold)
    if save_path is not None:
        save_view(cleanup, save_path)
    return cleanup.image
