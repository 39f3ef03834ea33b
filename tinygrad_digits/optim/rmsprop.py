"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend.device import Device
from .optimizer import Optimizer, ParamsT


class RMSprop(Optimizer):
    """s = alpha s + (1-alpha) g^2 ; p -= lr * g / (sqrt(s) + eps) (torch's rule).

    centered=True subtracts the squared running mean of g inside the sqrt; momentum > 0
    keeps buf = momentum * buf + g / (sqrt(s) + eps) and steps by lr * buf.
    """

    _nonnegative = ("alpha", "eps", "momentum")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults, weight_decay=weight_decay, maximize=maximize)

    def _update(self, group: dict[str, Any], params: list[Tensor], grads: list[Any]) -> None:
        momentum, centered = group["momentum"], group["centered"]
        buffers = ("square_avg",)
        if momentum > 0:
            buffers += ("momentum_buffer",)
        if centered:
            buffers += ("grad_avg",)
        states = [self._count_step(p, buffers) for p in params]
        rmsprop(
            [p.data for p in params],
            grads,
            [st["square_avg"] for st in states],
            [st["grad_avg"] for st in states] if centered else [],
            [st["momentum_buffer"] for st in states] if momentum > 0 else [],
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            momentum=momentum,
            device=params[0].device,
        )


def rmsprop(
    params: list[Any],
    grads: list[Any],
    square_avgs: list[Any],
    grad_avgs: list[Any],
    momentum_buffers: list[Any],
    *,
    lr: float,
    alpha: float,
    eps: float,
    momentum: float,
    device: Device,
) -> None:
    """RMSprop's rule over raw arrays on one device, in place; `grad_avgs` is empty unless
    centered, `momentum_buffers` empty unless momentum > 0."""
    xp = device.xp
    for i, (p, g, sq) in enumerate(zip(params, grads, square_avgs)):
        sq *= alpha
        sq += (1.0 - alpha) * (g * g)
        if grad_avgs:
            ga = grad_avgs[i]
            ga *= alpha
            ga += (1.0 - alpha) * g
            avg = xp.sqrt(sq - ga * ga)
        else:
            avg = xp.sqrt(sq)
        avg += eps
        if momentum_buffers:
            buf = momentum_buffers[i]
            buf *= momentum
            buf += g / avg
            p -= lr * buf
        else:
            p -= lr * (g / avg)
