"""Adam and AdamW: per-parameter moment estimates with bias correction 1 - beta^t."""

from __future__ import annotations

import math

from .optimizer import Optimizer, ParamsT


class Adam(Optimizer):
    """m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2 ; p -= lr/(1-b1^t) m / (sqrt(v/(1-b2^t)) + eps).

    t counts the steps this parameter has taken (once per step() call). weight_decay adds
    weight_decay * p to the gradient (L2, as torch.optim.Adam); use AdamW for decoupled decay.
    amsgrad=True divides by the running maximum of v instead of v.
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        b1, b2 = group["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {(b1, b2)}")
        if group["eps"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid eps {group['eps']} (must be >= 0)")

    def _step(self) -> None:
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                xp = p.device.xp
                g = p.grad.data
                if maximize:
                    g = -g
                if wd and self._decoupled:
                    p.data *= 1.0 - lr * wd
                elif wd:
                    g = g + wd * p.data
                st = self._state(p)
                if not st:
                    st["step"] = 0
                    st["exp_avg"] = xp.zeros_like(p.data)
                    st["exp_avg_sq"] = xp.zeros_like(p.data)
                    if amsgrad:
                        st["max_exp_avg_sq"] = xp.zeros_like(p.data)
                st["step"] += 1
                t = st["step"]
                m, v = st["exp_avg"], st["exp_avg_sq"]
                m *= b1
                m += (1.0 - b1) * g
                sq = g * g
                sq *= 1.0 - b2
                v *= b2
                v += sq
                if amsgrad:
                    vmax = st.get("max_exp_avg_sq")
                    vmax = xp.maximum(xp.zeros_like(v) if vmax is None else vmax, v)
                    st["max_exp_avg_sq"] = vmax
                    denom = xp.sqrt(vmax)
                else:
                    denom = xp.sqrt(v)
                # lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), with sqrt(bc2) moved to the numerator:
                # the same value, one pass over the parameter fewer
                root_bc2 = math.sqrt(1.0 - b2**t)
                denom += eps * root_bc2
                update = m / denom
                update *= lr * root_bc2 / (1.0 - b1**t)
                p.data -= update
                p._version[0] += 1


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step
    (default weight_decay 0.01, as torch)."""

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
