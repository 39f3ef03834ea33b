"""cupy.random in the stand-in: one generator per device, seeded by cupy.random.seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _make, standin

_generators: dict[int, np.random.Generator] = {}


def _gen() -> np.random.Generator:
    here = standin.current[0]
    found = _generators.get(here)
    if found is None:
        found = _generators[here] = np.random.default_rng()
    return found


def seed(seed: int | None = None) -> None:
    _generators[standin.current[0]] = np.random.default_rng(seed)


def random(size: Any = None, dtype: Any = float) -> Any:
    return _make(np.asarray(_gen().random(size, dtype=dtype)))


def standard_normal(size: Any = None, dtype: Any = float) -> Any:
    return _make(np.asarray(_gen().standard_normal(size, dtype=dtype)))


def uniform(low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = float) -> Any:
    return _make(np.asarray(_gen().uniform(low, high, size).astype(dtype)))


def normal(loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = float) -> Any:
    return _make(np.asarray(_gen().normal(loc, scale, size).astype(dtype)))


def randint(low: int, high: int | None = None, size: Any = None, dtype: Any = int) -> Any:
    return _make(np.asarray(_gen().integers(low, high, size).astype(dtype)))


def permutation(n: int) -> Any:
    return _make(_gen().permutation(n))
