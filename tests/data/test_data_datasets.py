"""Dataset loaders: sklearn digits, IDX folders, downloads, and the real Fashion-MNIST."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_digits.data import (
    DataFormatError,
    DatasetNotFoundError,
    load_digits_arrays,
    load_mnist_arrays,
    mnist_search_dirs,
    write_idx,
)
from tinygrad_digits.data import arrays as datasets_module

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="the 8×8 digits ship with scikit-learn"
)

FASHION = Path(__file__).resolve().parents[3] / "shared" / "data" / "fashion-mnist"


def _make_split(folder: Path, train: bool, n: int = 12, compress: bool = True, seed: int = 0):
    """Write a small IDX image/label pair with the standard names; return the arrays."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    prefix = "train" if train else "t10k"
    suffix = ".gz" if compress else ""
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gzip=compress)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gzip=compress)
    return images, labels


@needs_sklearn
def test_sklearn_digits():
    x, y = load_digits_arrays()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and set(np.unique(y)) == set(range(10))


def test_sklearn_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-digits\[digits\]"'):
        load_digits_arrays()


@pytest.mark.parametrize("train, compress", [(True, True), (False, False)])
def test_load_from_root(isolated_env, train, compress):
    root = isolated_env / "mnist"
    images, labels = _make_split(root, train, compress=compress)
    got_images, got_labels = load_mnist_arrays(root, train=train)
    assert got_images.dtype == np.uint8 and got_images.shape == (12, 28, 28)
    assert got_labels.dtype == np.int64
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_torchvision_layout_and_kind_subfolder(isolated_env):
    root = isolated_env / "data"
    images, _ = _make_split(root / "FashionMNIST" / "raw", train=False)
    got, _ = load_mnist_arrays(root, train=False, kind="fashion-mnist")
    np.testing.assert_array_equal(got, images)
    images, _ = _make_split(root / "mnist", train=True, seed=1)
    got, _ = load_mnist_arrays(root, train=True, kind="mnist")
    np.testing.assert_array_equal(got, images)


def test_env_var_folder(isolated_env, monkeypatch):
    folder = isolated_env / "env"
    images, _ = _make_split(folder, train=True)
    monkeypatch.setenv("TINYGRAD_DIGITS_DATA", str(folder))
    got, _ = load_mnist_arrays(train=True)
    np.testing.assert_array_equal(got, images)


def test_missing_files_say_where_and_how(isolated_env):
    root = isolated_env / "nothing"
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist_arrays(root, train=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and str(root) in message
    assert "download=True" in message and "--data-dir" in message
    assert isinstance(info.value, FileNotFoundError)


def test_image_and_label_counts_must_agree(isolated_env):
    root = isolated_env / "mixed"
    _make_split(root, train=True, n=12)
    write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8), gzip=True)
    with pytest.raises(DataFormatError, match="12 images but .* 11 labels"):
        load_mnist_arrays(root)


def test_labels_out_of_range(isolated_env):
    root = isolated_env / "bad"
    _make_split(root, train=True, n=3)
    write_idx(root / "train-labels-idx1-ubyte.gz", np.array([1, 2, 12], np.uint8), gzip=True)
    with pytest.raises(DataFormatError, match="labels 0–9"):
        load_mnist_arrays(root)


def test_unknown_kind():
    with pytest.raises(ValueError, match="fashion-mnist"):
        load_mnist_arrays(kind="cifar")


def test_download_into_root_from_loopback_mirror(server, isolated_env, monkeypatch):
    base, served, requests = server
    images, labels = _make_split(served, train=False, n=9)
    checksums = {
        p.name: {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in served.iterdir()
    }
    monkeypatch.setitem(
        datasets_module.SOURCES, "mnist", {"mirrors": [base + "/"], "checksums": checksums}
    )
    root = isolated_env / "fresh"
    got_images, got_labels = load_mnist_arrays(root, train=False, download=True, progress=False)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert len(requests) == 2 and (root / "t10k-images-idx3-ubyte.gz").is_file()
    load_mnist_arrays(root, train=False, download=True, progress=False)
    assert len(requests) == 2  # found locally the second time


def test_download_without_root_goes_to_cache(server, isolated_env, monkeypatch):
    base, served, _ = server
    _make_split(served, train=True, n=4)
    checksums = {p.name: {"md5": hashlib.md5(p.read_bytes()).hexdigest()} for p in served.iterdir()}
    source = {"mirrors": [base], "checksums": checksums}
    monkeypatch.setitem(datasets_module.SOURCES, "fashion-mnist", source)
    search = datasets_module.mnist_search_dirs  # keep only the (empty) temp cache folders
    monkeypatch.setattr(
        datasets_module,
        "mnist_search_dirs",
        lambda kind, root=None: [d for d in search(kind, root) if isolated_env in d.parents],
    )
    images, _ = load_mnist_arrays(kind="fashion-mnist", download=True, progress=False)
    assert images.shape == (4, 28, 28)
    assert (isolated_env / "cache" / "fashion-mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_published_checksums_are_well_formed():
    for source in datasets_module.SOURCES.values():
        assert source["mirrors"] and len(source["checksums"]) == 4
        for checksum in source["checksums"].values():
            assert len(checksum["md5"]) == 32 and int(checksum["md5"], 16) >= 0


def test_search_dirs_include_shared_and_debian_locations(isolated_env):
    dirs = mnist_search_dirs("fashion-mnist")
    assert Path("/usr/share/datasets/fashion-mnist") in dirs
    assert any(d.parts[-3:] == ("shared", "data", "fashion-mnist") for d in dirs)
    assert mnist_search_dirs("mnist", root="/x")[0] == Path("/x")


@pytest.mark.skipif(
    not FASHION.is_dir(), reason=f"real Fashion-MNIST not present at {FASHION} (shared data)"
)
def test_real_fashion_mnist_test_split():
    images, labels = load_mnist_arrays(FASHION, train=False, kind="fashion-mnist")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert labels.min() == 0 and labels.max() == 9
    assert np.bincount(labels).tolist() == [1000] * 10  # the test split is balanced
