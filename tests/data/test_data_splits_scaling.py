"""Seeded stratified splits and pixel scaling."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_digits.data import (
    normalize,
    scale_to_unit,
    standardize,
    stratified_split,
    train_val_split,
)


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    return rng.permutation(np.repeat(np.arange(10), [50, 37, 61, 5, 80, 44, 13, 29, 70, 11]))


def test_stratified_split_keeps_class_shares(labels):
    train, val = stratified_split(labels, 0.2, seed=3)
    assert len(val) == round(0.2 * len(labels))
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(len(labels)))
    counts, val_counts = np.bincount(labels), np.bincount(labels[val], minlength=10)
    assert np.all(np.abs(val_counts - 0.2 * counts) <= 1)


def test_split_is_seeded(labels):
    a, b, c = (stratified_split(labels, 0.25, seed=s)[1] for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_train_val_split_arrays(labels):
    x = np.arange(len(labels) * 3).reshape(-1, 3)
    x_tr, y_tr, x_va, y_va = train_val_split(x, labels, fraction=0.1, seed=0)
    assert len(x_tr) + len(x_va) == len(x) and len(x_va) == round(0.1 * len(x))
    np.testing.assert_array_equal(labels[x_va[:, 0] // 3], y_va)  # rows stay with their labels
    _, _, x_va2, _ = train_val_split(x, labels, fraction=0.1, seed=0, stratify=False)
    assert len(x_va2) == len(x_va)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 0.001])
def test_bad_fractions(labels, fraction):
    with pytest.raises(ValueError, match="fraction"):
        stratified_split(labels, fraction)


def test_scale_and_normalize():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    unit = scale_to_unit(pixels)
    assert unit.dtype == np.float32 and unit.min() >= 0 and unit.max() <= 1
    out, mean, std = normalize(pixels)
    assert out.dtype == np.float32
    assert abs(float(out.mean())) < 1e-4 and abs(float(out.std()) - 1) < 1e-4
    again, m2, s2 = normalize(pixels[:5], mean, std)  # held-out data reuses training statistics
    assert (m2, s2) == (mean, std)
    np.testing.assert_allclose(again, out[:5], atol=1e-6)


def test_scale_needs_max_for_non_uint8():
    with pytest.raises(ValueError, match="16 for sklearn"):
        scale_to_unit(np.ones((2, 64), np.float32))
    assert scale_to_unit(np.full(3, 16.0), max_value=16).tolist() == [1.0, 1.0, 1.0]


def test_constant_data_cannot_be_standardised():
    with pytest.raises(ValueError, match="std"):
        standardize(np.zeros(10))
