"""RandomDistortion and Augmented: each batch moved, turned, resized and re-inked anew."""

from __future__ import annotations

import numpy as np

from tinygrad_digits.data import DataLoader, TensorDataset
from tinygrad_digits.data.augment import Augmented, RandomDistortion
from tinygrad_digits.data.loader import _rows_are_arrays


def _squares(n: int = 16) -> np.ndarray:
    x = np.full((n, 28, 28), -0.5, dtype=np.float32)  # a normalised background
    x[:, 10:18, 10:18] = 2.0
    return x


def test_distortion_keeps_shape_dtype_background_and_is_seeded():
    x = _squares()
    a = RandomDistortion(seed=0)(x)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() == -0.5 and not np.allclose(a, x)
    np.testing.assert_array_equal(a, RandomDistortion(seed=0)(x))
    flat = RandomDistortion(seed=0)(x.reshape(16, 784))
    np.testing.assert_array_equal(flat.reshape(16, 28, 28), a)
    # small changes only: the ink stays around the middle
    ys, xs = np.nonzero(a[0] > 0.5)
    assert 9 <= ys.mean() <= 19 and 9 <= xs.mean() <= 19


def test_augmented_dataset_changes_images_every_epoch_never_labels():
    x, y = _squares(8), np.arange(8)
    data = Augmented(TensorDataset(x, y), RandomDistortion(seed=1))
    assert not _rows_are_arrays(data)  # never uploaded once: it must be fetched, and augmented
    first, second = list(DataLoader(data, 8)), list(DataLoader(data, 8))
    np.testing.assert_array_equal(first[0][1].numpy(), y)
    assert not np.allclose(first[0][0].numpy(), second[0][0].numpy())
    assert len(data) == 8 and data[3][1] == 3
