"""IDX files: round trips, gzip detection by content, and clear errors for broken files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tinygrad_digits.data import (
    DataFormatError,
    read_idx,
    read_idx_images,
    read_idx_labels,
    write_idx,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)


@pytest.fixture
def labels():
    return np.random.default_rng(1).integers(0, 10, 7).astype(np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, images, labels, compress):
    image_path = write_idx(tmp_path / "images", images, gzip=compress)
    label_path = write_idx(tmp_path / "labels", labels, gzip=compress)
    assert image_path.read_bytes()[:2] == (b"\x1f\x8b" if compress else b"\x00\x00")
    got_images, got_labels = read_idx_images(image_path), read_idx_labels(label_path)
    assert got_images.dtype == np.uint8 and got_images.shape == (7, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.dtype == np.int64
    np.testing.assert_array_equal(got_labels, labels)
    got_images[0, 0, 0] = 1  # writable, not a view of a read-only buffer


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32", "float64"])
def test_round_trip_other_types(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    got = read_idx(write_idx(tmp_path / "a.idx", array))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_gzip_detected_by_content_not_name(tmp_path, labels):
    plain_named_gz = write_idx(tmp_path / "labels.gz", labels)
    gz_named_plain = write_idx(tmp_path / "labels-idx1-ubyte", labels, gzip=True)
    np.testing.assert_array_equal(read_idx_labels(plain_named_gz), labels)
    np.testing.assert_array_equal(read_idx_labels(gz_named_plain), labels)


def test_truncated_file_names_file_sizes_and_fix(tmp_path, images):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", images)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFormatError) as info:
        read_idx_images(path)
    message = str(info.value)
    assert str(path) in message and "truncated" in message
    assert f"{7 * 28 * 28:,}" in message and f"{7 * 28 * 28 - 100:,}" in message
    assert "download" in message


def test_truncated_gzip(tmp_path, images):
    path = write_idx(tmp_path / "images.gz", images, gzip=True)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(DataFormatError, match="gzip data is damaged"):
        read_idx_images(path)


def test_short_header(tmp_path):
    path = tmp_path / "tiny"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataFormatError, match="16-byte header"):
        read_idx_images(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataFormatError) as info:
        read_idx(path)
    assert "0x00000803" in str(info.value) and "0x504B0304" in str(info.value)


def test_html_error_page_saved_as_data(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"<!DOCTYPE html><html>Not Found</html>")
    with pytest.raises(DataFormatError, match="HTML"):
        read_idx_labels(path)


def test_size_mismatch_extra_bytes(tmp_path, labels):
    path = write_idx(tmp_path / "labels", labels)
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00")
    with pytest.raises(DataFormatError, match="3 bytes too long"):
        read_idx_labels(path)


def test_swapped_image_and_label_files(tmp_path, images, labels):
    image_path = write_idx(tmp_path / "images", images)
    label_path = write_idx(tmp_path / "labels", labels)
    with pytest.raises(DataFormatError, match="swapped") as images_error:
        read_idx_images(label_path)
    with pytest.raises(DataFormatError, match="swapped") as labels_error:
        read_idx_labels(image_path)
    # each message says what was expected, what the file is instead, and which file to pass
    assert "expected an image file with magic 0x00000803 (uint8, 3 dimensions)" in str(
        images_error.value
    )
    assert "(it is a label file:" in str(images_error.value)
    assert "*-images-idx3-ubyte" in str(images_error.value)
    assert "expected a label file with magic 0x00000801 (uint8, 1 dimension)" in str(
        labels_error.value
    )
    assert "(it is an image file:" in str(labels_error.value)
    assert "*-labels-idx1-ubyte" in str(labels_error.value)


def test_wrong_element_type_for_images(tmp_path):
    path = write_idx(tmp_path / "floats", np.zeros((2, 28, 28), np.float32))
    with pytest.raises(DataFormatError, match="float32"):
        read_idx_images(path)


def test_write_rejects_types_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="uint16"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))


def test_gzip_written_is_readable_by_gzip_module(tmp_path, labels):
    path = write_idx(tmp_path / "l.gz", labels, gzip=True)
    assert gzip.decompress(path.read_bytes())[:4] == b"\x00\x00\x08\x01"
