"""Digits CSV files (mnist_train.csv layout): header detection, 8×8 rows, bad lines by number."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_digits.data import DataFormatError, read_digits_csv
from tinygrad_digits.data.csv_digits import csv_image_side


def _rows(n: int, pixels: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 256, (n, pixels))
    lines = [",".join(map(str, [label, *row])) for label, row in zip(labels, images)]
    return images, labels, lines


def _header(pixels: int) -> str:
    side = int(pixels**0.5)
    return "label," + ",".join(f"{r}x{c}" for r in range(1, side + 1) for c in range(1, side + 1))


@pytest.mark.parametrize("header", [False, True])
def test_mnist_layout_with_and_without_header(tmp_path, header):
    images, labels, lines = _rows(5, 784)
    path = tmp_path / "mnist_train.csv"
    path.write_text("\n".join(([_header(784)] if header else []) + lines) + "\n")
    got_images, got_labels = read_digits_csv(path)
    assert got_images.dtype == np.uint8 and got_images.shape == (5, 28, 28)
    assert got_labels.dtype == np.int64
    np.testing.assert_array_equal(got_images.reshape(5, -1), images)
    np.testing.assert_array_equal(got_labels, labels)


def test_8x8_rows_and_crlf(tmp_path):
    images, labels, lines = _rows(4, 64)
    path = tmp_path / "digits.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    got_images, got_labels = read_digits_csv(path)
    assert got_images.shape == (4, 8, 8)
    np.testing.assert_array_equal(got_images.reshape(4, -1), images)
    np.testing.assert_array_equal(got_labels, labels)


def _with_bad_line(tmp_path, bad: str, header: bool = True):
    _, _, lines = _rows(6, 64)
    lines[3] = bad  # data row 4
    text = "\n".join(([_header(64)] if header else []) + lines[:2] + [""] + lines[2:]) + "\n"
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path, 1 + 2 + 1 + 2  # header, two rows, a blank line, then the bad row is line 6


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("3," + ",".join(["1"] * 60), "expected 65 fields"),
        ("3," + ",".join(["1"] * 63) + ",x", "pixel 64: expected an integer, found 'x'"),
        ("3," + ",".join(["1"] * 63) + ",2.5", "expected an integer, found '2.5'"),
        ("3," + ",".join(["1"] * 63) + ",256", "pixel 64: expected 0–255, found 256"),
        ("3,-1," + ",".join(["1"] * 63), "pixel 1: expected 0–255, found -1"),
        ("10," + ",".join(["1"] * 64), "label: expected 0–9, found 10"),
        ("3," + ",".join(["1"] * 63) + ",70000", "pixel 64: expected 0–255, found 70000"),
    ],
    ids=["short", "letter", "float", "256", "negative", "label", "overflow"],
)
def test_bad_row_reports_file_and_line(tmp_path, bad, reason):
    path, line = _with_bad_line(tmp_path, bad)
    with pytest.raises(DataFormatError) as info:
        read_digits_csv(path)
    message = str(info.value)
    assert f"{path}, line {line}:" in message and reason in message


def test_unknown_row_width(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataFormatError, match="line 1: expected 785 fields"):
        read_digits_csv(path)


@pytest.mark.parametrize("text", ["", "\n\n", "label,1x1\n"])
def test_empty_files(tmp_path, text):
    path = tmp_path / "empty.csv"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=str(path)):
        read_digits_csv(path)


def test_full_size_file(tmp_path):
    """60,000 MNIST-size rows parse in one vectorised pass (no timing asserted)."""
    _, _, lines = _rows(16, 784)
    path = tmp_path / "mnist_train.csv"
    path.write_text(_header(784) + "\n" + "\n".join(lines * 3750) + "\n")
    images, labels = read_digits_csv(path)
    assert images.shape == (60000, 28, 28) and labels.shape == (60000,)


@pytest.mark.parametrize("pixels, side", [(784, 28), (64, 8)])
def test_csv_image_side_reads_only_the_first_row(tmp_path, pixels, side):
    _, _, lines = _rows(2, pixels)
    path = tmp_path / "digits.csv"
    path.write_text("\n".join([_header(pixels), "", *lines, "not,a,row"]) + "\n")
    assert csv_image_side(path) == side  # the bad last line is never read
    assert csv_image_side(tmp_path / "missing.csv") is None
    assert csv_image_side(tmp_path) is None  # not a regular file: a pipe is never peeked at
    path.write_text("label,a,b\n1,2,3\n")
    with pytest.raises(DataFormatError, match="line 2: expected 785 fields"):
        csv_image_side(path)
