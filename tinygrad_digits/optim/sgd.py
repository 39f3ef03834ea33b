"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (as torch)."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend.device import Device
from .optimizer import Optimizer, ParamsT


class SGD(Optimizer):
    """p -= lr * d, where d is the gradient (+ weight_decay * p), passed through momentum.

    With momentum m: buf = m * buf + (1 - dampening) * d (buf = d on the first step), then
    d = buf, or d + m * buf with nesterov=True. maximize=True ascends instead.
    """

    _nonnegative = ("momentum",)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "nesterov": nesterov}
        super().__init__(params, defaults, weight_decay=weight_decay, maximize=maximize)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")

    def _update(self, group: dict[str, Any], params: list[Tensor], grads: list[Any]) -> None:
        momentum = group["momentum"]
        keys = ("momentum_buffer",) if momentum else ()
        states = [self._state(p) for p in params] if momentum else [{} for _ in params]
        made = all(k in st for st in states for k in keys)  # the first step makes the buffers
        arrays, grads, state = self._rule_arrays(params, states, keys, grads, flat=made)
        buffers = state.get("momentum_buffer", [])
        sgd(
            arrays,
            grads,
            buffers,
            lr=group["lr"],
            momentum=momentum,
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            device=params[0].device,
        )
        for st, buf in zip(states, buffers):  # the buffers the first step made (not flat ones)
            st.setdefault("momentum_buffer", buf)


def sgd(
    params: list[Any],
    grads: list[Any],
    momentum_buffers: list[Any],
    *,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    device: Device,
) -> None:
    """SGD's rule over raw arrays on one device, in place. `momentum_buffers` (one per
    parameter when momentum > 0, else empty) may hold None before the first step: the new
    buffer is written into the list. Each parameter's update is one fused kernel (one GPU
    launch; over the optimizer's flat buffer, one for the whole model)."""
    options = {"momentum": bool(momentum), "nesterov": nesterov, "dampened": bool(dampening)}
    step = device.fuse(sgd_kernel, **options)
    for i, (p, d) in enumerate(zip(params, grads)):
        keep = 1.0 - dampening
        if momentum and momentum_buffers[i] is None:  # the first step: buf = 0 * m + 1 * d = d
            momentum_buffers[i] = device.xp.zeros_like(d)
            keep = 1.0  # (torch does not dampen the first step)
        step(p, d, momentum_buffers[i] if momentum else None, lr, momentum, keep)


def sgd_kernel(xp: Any, momentum: bool, nesterov: bool, dampened: bool) -> Any:
    """One SGD update of p (and of the momentum buffer `buf`) in place; `keep` is
    1 - dampening."""

    def sgd_step(p, d, buf, lr, m, keep):
        if momentum:
            buf *= m
            buf += keep * d if dampened else d
            d = d + m * buf if nesterov else buf
        p -= lr * d

    return sgd_step
