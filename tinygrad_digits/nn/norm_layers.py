"""Normalisation layers over features, not the batch: LayerNorm and GroupNorm (the same in
training and evaluation, so no running statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend.registry import DeviceLike
from . import functional as F
from . import init
from .layers import _empty
from .module import Module


def _parameter(
    module: Module, name: str, shape: tuple, wanted: bool, device: DeviceLike, dtype: Any
) -> None:
    """A parameter of `shape`, or a registered None (as torch, for state_dict and repr)."""
    if wanted:
        setattr(module, name, _empty(shape, device, dtype))
    else:
        module.register_parameter(name, None)


class LayerNorm(Module):
    """Standardise the last dims (normalized_shape) of each sample; weight 1 and bias 0 at
    first, of shape normalized_shape (as torch)."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape, self.eps = tuple(shape), float(eps)
        self.elementwise_affine = elementwise_affine
        _parameter(self, "weight", self.normalized_shape, elementwise_affine, device, dtype)
        _parameter(self, "bias", self.normalized_shape, elementwise_affine and bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Any:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Standardise each of num_groups groups of channels of each sample of (N, C, ...); a
    weight and bias per channel."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), affine
        _parameter(self, "weight", (num_channels,), affine, device, dtype)
        _parameter(self, "bias", (num_channels,), affine, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Any:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
