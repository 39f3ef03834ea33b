"""Dataset classes in torchvision's style: Digits, MNIST, FashionMNIST and CSVDigits.

Every class holds float32 images and int64 labels in memory and serves batches by indexing
whole arrays. Images are normalised the same way everywhere, in two steps:

1. scale to [0, 1]: divide the raw pixels by their full scale (``max_value``: 16 for sklearn's
   8×8 digits, 255 for MNIST-style 28×28 images);
2. standardise: subtract ``mean`` and divide by ``std``, one pair of numbers for all pixels,
   taken from the *training* split (the known values in ``MEAN_STD`` for the full MNIST and
   Fashion-MNIST training sets) and reused unchanged for validation, test and prediction.

``dataset.normalization`` gives ``{"max_value", "mean", "std"}``; saving it with a model lets
``predict`` feed a person's own picture exactly as the training images were fed.

Shapes: ``flatten=False`` (default) gives each image as (1, side, side), channels first like
torchvision's ``ToTensor``; ``flatten=True`` gives (side * side,), what an MLP takes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.factories import tensor
from ..autograd.tensor import Tensor
from .arrays import load_digits_arrays, load_mnist_arrays, logic_gate_arrays
from .csv_digits import read_digits_csv
from .loader import Dataset, Index, require_finite
from .scaling import MEAN_STD
from .splits import stratified_split

__all__ = [
    "DIGIT_CLASSES",
    "FASHION_CLASSES",
    "ArrayDataset",
    "CSVDigits",
    "Digits",
    "FashionMNIST",
    "LogicGate",
    "MNIST",
    "normalize_images",
]

DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def normalize_images(
    raw: np.ndarray, max_value: float, mean: float, std: float, flatten: bool = False
) -> np.ndarray:
    """Raw pixels (N, side, side) or (N, side*side) -> float32 model input, as documented above."""
    raw = np.asarray(raw)
    for what, value in (("max_value", max_value), ("mean", mean), ("std", std)):
        if not np.isfinite(value) or (what != "mean" and value <= 0):
            raise ValueError(
                f"normalize_images: {what} must be a finite number"
                f"{'' if what == 'mean' else ' > 0'}, got {value} (a damaged config's "
                "'normalization'?)"
            )
    require_finite(raw, "the images")
    n = raw.shape[0]
    side = int(round(np.sqrt(raw[0].size))) if n else int(round(np.sqrt(raw.size)))
    out = raw.astype(np.float32)
    # (x / max - mean) / std as one multiply-add: x * a + b, in float32.
    a = np.float32(1.0 / (max_value * std))
    b = np.float32(-mean / std)
    out *= a
    out += b
    return out.reshape(n, side * side) if flatten else out.reshape(n, 1, side, side)


def _unit_stats(raw: np.ndarray, max_value: float) -> tuple[float, float]:
    """Mean and std of ``raw / max_value`` over all pixels, in float64."""
    unit = raw.astype(np.float64) / max_value
    std = float(unit.std())
    if not std > 0:
        raise ValueError("the training images are all the same colour: cannot standardise them")
    return float(unit.mean()), std


def _split_rows(
    images: np.ndarray,
    labels: np.ndarray,
    split: str,
    test_fraction: float,
    split_seed: int,
    max_value: float,
    mean: float | None,
    std: float | None,
) -> tuple[Any, float, float]:
    """The rows of ``split`` ("all", or "train"/"test" of a stratified, seeded split) and the
    mean/std of the training rows unless both are given, so a test split is fed as training was."""
    keep: Any = slice(None)
    train_rows: Any = slice(None)
    if split != "all":
        train_idx, test_idx = stratified_split(labels, test_fraction, split_seed)
        keep = train_idx if split == "train" else test_idx
        train_rows = train_idx
    if mean is None or std is None:
        mean, std = _unit_stats(images[train_rows], max_value)
    return keep, mean, std


class ArrayDataset(Dataset):
    """Images and labels held as whole arrays: float32 ``data`` and int64 ``targets``.

    Holds its normalisation (``max_value``, ``mean``, ``std``) and class names so that a model
    trained on it can be saved with everything needed to feed it new pictures.
    """

    def __init__(
        self,
        raw_images: np.ndarray,
        labels: np.ndarray,
        *,
        max_value: float,
        mean: float | None = None,
        std: float | None = None,
        flatten: bool = False,
        classes: Sequence[str] = DIGIT_CLASSES,
        name: str = "images",
    ) -> None:
        raw_images = np.asarray(raw_images)
        if len(raw_images) != len(labels):
            raise ValueError(f"{name}: {len(raw_images)} images but {len(labels)} labels")
        if mean is None or std is None:
            m, s = _unit_stats(raw_images, max_value)
            mean = m if mean is None else mean
            std = s if std is None else std
        self.max_value, self.mean, self.std = float(max_value), float(mean), float(std)
        self.flatten = flatten
        self.classes = tuple(classes)
        self.name = name
        self.data = normalize_images(raw_images, max_value, mean, std, flatten)
        self.targets = np.asarray(labels, dtype=np.int64)
        self.side = int(round(np.sqrt(self.data[0].size))) if len(self.data) else 0

    @property
    def normalization(self) -> dict[str, float]:
        return {"max_value": self.max_value, "mean": self.mean, "std": self.std}

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_features(self) -> int:
        return self.side * self.side

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return tensor(self.data[index], device="cpu"), tensor(self.targets[index], device="cpu")

    def unnormalise(self) -> None:
        """Feed the raw pixel values (0–16, 0–255) instead of standardised ones, as many
        learners' posts do; ``normalization`` then says so (mean 0, std 1/max_value), so a
        model trained on them is fed pictures the same way."""
        self.data = (self.data * np.float32(self.std) + np.float32(self.mean)) * np.float32(
            self.max_value
        )
        self.mean, self.std = 0.0, 1.0 / self.max_value

    rows_are_arrays = True  # the DataLoader may upload the arrays once and index on a device

    def __getitems__(self, indices: Index) -> tuple[np.ndarray, np.ndarray]:
        return self.data[indices], self.targets[indices]

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.data.shape[1:])
        return f"{type(self).__name__}({self.name}: {len(self)} images of {shape})"


class LogicGate(ArrayDataset):
    """The four rows of a two-input logic gate (``"or"``, ``"and"``, ``"xor"``) and its value,
    fed as they are (0 and 1, no standardising): the first network many learners build, here
    so ``train`` and ``doctor`` can replay it. Its network has one output (``num_classes`` 1),
    read as "1" when positive; ``classes`` names the two values. There is no test split: the
    four rows are the whole problem."""

    def __init__(self, name: str) -> None:
        x, y = logic_gate_arrays(name)
        self.max_value, self.mean, self.std = 1.0, 0.0, 1.0
        self.flatten = True
        self.classes = ("0", "1")
        self.name = name
        self.data, self.targets = x, y
        self.side = None

    @property
    def num_classes(self) -> int:
        return 1  # one output unit: the gate's value

    @property
    def in_features(self) -> int:
        return int(self.data.shape[1])


class Digits(ArrayDataset):
    """sklearn's 1,797 8×8 digits (pixels 0–16), split 80/20 into train and test.

    sklearn ships no test split, so one is made here: stratified (every digit keeps its share),
    ``test_fraction`` of the images, chosen by a generator seeded with ``split_seed`` (fixed by
    default, so every run and every user gets the same test set). mean/std come from the
    training part.
    """

    def __init__(
        self,
        train: bool = True,
        *,
        flatten: bool = False,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        mean: float | None = None,
        std: float | None = None,
    ) -> None:
        images, labels = load_digits_arrays()
        split = "train" if train else "test"
        keep, mean, std = _split_rows(
            images, labels, split, test_fraction, split_seed, 16.0, mean, std
        )
        super().__init__(
            images[keep].reshape(-1, 8, 8),
            labels[keep],
            max_value=16.0,
            mean=mean,
            std=std,
            flatten=flatten,
            name=f"digits {'train' if train else 'test'}",
        )


class MNIST(ArrayDataset):
    """MNIST's 60,000 training or 10,000 test images, 28×28, from IDX files (gzipped or not).

    ``root``: folder holding the four IDX files (default: the cache folder, TINYGRAD_DIGITS_DATA
    and the shared copies; see ``load_mnist_arrays``). ``download=True`` fetches missing files
    from checksummed mirrors. Normalised with the full training set's mean and std.
    """

    kind = "mnist"
    default_classes: tuple[str, ...] = DIGIT_CLASSES

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = False,
        *,
        flatten: bool = False,
        progress: bool = True,
        mean: float | None = None,
        std: float | None = None,
    ) -> None:
        images, labels = load_mnist_arrays(
            root, train=train, download=download, kind=self.kind, progress=progress
        )
        known_mean, known_std = MEAN_STD[self.kind]
        super().__init__(
            images,
            labels,
            max_value=255.0,
            mean=known_mean if mean is None else mean,
            std=known_std if std is None else std,
            flatten=flatten,
            classes=self.default_classes,
            name=f"{self.kind} {'train' if train else 'test'}",
        )


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28×28 greyscale clothing in 10 classes, in MNIST's file format."""

    kind = "fashion-mnist"
    default_classes = FASHION_CLASSES


class CSVDigits(ArrayDataset):
    """Digits from a CSV file in the ``mnist_train.csv`` layout (label, then the pixels).

    28×28 rows (785 fields) are taken as 0–255 pixels, 8×8 rows (65 fields) as 0–16 pixels like
    sklearn's digits. ``split="all"`` keeps every row; ``"train"``/``"test"`` take a stratified,
    seeded ``test_fraction`` split of the file, for when one CSV holds everything. mean/std come
    from the rows used for training (pass ``mean``/``std`` to reuse other statistics).
    ``rows``: the file's (images, labels) already read by read_digits_csv, so that one read
    serves both splits (a pipe can be read only once).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        split: str = "all",
        *,
        flatten: bool = False,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        mean: float | None = None,
        std: float | None = None,
        rows: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if split not in ("all", "train", "test"):
            raise ValueError(f"CSVDigits: split must be 'all', 'train' or 'test', got {split!r}")
        images, labels = rows if rows is not None else read_digits_csv(path)
        max_value = 255.0 if images.shape[1] == 28 else 16.0
        if max_value == 16.0 and images.max(initial=0) > 16:
            max_value = 255.0  # 8×8 rows written on the 0–255 scale
        keep, mean, std = _split_rows(
            images, labels, split, test_fraction, split_seed, max_value, mean, std
        )
        super().__init__(
            images[keep],
            labels[keep],
            max_value=max_value,
            mean=mean,
            std=std,
            flatten=flatten,
            name=f"{os.fspath(path)} ({split})",
        )
