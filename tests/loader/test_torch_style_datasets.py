"""Digits, MNIST, FashionMNIST and CSVDigits: shapes, dtypes, splits and normalisation, on
small IDX and CSV files the tests write."""

from __future__ import annotations

import gzip
import importlib.util

import numpy as np
import pytest

from tinygrad_digits.data import (
    DIGIT_CLASSES,
    FASHION_CLASSES,
    MEAN_STD,
    MNIST,
    CSVDigits,
    DataFormatError,
    DataLoader,
    DatasetNotFoundError,
    Digits,
    FashionMNIST,
    load_digits_arrays,
    write_idx,
)

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="the 8×8 digits ship with scikit-learn"
)


def _idx_folder(folder, n_train=30, n_test=10, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


@needs_sklearn
def test_digits_split_is_stratified_and_fixed():
    train, test = Digits(True), Digits(False)
    assert (len(train), len(test)) == (1438, 359)
    assert train.data.shape == (1438, 1, 8, 8) and train.data.dtype == np.float32
    assert train.targets.dtype == np.int64
    counts = np.bincount(test.targets)
    assert counts.min() >= 35 and counts.max() <= 37  # 20% of each class (~180 each)
    again = Digits(False)
    np.testing.assert_array_equal(test.data, again.data)
    _, y_all = load_digits_arrays()
    assert np.array_equal(np.bincount(train.targets) + counts, np.bincount(y_all))
    assert train.classes == DIGIT_CLASSES and train.num_classes == 10 and train.side == 8


@needs_sklearn
def test_digits_normalised_with_training_statistics():
    train, test = Digits(True, flatten=True), Digits(False, flatten=True)
    assert train.data.shape == (1438, 64)
    assert abs(float(train.data.mean())) < 1e-4 and abs(float(train.data.std()) - 1) < 1e-3
    assert test.normalization == train.normalization
    x, _ = load_digits_arrays()
    n = train.normalization
    assert n["max_value"] == 16.0
    # (raw / 16 - mean) / std reproduces the stored data
    raw_mean = float(((x / 16 - n["mean"]) / n["std"]).mean())
    both = np.concatenate([train.data, test.data])
    assert abs(raw_mean - float(both.mean())) < 1e-4


@needs_sklearn
def test_digits_reuse_given_statistics():
    d = Digits(False, mean=0.0, std=1.0, flatten=True)
    x, _ = load_digits_arrays()
    assert d.data.max() <= 1.0 and d.data.min() >= 0.0
    assert abs(float(d.data.max()) - 1.0) < 1e-6


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_a_folder(tmp_path, gz):
    _idx_folder(tmp_path, gz=gz)
    train = MNIST(tmp_path, train=True)
    test = MNIST(tmp_path, train=False, flatten=True)
    assert train.data.shape == (30, 1, 28, 28) and test.data.shape == (10, 784)
    assert train.data.dtype == np.float32 and train.targets.dtype == np.int64
    mean, std = MEAN_STD["mnist"]
    assert train.normalization == {"max_value": 255.0, "mean": mean, "std": std}
    raw = np.asarray(train.data[0, 0] * std + mean) * 255
    assert np.allclose(raw, np.round(raw), atol=1e-3)  # back to whole pixel values
    x, y = next(iter(DataLoader(test, 4)))
    assert tuple(x.shape) == (4, 784) and y.tolist() == [0, 1, 2, 3]


def test_fashion_mnist_uses_its_own_statistics_and_names(tmp_path):
    _idx_folder(tmp_path)
    ds = FashionMNIST(tmp_path, train=False)
    assert ds.mean == MEAN_STD["fashion-mnist"][0]
    assert ds.classes == FASHION_CLASSES


def test_mnist_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="not found"):
        MNIST(tmp_path / "nothing", train=True)
    (tmp_path / "bad").mkdir()
    folder = _idx_folder(tmp_path / "bad")
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])  # truncated
    with pytest.raises(DataFormatError, match="train-images"):
        MNIST(folder, train=True)
    (tmp_path / "badgz").mkdir()
    gz = _idx_folder(tmp_path / "badgz", gz=True) / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05ab"))  # says 5, holds 2
    with pytest.raises(DataFormatError):
        MNIST(tmp_path / "badgz", train=False)


def _csv(path, rows, side, header=True, max_value=255):
    rng = np.random.default_rng(0)
    lines = ["label," + ",".join(f"p{i}" for i in range(side * side))] if header else []
    for r in range(rows):
        pixels = rng.integers(0, max_value + 1, side * side)
        lines.append(",".join(map(str, [r % 10, *pixels])))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_digits_28_and_8(tmp_path):
    big = CSVDigits(_csv(tmp_path / "mnist.csv", 40, 28), flatten=True)
    assert big.data.shape == (40, 784) and big.max_value == 255.0 and big.side == 28
    small = CSVDigits(_csv(tmp_path / "digits.csv", 50, 8, header=False, max_value=16))
    assert small.data.shape == (50, 1, 8, 8) and small.max_value == 16.0
    assert abs(float(small.data.mean())) < 1e-4  # standardised with its own statistics


def test_csv_digits_train_test_split(tmp_path):
    path = _csv(tmp_path / "d.csv", 100, 8, max_value=16)
    train, test = CSVDigits(path, "train"), CSVDigits(path, "test")
    assert (len(train), len(test)) == (80, 20)
    assert np.bincount(test.targets).tolist() == [2] * 10
    assert train.normalization == test.normalization
    with pytest.raises(ValueError, match="split"):
        CSVDigits(path, "validation")


def test_csv_bad_line_is_reported_by_number(tmp_path):
    path = _csv(tmp_path / "d.csv", 5, 8, max_value=16)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",x", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match="line 4"):
        CSVDigits(path)
