"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (as torch)."""

from __future__ import annotations

from .optimizer import Optimizer, ParamsT


class SGD(Optimizer):
    """p -= lr * d, where d is the gradient (+ weight_decay * p), passed through momentum.

    With momentum m: buf = m * buf + (1 - dampening) * d (buf = d on the first step), then
    d = buf, or d + m * buf with nesterov=True. maximize=True ascends instead.
    """

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
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if group["momentum"] < 0:
            raise ValueError(f"SGD: invalid momentum {group['momentum']} (must be >= 0)")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")

    def _step(self) -> None:
        for group in self.param_groups:
            lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
            dampening, nesterov, maximize = group["dampening"], group["nesterov"], group["maximize"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                d = g.data
                if maximize:
                    d = -d
                if wd:
                    d = d + wd * p.data
                if momentum:
                    st = self._state(p)
                    buf = st.get("momentum_buffer")
                    if buf is None:
                        buf = st["momentum_buffer"] = p.device.copy(d)
                    else:
                        buf *= momentum
                        buf += (1.0 - dampening) * d if dampening else d
                    d = d + momentum * buf if nesterov else buf
                p.data -= lr * d
                p._version[0] += 1
