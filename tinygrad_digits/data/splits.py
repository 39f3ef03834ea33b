"""Seeded train/validation splits that keep every class's share (stratified)."""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_split", "train_val_split"]


def _validation_count(n: int, fraction: float) -> int:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1 (exclusive), got {fraction}")
    count = int(round(fraction * n))
    if count == 0 or count == n:
        raise ValueError(
            f"fraction={fraction} of {n} examples leaves an empty split; "
            "use a fraction further from 0 and 1, or more data"
        )
    return count


def stratified_split(
    y: np.ndarray, fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train_indices, val_indices): ``round(fraction * N)`` in validation, per class in
    proportion (largest remainders get the rounding), chosen by a generator seeded with ``seed``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"stratified_split: y must be 1-D labels, got shape {y.shape}")
    total = _validation_count(len(y), fraction)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts * fraction
    per_class = np.floor(exact).astype(np.int64)
    leftover = total - int(per_class.sum())
    order = np.argsort(-(exact - per_class), kind="stable")  # biggest fractional parts first
    per_class[order[:leftover]] += 1
    rng = np.random.default_rng(seed)
    val = []
    for c in range(len(classes)):
        members = np.flatnonzero(inverse == c)
        val.append(rng.permutation(members)[: per_class[c]])
    val_idx = np.sort(np.concatenate(val))
    train_mask = np.ones(len(y), dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


def train_val_split(
    x: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val), holding out ``fraction`` of the examples, seeded."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"train_val_split: x has {len(x)} examples but y has {len(y)}")
    if stratify:
        train_idx, val_idx = stratified_split(y, fraction, seed)
    else:
        perm = np.random.default_rng(seed).permutation(len(y))
        count = _validation_count(len(y), fraction)
        train_idx, val_idx = np.sort(perm[count:]), np.sort(perm[:count])
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]
