"""DataLoader, TensorDataset, Subset and splits: batching, shuffling, seeds, devices."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    random_split,
    split_dataset,
)


def _dataset(n: int = 10) -> TensorDataset:
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return TensorDataset(x, np.arange(n, dtype=np.int64))


def _labels(loader: DataLoader) -> list[list[int]]:
    return [y.tolist() for _, y in loader]


def test_batches_in_order_with_a_partial_last_batch():
    loader = DataLoader(_dataset(10), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [tuple(x.shape) for x, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].dtype == tg.float32 and batches[0][1].dtype == tg.int64
    np.testing.assert_array_equal(batches[2][0].numpy(), _dataset(10).arrays[0][8:])


def test_drop_last_skips_the_partial_batch():
    loader = DataLoader(_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(_dataset(8), batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(_dataset(3), batch_size=4, drop_last=True)) == 0
    assert list(DataLoader(_dataset(3), batch_size=4, drop_last=True)) == []


def test_shuffle_visits_every_sample_once_per_epoch_and_reshuffles():
    loader = DataLoader(_dataset(50), batch_size=8, shuffle=True, seed=3)
    first = sum(_labels(loader), [])
    second = sum(_labels(loader), [])
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != list(range(50)) and first != second


def test_same_seed_same_batches_epoch_after_epoch():
    a = DataLoader(_dataset(30), batch_size=7, shuffle=True, seed=11)
    b = DataLoader(_dataset(30), batch_size=7, shuffle=True, seed=11)
    c = DataLoader(_dataset(30), batch_size=7, shuffle=True, seed=12)
    for _ in range(2):
        la, lb, lc = _labels(a), _labels(b), _labels(c)
        assert la == lb and la != lc


def test_generator_drives_the_shuffle():
    a = DataLoader(_dataset(20), 5, shuffle=True, generator=np.random.default_rng(4))
    b = DataLoader(_dataset(20), 5, shuffle=True, generator=np.random.default_rng(4))
    assert _labels(a) == _labels(b)
    with pytest.raises(ValueError, match="seed or generator"):
        DataLoader(_dataset(), 2, seed=1, generator=np.random.default_rng(1))


def test_images_and_labels_stay_paired_when_shuffled():
    loader = DataLoader(_dataset(40), batch_size=6, shuffle=True, seed=0)
    for x, y in loader:
        np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy() * 3)


def test_batches_land_on_the_device(device):
    loader = DataLoader(_dataset(10), batch_size=4, shuffle=True, seed=0, device=device)
    for x, y in loader:
        assert x.device == tg.get_device(device) and y.device == tg.get_device(device)
        assert x.dtype == tg.float32 and y.dtype == tg.int64
    assert sorted(sum((y.tolist() for _, y in loader), [])) == list(range(10))


def test_default_device_is_read_at_iteration_time():
    loader = DataLoader(_dataset(4), batch_size=2)
    with tg.default_device("strict"):
        x, _ = next(iter(loader))
    assert x.device == tg.get_device("strict")


def test_array_datasets_are_fetched_per_batch_not_per_sample():
    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return super().__getitem__(index)

    ds = Counting(np.zeros((64, 2), np.float32), np.zeros(64, np.int64))
    for _ in DataLoader(ds, 16, shuffle=True, seed=0):
        pass
    assert Counting.calls == 0


def test_a_plain_dataset_works_through_getitem():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], np.float32), i

    (x, y), (x2, y2) = list(DataLoader(Squares(), batch_size=3))
    np.testing.assert_array_equal(x.numpy(), [[0, 0], [1, 1], [2, 4]])
    assert y.tolist() == [0, 1, 2] and y2.tolist() == [3, 4] and x2.shape == (2, 2)


def test_tensor_dataset_accepts_tensors_and_checks_lengths():
    ds = TensorDataset(tg.arange(6).reshape(3, 2), tg.tensor([1, 2, 3]))
    x, y = ds[1]
    assert x.tolist() == [2, 3] and y.item() == 2 and len(ds) == 3
    assert ds.tensors[0].shape == (3, 2)
    with pytest.raises(ValueError, match="same number of rows"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


@pytest.mark.parametrize("bad", [0, -1, 2.5, "8", True])
def test_bad_batch_size(bad):
    with pytest.raises((TypeError, ValueError), match="batch_size"):
        DataLoader(_dataset(), batch_size=bad)


def test_subset_and_stratified_split():
    x = np.arange(100, dtype=np.float32).reshape(100, 1)
    y = np.repeat(np.arange(4), 25)
    ds = TensorDataset(x, y)
    ds.targets = y
    train, val = split_dataset(ds, 0.2, seed=1)
    assert len(train) == 80 and len(val) == 20
    assert set(train.indices).isdisjoint(val.indices)
    assert np.bincount(val.targets).tolist() == [5, 5, 5, 5]
    again, _ = split_dataset(ds, 0.2, seed=1)
    np.testing.assert_array_equal(train.indices, again.indices)
    (xb, yb) = next(iter(DataLoader(val, 20)))
    np.testing.assert_array_equal(xb.numpy()[:, 0], val.indices)
    sub = Subset(ds, [5, 7])
    assert sub[1][1].item() == y[7]
    with pytest.raises(IndexError):
        Subset(ds, [100])


def test_random_split_by_counts_and_fractions():
    parts = random_split(_dataset(10), [7, 3], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(10))
    assert [len(p) for p in random_split(_dataset(10), [0.5, 0.25, 0.25])] == [6, 2, 2]
    with pytest.raises(ValueError, match="sum to the dataset size"):
        random_split(_dataset(10), [5, 4])
