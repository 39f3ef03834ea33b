"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from .optimizer import Optimizer, ParamsT


class RMSprop(Optimizer):
    """s = alpha s + (1-alpha) g^2 ; p -= lr * g / (sqrt(s) + eps) (torch's rule).

    centered=True subtracts the squared running mean of g inside the sqrt; momentum > 0
    keeps buf = momentum * buf + g / (sqrt(s) + eps) and steps by lr * buf.
    """

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
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if group["alpha"] < 0.0:
            raise ValueError(f"RMSprop: invalid alpha {group['alpha']} (must be >= 0)")
        if group["momentum"] < 0 or group["eps"] < 0:
            raise ValueError("RMSprop: momentum and eps must be >= 0")

    def _step(self) -> None:
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                xp = p.device.xp
                g = p.grad.data
                if maximize:
                    g = -g
                if wd:
                    g = g + wd * p.data
                st = self._state(p)
                if not st:
                    st["step"] = 0
                    st["square_avg"] = xp.zeros_like(p.data)
                    if momentum > 0:
                        st["momentum_buffer"] = xp.zeros_like(p.data)
                    if centered:
                        st["grad_avg"] = xp.zeros_like(p.data)
                st["step"] += 1
                sq = st["square_avg"]
                sq *= alpha
                sq += (1.0 - alpha) * (g * g)
                if centered:
                    ga = st.setdefault("grad_avg", xp.zeros_like(p.data))
                    ga *= alpha
                    ga += (1.0 - alpha) * g
                    avg = xp.sqrt(sq - ga * ga)
                else:
                    avg = xp.sqrt(sq)
                avg += eps
                if momentum > 0:
                    buf = st.setdefault("momentum_buffer", xp.zeros_like(p.data))
                    buf *= momentum
                    buf += g / avg
                    p.data -= lr * buf
                else:
                    p.data -= lr * (g / avg)
                p._version[0] += 1
