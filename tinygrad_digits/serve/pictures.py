"""The picture inside a `POST /predict` body, or a `BadPicture` that says what is wrong.

A request is untrusted: its size and the image's dimensions are checked before any pixel is
decoded, so a small PNG that unpacks to gigapixels is refused, not decoded.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

__all__ = ["MAX_BODY_BYTES", "MAX_SIDE", "BadPicture", "decode_picture"]

MAX_BODY_BYTES = 4 * 1024 * 1024  # a phone photo as JPEG, or a 280×280 canvas as JSON pixels
MAX_SIDE = 4096  # pixels along either side of a picture
IMAGE_TYPES = ("image/", "application/octet-stream")


class BadPicture(ValueError):
    """A request the page cannot read; `status` is the HTTP status to answer with (4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _check_side(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise BadPicture(f"the picture is {width}×{height} pixels: nothing to read")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise BadPicture(
            f"the picture is {width}×{height} pixels; at most {MAX_SIDE} per side is accepted",
            status=413,
        )


def _from_image_bytes(body: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(body))
        _check_side(*image.size)
        image.load()
    except BadPicture:
        raise
    except UnidentifiedImageError:
        raise BadPicture("the body is not an image Pillow can read; send a PNG or JPEG") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadPicture(f"cannot read the body as an image ({exc}); send a PNG or JPEG") from None
    return image


def _from_json(body: bytes) -> np.ndarray:
    """Canvas pixels: {"width", "height", "rgba": [r, g, b, a, ...]} as `getImageData` gives
    them, or {"pixels": [[grey 0–255, ...], ...]} rows."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPicture(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadPicture('expected a JSON object: {"width", "height", "rgba"} or {"pixels"}')
    try:
        if "rgba" in data:
            width, height = int(data["width"]), int(data["height"])
            _check_side(width, height)
            flat = np.asarray(data["rgba"], dtype=np.float64)
            if flat.shape != (width * height * 4,):
                raise BadPicture(
                    f"rgba holds {flat.size} numbers; a {width}×{height} picture needs "
                    f"{width * height * 4} (4 per pixel)"
                )
            pixels = flat.reshape(height, width, 4)
        elif "pixels" in data:
            pixels = np.asarray(data["pixels"], dtype=np.float64)
            if pixels.ndim != 2:
                raise BadPicture(f"pixels must be rows of grey values, got shape {pixels.shape}")
            _check_side(pixels.shape[1], pixels.shape[0])
        else:
            raise BadPicture('expected the keys "width", "height" and "rgba", or "pixels"')
    except BadPicture:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise BadPicture(f"cannot read the pixels ({exc}); send numbers 0–255") from None
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
        raise BadPicture("pixel values must be numbers from 0 to 255")
    return pixels.astype(np.uint8)


def decode_picture(body: bytes, content_type: str) -> Any:
    """A Pillow image or a uint8 array from a request body of the given Content-Type."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if len(body) > MAX_BODY_BYTES:
        raise BadPicture(f"the body is over {MAX_BODY_BYTES} bytes", status=413)
    if not body:
        raise BadPicture("the body is empty; send a PNG or JPEG, or canvas pixels as JSON")
    if kind == "application/json":
        return _from_json(body)
    if kind.startswith(IMAGE_TYPES) or not kind:
        return _from_image_bytes(body)
    raise BadPicture(
        f"cannot read a body of type {kind!r}: send image/png, image/jpeg or application/json",
        status=415,
    )
