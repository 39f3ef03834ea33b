"""Read digits stored one per CSV row: the label, then the pixels (``mnist_train.csv`` layout).

Rows hold 785 fields (28×28 MNIST-style images, pixels 0–255) or 65 fields (8×8 digits). A header
line is optional and recognised by its first field not being an integer; blank lines (empty or
only spaces) are skipped. The file is read once, as a stream, in blocks of lines that NumPy
parses in one vectorised call each, so a pipe (``--csv <(zcat f.gz)``) works and memory stays
bounded: a line longer than any digits row, or more than ``max_rows`` rows (``/dev/zero``, a
wrong file), is refused. When a block fails, its lines are walked one by one to report the first
bad line by its number in the file.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np

from .exceptions import DataFormatError

__all__ = ["MAX_ROWS", "csv_image_side", "read_digits_csv", "read_unlabelled_csv"]

# Fields per row -> side of the square image.
_WIDTH_TO_SIDE = {785: 28, 65: 8}
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
_FIX = "Fix or delete that line, or get a fresh copy of the file."
MAX_ROWS = 1_000_000  # 16x MNIST's training set
MAX_LINE = 1 << 16  # a 785-field row of 3-digit pixels takes ~3 KB
_BLOCK = 4096  # lines per vectorised parse


def _is_int(field: str) -> bool:
    return _INTEGER.fullmatch(field) is not None


def _is_header(line: str) -> bool:
    """A header line: its first field is not an integer (a data row's label is)."""
    return not _is_int(line.split(",", 1)[0].strip('" \t\r\n'))


def _bad_line(path: Path, line_no: int, problem: str) -> DataFormatError:
    return DataFormatError(f"{path}, line {line_no}: {problem}. {_FIX}")


def _width_problem(width: int) -> str:
    return f"expected 785 fields (label + 28×28 pixels) or 65 (label + 8×8 pixels), found {width}"


def _line_problem(fields: list[str], width: int) -> str | None:
    """What is wrong with one data line of ``width`` fields, or None."""
    if len(fields) != width:
        return f"expected {width} fields like the rows above, found {len(fields)}"
    for column, field in enumerate(fields, start=1):
        if not _is_int(field):
            what = "label" if column == 1 else f"pixel {column - 1}"
            return f"{what}: expected an integer, found {field!r}"
    label = int(fields[0])
    if not 0 <= label <= 9:
        return f"label: expected 0–9, found {label}"
    for column, field in enumerate(fields[1:], start=1):
        if not 0 <= int(field) <= 255:
            return f"pixel {column}: expected 0–255, found {int(field)}"
    return None


def _lines(path: Path, f: TextIO, max_rows: int) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line, with the length and row limits."""
    line_no = rows = 0
    while True:
        line = f.readline(MAX_LINE + 1)
        if not line:
            return
        line_no += 1
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise _bad_line(path, line_no, f"longer than {MAX_LINE:,} characters: not a digits row")
        if not line.strip():
            continue
        rows += 1
        if rows > max_rows:
            raise DataFormatError(
                f"{path}: more than {max_rows:,} rows; pass max_rows= for a larger file"
            )
        yield line_no, line


def _parse_block(path: Path, block: list[tuple[int, str]], width: int) -> np.ndarray:
    """One vectorised parse; on any problem the block's first bad line is reported."""
    try:
        with warnings.catch_warnings():
            # NumPy 2.0 still reads "2.5" into an int column as 2, saying so only in this
            # warning (later releases raise ValueError): make it the error it is everywhere else.
            warnings.filterwarnings("error", "loadtxt.*integer via a float", DeprecationWarning)
            table = np.loadtxt(
                [text for _, text in block], delimiter=",", dtype=np.int32, comments=None, ndmin=2
            )
    except (ValueError, DeprecationWarning):
        table = None
    if table is not None and table.shape[1] == width:
        labels, pixels = table[:, 0], table[:, 1:]
        if not ((labels < 0) | (labels > 9)).any() and not ((pixels < 0) | (pixels > 255)).any():
            return table.astype(np.int16)
    for line_no, text in block:
        problem = _line_problem(text.rstrip("\r\n").split(","), width)
        if problem is not None:
            raise _bad_line(path, line_no, problem)
    raise DataFormatError(f"{path}: can't parse lines {block[0][0]}–{block[-1][0]}. {_FIX}")


def read_digits_csv(
    path: str | os.PathLike, max_rows: int = MAX_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """Read a digits CSV into (images uint8 (N, side, side), labels int64 (N,)); side is 28 or 8.
    ``path`` may be a pipe; at most ``max_rows`` rows are read."""
    path = Path(path)
    tables: list[np.ndarray] = []
    width = None
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = _lines(path, f, max_rows)
        first = next(lines, None)
        if first is None:
            raise DataFormatError(
                f"{path}: expected rows of 'label,pixel,pixel,…', found an empty file."
            )
        pending = [] if _is_header(first[1]) else [first]
        for item in lines:
            pending.append(item)
            if len(pending) == _BLOCK:
                width = width or _row_width(path, pending[0])
                tables.append(_parse_block(path, pending, width))
                pending = []
        if pending:
            width = width or _row_width(path, pending[0])
            tables.append(_parse_block(path, pending, width))
    if not tables:
        raise DataFormatError(f"{path}: expected data rows after the header, found none.")
    table = np.concatenate(tables)
    side = _WIDTH_TO_SIDE[table.shape[1]]
    images = table[:, 1:].astype(np.uint8).reshape(-1, side, side)
    return images, table[:, 0].astype(np.int64)


def csv_image_side(path: str | os.PathLike) -> int | None:
    """The image side (28 or 8) of a digits CSV from its first data row, read alone, so that
    two files can be matched before either is loaded; None for a pipe or another non-regular
    file (peeking would consume it) and for a file without data rows."""
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        for index, (line_no, text) in enumerate(_lines(path, f, 2)):
            if index == 0 and _is_header(text):
                continue
            return _WIDTH_TO_SIDE[_row_width(path, (line_no, text))]
    return None


def _row_width(path: Path, first: tuple[int, str]) -> int:
    width = len(first[1].split(","))
    if width not in _WIDTH_TO_SIDE:
        raise _bad_line(path, first[0], _width_problem(width))
    return width


def read_unlabelled_csv(path: str | os.PathLike, max_rows: int = MAX_ROWS) -> np.ndarray:
    """Read pictures without labels, Kaggle's digit-recognizer ``test.csv`` layout (a header,
    then 784 or 64 pixels per row), into uint8 (N, side, side); at most ``max_rows`` rows."""
    path = Path(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        rows = [line for _, line in _lines(path, f, max_rows)]
    if rows and _is_header(rows[0]):
        rows = rows[1:]
    try:
        table = np.loadtxt(rows, delimiter=",", dtype=np.int16, comments=None, ndmin=2)
    except ValueError as exc:
        raise DataFormatError(f"{path}: {exc}. {_FIX}") from None
    sides = {784: 28, 64: 8}
    if table.shape[1] not in sides:
        labelled = " (with labels? then it is a training file: use --csv with train)"
        raise DataFormatError(
            f"{path}: expected 784 pixels per row (28×28, Kaggle's test.csv) or 64 (8×8), found "
            f"{table.shape[1]} fields" + (labelled if table.shape[1] - 1 in sides else "")
        )
    if table.shape[0] == 0 or table.min() < 0 or table.max() > 255:
        raise DataFormatError(f"{path}: expected rows of pixels 0–255")
    side = sides[table.shape[1]]
    return table.astype(np.uint8).reshape(-1, side, side)
