"""Read digits stored one per CSV row: the label, then the pixels (``mnist_train.csv`` layout).

Rows hold 785 fields (28×28 MNIST-style images, pixels 0–255) or 65 fields (8×8 digits). A header
line is optional and recognised by its first field not being an integer. Parsing is one vectorised
``np.loadtxt`` call; only when that fails or a value is out of range do we walk the file line by
line, to report the first bad line by number instead of a bare row index.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from .exceptions import DataFormatError

__all__ = ["read_digits_csv"]

# Fields per row -> side of the square image.
_WIDTH_TO_SIDE = {785: 28, 65: 8}
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
_FIX = "Fix or delete that line, or get a fresh copy of the file."


def _is_int(field: str) -> bool:
    return _INTEGER.fullmatch(field) is not None


def _lines_before_data(path: Path) -> int:
    """How many lines precede the first data row: leading blank lines and an optional header."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for index, line in enumerate(f):
            if line.strip():
                header = not _is_int(line.split(",", 1)[0].strip('" \t\r\n'))
                return index + int(header)
    raise DataFormatError(f"{path}: expected rows of 'label,pixel,pixel,…', found an empty file.")


def _bad_line(path: Path, line_no: int, problem: str) -> DataFormatError:
    return DataFormatError(f"{path}, line {line_no}: {problem}. {_FIX}")


def _width_error(path: Path, line_no: int, width: int) -> DataFormatError:
    return _bad_line(
        path,
        line_no,
        f"expected 785 fields (label + 28×28 pixels) or 65 (label + 8×8 pixels), found {width}",
    )


def _locate_error(path: Path, skip: int) -> DataFormatError | None:
    """Walk the file and describe its first bad data line; None if every line is fine."""
    width = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, start=1):
            if line_no <= skip or not line.strip():
                continue
            fields = line.rstrip("\r\n").split(",")
            if width is None:
                width = len(fields)
                if width not in _WIDTH_TO_SIDE:
                    return _width_error(path, line_no, width)
            if len(fields) != width:
                problem = f"expected {width} fields like the rows above, found {len(fields)}"
                return _bad_line(path, line_no, problem)
            for column, field in enumerate(fields, start=1):
                if not _is_int(field):
                    what = "label" if column == 1 else f"pixel {column - 1}"
                    return _bad_line(path, line_no, f"{what}: expected an integer, found {field!r}")
            label = int(fields[0])
            if not 0 <= label <= 9:
                return _bad_line(path, line_no, f"label: expected 0–9, found {label}")
            for column, field in enumerate(fields[1:], start=1):
                if not 0 <= int(field) <= 255:
                    return _bad_line(
                        path, line_no, f"pixel {column}: expected 0–255, found {int(field)}"
                    )
    return None


def read_digits_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a digits CSV into (images uint8 (N, side, side), labels int64 (N,)); side is 28 or 8."""
    path = Path(path)
    skip = _lines_before_data(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": reported below, our way
            # NumPy 2.0 still reads "2.5" into an int column as 2, saying so only in this warning
            # (later releases raise ValueError): make it the error it is everywhere else.
            warnings.filterwarnings("error", "loadtxt.*integer via a float", DeprecationWarning)
            table = np.loadtxt(
                path, delimiter=",", dtype=np.int16, comments=None, skiprows=skip, ndmin=2
            )
    except (ValueError, DeprecationWarning) as exc:
        raise (_locate_error(path, skip) or DataFormatError(f"{path}: {exc}. {_FIX}")) from None
    if table.shape[0] == 0:
        raise DataFormatError(f"{path}: expected data rows after the header, found none.")
    labels, pixels = table[:, 0], table[:, 1:]
    bad = (labels < 0) | (labels > 9) | (pixels < 0).any(axis=1) | (pixels > 255).any(axis=1)
    if table.shape[1] not in _WIDTH_TO_SIDE or bad.any():
        error = _locate_error(path, skip)
        if error is not None:
            raise error
        raise DataFormatError(f"{path}: values out of range in data row {int(bad.argmax()) + 1}.")
    side = _WIDTH_TO_SIDE[table.shape[1]]
    images = pixels.astype(np.uint8).reshape(-1, side, side)
    return images, labels.astype(np.int64)
