"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (as torch)."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend.device import Device
from .flat import flat_grads
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
        device = params[0].device
        if all(k in st for st in states for k in keys):  # one pass over a flat buffer
            bucket = self._flat(params, states, keys)
            arrays, grads = [bucket.param], [flat_grads(device, grads)]
            buffers = [bucket.state[k] for k in keys]
        else:  # the first step with momentum makes the buffers, one per parameter
            arrays, buffers = [p.data for p in params], [st.get(k) for st in states for k in keys]
        sgd(
            arrays,
            grads,
            buffers,
            lr=group["lr"],
            momentum=momentum,
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            device=device,
        )
        if len(arrays) == len(params):
            for st, buf in zip(states, buffers):
                st["momentum_buffer"] = buf


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
    buffer is written into the list."""
    for i, (p, d) in enumerate(zip(params, grads)):
        if momentum:
            buf = momentum_buffers[i]
            if buf is None:
                buf = momentum_buffers[i] = device.copy(d)
            else:
                buf *= momentum
                buf += (1.0 - dampening) * d if dampening else d
            d = d + momentum * buf if nesterov else buf
        p -= lr * d
