"""Training augmentation for 28×28 images: every epoch sees each digit slightly moved, turned,
resized and written with a slightly thinner or thicker pen, as people's own digits differ from
MNIST's. NumPy only, a whole batch at a time, reproducible from a seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from .loader import Dataset, Index, _fetch

__all__ = ["Augmented", "RandomDistortion"]


class RandomDistortion:
    """Random shift (up to ``shift`` pixels), rotation (up to ``degrees``), scale (within
    ``scale``) and, with probability ``stroke_p``, a pen one pixel thinner or thicker.

    Works on (N, H, W), (N, 1, H, W) or flat (N, H*W) square images of any normalisation: the
    background is taken as each image's darkest value, so normalised batches keep theirs.
    """

    def __init__(
        self,
        shift: float = 2.0,
        degrees: float = 10.0,
        scale: tuple[float, float] = (0.9, 1.1),
        stroke_p: float = 0.3,
        seed: int | None = None,
    ) -> None:
        self.shift, self.degrees, self.scale, self.stroke_p = shift, degrees, scale, stroke_p
        self.rng = np.random.default_rng(seed)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        shape = images.shape
        n = shape[0]
        side = int(round(np.sqrt(np.prod(shape[1:]))))
        x = np.asarray(images, dtype=np.float32).reshape(n, side, side)
        x = self._warp(x)
        x = self._pen(x)
        return x.reshape(shape).astype(images.dtype, copy=False)

    def _warp(self, x: np.ndarray) -> np.ndarray:
        """Bilinear resampling of each image under its own random affine map (about the centre)."""
        n, side, _ = x.shape
        rng = self.rng
        angle = np.deg2rad(rng.uniform(-self.degrees, self.degrees, n))
        zoom = rng.uniform(*self.scale, n)
        dy, dx = rng.uniform(-self.shift, self.shift, (2, n))
        centre = (side - 1) / 2
        ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) - centre
        cos, sin = (np.cos(angle) / zoom)[:, None, None], (np.sin(angle) / zoom)[:, None, None]
        # Where each output pixel comes from: the inverse map, output -> input.
        src_y = cos * (ys - dy[:, None, None]) - sin * (xs - dx[:, None, None]) + centre
        src_x = sin * (ys - dy[:, None, None]) + cos * (xs - dx[:, None, None]) + centre
        y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
        fy, fx = src_y - y0, src_x - x0
        background = x.min(axis=(1, 2))
        # One extra pixel per image, index side*side: the background, for points outside.
        padded = np.concatenate([x.reshape(n, -1), background[:, None]], axis=1)
        rows = np.arange(n)[:, None, None]

        def pick(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
            inside = (yy >= 0) & (yy < side) & (xx >= 0) & (xx < side)
            flat = np.where(inside, yy * side + xx, side * side)
            return padded[rows, flat]

        top = pick(y0, x0) * (1 - fx) + pick(y0, x0 + 1) * fx
        bottom = pick(y0 + 1, x0) * (1 - fx) + pick(y0 + 1, x0 + 1) * fx
        return (top * (1 - fy) + bottom * fy).astype(np.float32)

    def _pen(self, x: np.ndarray) -> np.ndarray:
        """A pen one pixel thicker (3×3 max) or thinner (3×3 min) for a ``stroke_p`` share."""
        n = len(x)
        change = self.rng.random(n) < self.stroke_p
        thicker = self.rng.random(n) < 0.5
        if not change.any():
            return x
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
        side = x.shape[1]
        windows = [padded[:, i : i + side, j : j + side] for i in range(3) for j in range(3)]
        grown, shrunk = np.max(windows, axis=0), np.min(windows, axis=0)
        pen = np.where(thicker[:, None, None], grown, shrunk)
        return np.where(change[:, None, None], pen, x)


class Augmented(Dataset):
    """``dataset`` with ``transform`` applied to every batch of images it hands out (labels
    untouched); dataset facts (classes, normalization, side) read through."""

    def __init__(self, dataset: Dataset, transform: Any) -> None:
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(field[0] for field in self.__getitems__(np.array([index])))

    def __getitems__(self, indices: Index) -> tuple[np.ndarray, ...]:
        images, *rest = _fetch(self.dataset, indices)
        return (self.transform(images), *rest)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("dataset", "transform"):
            raise AttributeError(name)
        return getattr(self.dataset, name)
