"""Adam and AdamW: per-parameter moment estimates with bias correction 1 - beta^t."""

from __future__ import annotations

import math
from typing import Any

from ..autograd.tensor import Tensor
from ..backend.device import Device
from .optimizer import Optimizer, ParamsT


class Adam(Optimizer):
    """m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2 ; p -= lr/(1-b1^t) m / (sqrt(v/(1-b2^t)) + eps).

    t counts the steps this parameter has taken (once per step() call). weight_decay adds
    weight_decay * p to the gradient (L2, as torch.optim.Adam); use AdamW for decoupled decay.
    amsgrad=True divides by the running maximum of v instead of v.
    weight_decay=None takes the class's default: 0 for Adam, 0.01 for AdamW (as torch).
    """

    default_weight_decay = 0.0
    _nonnegative = ("eps",)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if weight_decay is None:
            weight_decay = self.default_weight_decay
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "amsgrad": amsgrad}
        super().__init__(params, defaults, weight_decay=weight_decay, maximize=maximize)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        b1, b2 = group["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {(b1, b2)}")

    def _update(self, group: dict[str, Any], params: list[Tensor], grads: list[Any]) -> None:
        amsgrad = group["amsgrad"]
        buffers = (
            ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
        )
        states = [self._count_step(p, buffers) for p in params]
        steps = [st["step"] for st in states]
        one_t = steps.count(steps[0]) == len(steps)  # flat buffers need one t for all
        arrays, grads, state = self._rule_arrays(params, states, buffers, grads, flat=one_t)
        steps = steps[: len(arrays)]
        beta1, beta2 = group["betas"]
        adam(
            arrays,
            grads,
            state["exp_avg"],
            state["exp_avg_sq"],
            state["max_exp_avg_sq"] if amsgrad else [],
            steps,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            decoupled_weight_decay=group["weight_decay"] if self.decoupled_weight_decay else 0.0,
            device=params[0].device,
        )


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step
    (default weight_decay 0.01, as torch)."""

    default_weight_decay = 1e-2
    decoupled_weight_decay = True


def adam(
    params: list[Any],
    grads: list[Any],
    exp_avgs: list[Any],
    exp_avg_sqs: list[Any],
    max_exp_avg_sqs: list[Any],
    steps: list[int],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    decoupled_weight_decay: float,
    device: Device,
) -> None:
    """Adam's rule over raw arrays on one device, in place; `steps` holds each parameter's t
    for this update, `max_exp_avg_sqs` is empty unless amsgrad. Each parameter is one fused
    kernel (one GPU launch; over the optimizer's flat buffer, one for the whole model)."""
    amsgrad = bool(max_exp_avg_sqs)
    step = device.fuse(adam_kernel, decoupled=bool(decoupled_weight_decay), amsgrad=amsgrad)
    decay = 1.0 - lr * decoupled_weight_decay
    for i, (p, g, m, v, t) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs, steps)):
        # lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), with sqrt(bc2) moved to the numerator:
        # the same value, one pass over the parameter fewer
        root_bc2 = math.sqrt(1.0 - beta2**t)
        step_size = lr * root_bc2 / (1.0 - beta1**t)
        vmax = max_exp_avg_sqs[i] if amsgrad else None
        step(
            p,
            g,
            m,
            v,
            vmax,
            decay,
            beta1,
            1.0 - beta1,
            beta2,
            1.0 - beta2,
            step_size,
            eps * root_bc2,
        )


def adam_kernel(xp: Any, decoupled: bool, amsgrad: bool) -> Any:
    """One Adam update of p, m, v (and v's running maximum `vmax` for amsgrad) in place;
    c1 = 1 - beta1, c2 = 1 - beta2, `decay` = 1 - lr * weight_decay (AdamW)."""

    def adam_step(p, g, m, v, vmax, decay, beta1, c1, beta2, c2, step_size, eps_hat):
        if decoupled:
            p *= decay
        m *= beta1
        m += c1 * g
        v *= beta2
        v += c2 * (g * g)
        if amsgrad:
            vmax[...] = xp.maximum(vmax, v)
            denom = xp.sqrt(vmax) + eps_hat
        else:
            denom = xp.sqrt(v) + eps_hat
        p -= (m / denom) * step_size

    return adam_step
