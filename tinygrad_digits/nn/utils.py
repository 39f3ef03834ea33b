"""Gradient clipping and functional_call (run a module with substitute parameters)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..autograd.tensor import Tensor
from .module import Module


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _on(array: Any, src: Any, dst: Any) -> Any:
    return dst.receive(array, src)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so their joint norm is at most max_norm.

    Returns the norm before clipping as a 0-d tensor. The scale factor stays on the device
    (no host round trip); grads already within the limit are multiplied by exactly 1.
    """
    grads = _grads(parameters)
    if not grads:
        from ..autograd.factories import tensor

        return tensor(0.0)
    norm_type = float(norm_type)
    dev = grads[0].device
    with dev.context:  # CuPy computes on the current GPU
        total = _total_norm(grads, dev, norm_type)
        if error_if_nonfinite and not bool(dev.to_numpy(dev.xp.isfinite(total))):
            raise RuntimeError(
                f"clip_grad_norm_: the total {norm_type}-norm of the gradients is non-finite, "
                "so they can't be clipped; set error_if_nonfinite=False to scale them anyway"
            )
        coef = dev.xp.clip(max_norm / (total + 1e-6), None, 1.0)
    for g in grads:
        factor = _on(coef, dev, g.device)
        with g.device.context:
            if g.device.is_broadcast_view(g.data):  # never write through a stride-0 view
                g.data = g.data * factor
            else:
                try:
                    g.data *= factor
                except (ValueError, TypeError):  # read-only memory
                    g.data = g.data * factor
        g._bump_version()
    return Tensor._make(total, dev, False)


def _total_norm(grads: list[Tensor], dev: Any, norm_type: float) -> Any:
    """The joint norm of all gradients, on `dev`; each gradient's part on its own device."""
    parts = []
    for g in grads:
        gx = g.device.xp
        with g.device.context:
            if math.isinf(norm_type):
                part = gx.max(gx.abs(g.data))
            elif norm_type == 2.0:
                part = gx.sqrt(gx.sum(g.data * g.data))
            else:
                part = gx.sum(gx.abs(g.data) ** norm_type) ** (1.0 / norm_type)
        parts.append(_on(part, g.device, dev))
    xp = dev.xp
    stacked = xp.stack(parts)
    if math.isinf(norm_type):
        return xp.max(stacked)
    if norm_type == 2.0:
        return xp.sqrt(xp.sum(stacked * stacked))
    return xp.sum(stacked**norm_type) ** (1.0 / norm_type)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    v = float(clip_value)
    for g in _grads(parameters):
        g.data = g.device.xp.clip(g.data, -v, v)
        g._bump_version()


def functional_call(
    module: Module,
    parameters_and_buffers: Mapping[str, Tensor],
    args: Any = (),
    kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """Call `module` with some parameters/buffers replaced by the given tensors (by dotted
    name), then restore the originals. Lets gradcheck and per-sample tricks treat a model's
    weights as ordinary function inputs, as torch.func.functional_call does."""
    swapped: list[tuple[Module, str, Any]] = []
    try:
        for name, value in parameters_and_buffers.items():
            path, _, attr = name.rpartition(".")
            owner = module.get_submodule(path)
            if attr not in owner._parameters and attr not in owner._buffers:
                raise KeyError(
                    f"functional_call: {type(owner).__name__} has no parameter or buffer "
                    f"'{attr}' (from '{name}')"
                )
            swapped.append((owner, attr, owner.__dict__[attr]))
            owner.__dict__[attr] = value
        if not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attr, old in reversed(swapped):
            owner.__dict__[attr] = old


__all__ = ["clip_grad_norm_", "clip_grad_value_", "functional_call"]
