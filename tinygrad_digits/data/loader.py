"""Dataset, TensorDataset, Subset and DataLoader, named and behaving as in torch.utils.data.

Batches are cut from whole arrays: the loader asks the dataset for many samples at once
(``dataset.__getitems__(indices)``, as torch's batched fetch), the dataset answers with one NumPy
fancy-index (or a zero-copy slice when not shuffling) per array, and the loader moves each array to
the target device in one transfer. No Python loop runs per sample, which is what keeps a
Fashion-MNIST epoch close to the speed of hand-written NumPy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..autograd.factories import tensor
from ..autograd.tensor import Tensor
from ..backend.registry import DeviceLike, get_device

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "random_split", "split_dataset"]

Index = np.ndarray | slice


class Dataset:
    """Base class: subclasses give ``__len__`` and ``__getitem__(i)``.

    Subclasses that hold their samples in arrays should also give ``__getitems__(indices)``
    returning a tuple of NumPy arrays with one row per index: the DataLoader then fetches a
    whole batch with one indexing operation. Without it the loader falls back to one
    ``__getitem__`` call per sample (correct, but slow for large datasets).
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __getitems__(self, indices: Index) -> tuple[np.ndarray, ...]:
        """The samples at ``indices`` stacked per field (fallback: one __getitem__ each)."""
        if isinstance(indices, slice):
            indices = np.arange(len(self))[indices]
        samples = [self[int(i)] for i in indices]
        if not samples:
            raise IndexError(f"{type(self).__name__}: asked for an empty batch")
        first = samples[0]
        if not isinstance(first, tuple | list):
            return (np.stack([_host(s) for s in samples]),)
        return tuple(np.stack([_host(s[k]) for s in samples]) for k in range(len(first)))


def _host(value: Any) -> np.ndarray:
    """A sample field as a NumPy array (Tensors are copied to the host)."""
    if isinstance(value, Tensor):
        return value.device.to_numpy(value.detach().data)
    return np.asarray(value)


def require_finite(array: np.ndarray, what: str) -> None:
    """Refuse NaN or inf where data enters: one NaN pixel makes every weight NaN a step later,
    and the model then trains, saves and predicts without complaint."""
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))
        raise ValueError(
            f"{what}: {len(bad)} sample(s) hold NaN or inf (the first is row {int(bad[0])}); "
            "clean the data first (np.isfinite finds them)"
        )


class TensorDataset(Dataset):
    """Samples are rows of the given tensors or arrays (all with the same first dimension).

    The data is kept on the host as NumPy arrays; the DataLoader moves each batch to its device.
    ``dataset[i]`` gives a tuple of CPU tensors, one per array, as in torch.
    """

    def __init__(self, *tensors: Tensor | np.ndarray | Sequence[Any]) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor or array")
        arrays = [_host(t) for t in tensors]
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(
                    f"TensorDataset: argument {k} is a scalar; pass one row per sample"
                )
        sizes = [len(a) for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"TensorDataset: every tensor needs the same number of rows (samples), got {sizes}"
            )
        for k, a in enumerate(arrays):
            require_finite(a, f"TensorDataset argument {k}")
        self.arrays: tuple[np.ndarray, ...] = tuple(arrays)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return tuple(tensor(a, device="cpu") for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(tensor(a[index], device="cpu") for a in self.arrays)

    rows_are_arrays = True  # the DataLoader may upload the arrays once and index on a device

    def __getitems__(self, indices: Index) -> tuple[np.ndarray, ...]:
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (a view: nothing is copied up front)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices: Index) -> tuple[np.ndarray, ...]:
        return _fetch(self.dataset, self.indices[indices])

    @property
    def targets(self) -> np.ndarray:
        return np.asarray(self.dataset.targets)[self.indices]  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        # Dataset facts (classes, normalization, side, ...) read through to the parent.
        if name.startswith("__") or name in ("dataset", "indices"):
            raise AttributeError(name)
        return getattr(self.dataset, name)


def _fetch(dataset: Dataset, indices: Index) -> tuple[np.ndarray, ...]:
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is None:  # a duck-typed dataset not derived from Dataset
        return Dataset.__getitems__(dataset, indices)  # type: ignore[arg-type]
    return getitems(indices)


def _targets(dataset: Dataset) -> np.ndarray | None:
    targets = getattr(dataset, "targets", None)
    if targets is None:
        return None
    targets = _host(targets)
    return targets if targets.ndim == 1 and len(targets) == len(dataset) else None


def split_dataset(
    dataset: Dataset, val_fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> tuple[Subset, Subset]:
    """(train, validation) Subsets holding out ``val_fraction`` of the samples, seeded.

    Stratified by ``dataset.targets`` when the dataset has them, so every class keeps its share.
    """
    from .splits import stratified_split, train_val_split

    targets = _targets(dataset) if stratify else None
    if targets is not None:
        train_idx, val_idx = stratified_split(targets, val_fraction, seed)
    else:
        ids = np.arange(len(dataset))
        train_idx, _, val_idx, _ = train_val_split(ids, ids, val_fraction, seed, stratify=False)
    return Subset(dataset, train_idx), Subset(dataset, val_idx)


def random_split(dataset: Dataset, lengths: Sequence[int | float], seed: int = 0) -> list[Subset]:
    """Non-overlapping random Subsets of the given lengths (or of fractions summing to 1)."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1.0) < 1e-6:
        counts = [int(np.floor(n * f)) for f in lengths]
        for k in range(n - sum(counts)):  # hand the remainder out round-robin, as torch does
            counts[k % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if sum(counts) != n or any(c < 0 for c in counts):
        raise ValueError(
            f"random_split: lengths {list(lengths)} must be non-negative and sum to the dataset "
            f"size {n} (or be fractions summing to 1)"
        )
    perm = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors on ``device``.

    shuffle: a new permutation each epoch, drawn from ``generator`` (a NumPy Generator) or from
    one seeded with ``seed``: two loaders with the same seed give the same batches, epoch after
    epoch. Without either, shuffling uses fresh entropy. drop_last: skip a final partial batch.
    device: where batches go (default: the default device at iteration time).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        *,
        seed: int | None = None,
        generator: np.random.Generator | None = None,
        device: DeviceLike = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass seed or generator, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator if generator is not None else np.random.default_rng(seed)
        self.device = None if device is None else get_device(device)

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        return self.batches_on(self.device if self.device is not None else get_device(None))

    def batches_on(self, device: DeviceLike) -> Iterator[tuple[Tensor, ...]]:
        """The batches of one epoch on `device` (what iterating does for the loader's device;
        `fit` asks for the model's).

        On an accelerator, a dataset that holds its samples in arrays (TensorDataset, the
        image datasets, Subsets of them) is uploaded once, at its first epoch there, and each
        batch is gathered on the device by a slice of the epoch's permutation (one upload per
        epoch): no host-to-device copy per batch. Other datasets are fetched on the host and
        each batch is copied over.
        """
        device = get_device(device)
        n, b = len(self.dataset), self.batch_size
        stop = n - n % b if self.drop_last else n
        order = self.generator.permutation(n) if self.shuffle else None
        resident = self._resident(device)
        if resident is not None:
            yield from _gather_batches(device, resident, order, b, stop)
            return
        fetch = _fetch
        dataset = self.dataset
        for start in range(0, stop, b):
            # Not shuffling: a slice, so array datasets hand out zero-copy views.
            index = slice(start, start + b) if order is None else order[start : start + b]
            arrays = fetch(dataset, index)
            yield tuple(tensor(a, device=device) for a in arrays)

    def _resident(self, device: Any) -> tuple[Tensor, ...] | None:
        """The whole dataset on `device` (uploaded once), where that serves: an accelerator
        and a dataset whose rows are fixed arrays."""
        if device.type == "cpu" or not _rows_are_arrays(self.dataset):
            return None
        cached = self.__dict__.get("_uploaded")
        if cached is None or cached[0] is not device:
            arrays = _fetch(self.dataset, slice(0, len(self.dataset)))
            cached = self._uploaded = (device, tuple(tensor(a, device=device) for a in arrays))
        return cached[1]

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def _rows_are_arrays(dataset: Any) -> bool:
    """True for datasets whose batched fetch is plain indexing into arrays fixed at
    construction (classes that say so with `rows_are_arrays`, and Subsets of them): those may
    be uploaded once and indexed on the device."""
    if isinstance(dataset, Subset):
        return _rows_are_arrays(dataset.dataset)
    owner = next((c for c in type(dataset).__mro__ if "__getitems__" in vars(c)), None)
    return owner is not None and vars(owner).get("rows_are_arrays", False)


def _gather_batches(
    device: Any, resident: tuple[Tensor, ...], order: np.ndarray | None, b: int, stop: int
) -> Iterator[tuple[Tensor, ...]]:
    """Batches cut from arrays already on `device`: slices copied, or rows gathered by a
    permutation uploaded once."""
    xp = device.xp
    with device.context:
        perm = None if order is None else device.from_numpy(order.astype(np.int64))
    for start in range(0, stop, b):
        end = min(start + b, stop)  # the Array API leaves slices past the end unspecified
        with device.context:
            if perm is None:  # a copy, so changing a batch in place never changes the dataset
                batch = [device.copy(t.data[start:end, ...]) for t in resident]
            else:
                rows = perm[start:end]
                batch = [xp.take(t.data, rows, axis=0) for t in resident]
        yield tuple(Tensor._make(a, device, False) for a in batch)
