"""The MLP's backprop against finite differences on a real batch, and a short training run."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.nn import functional as F
from tinygrad_digits.nn.utils import functional_call

datasets = pytest.importorskip("sklearn.datasets", reason="needs scikit-learn for the digits")


def digits_batch(n: int, device: str, dtype=tg.float64) -> tuple[tg.Tensor, tg.Tensor]:
    x, y = datasets.load_digits(return_X_y=True)
    return tg.tensor(x[:n] / 16.0, dtype=dtype, device=device), tg.tensor(y[:n], device=device)


@pytest.mark.parametrize("dev", ["cpu", "strict"])
def test_mlp_64_32_10_backprop_matches_finite_differences(dev: str) -> None:
    model = nn.MLP(64, [32], 10).double().to(dev)
    x, y = digits_batch(32, dev)
    names = [n for n, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]

    def loss(*ps: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(functional_call(model, dict(zip(names, ps)), (x,)), y)

    assert tg.gradcheck(loss, params, fast_mode=True)
    # and one directional check over everything at once, from the same backward pass
    loss(*params).backward()
    rng = np.random.default_rng(0)
    dirs = [rng.standard_normal(p.shape) for p in params]
    analytic = sum(float((p.grad.cpu().numpy() * d).sum()) for p, d in zip(params, dirs))
    eps = 1e-6

    def shifted(sign: float) -> float:
        moved = [p.detach() + tg.tensor(sign * eps * d, device=dev) for p, d in zip(params, dirs)]
        return loss(*moved).item()

    numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
    assert abs(numeric - analytic) <= 1e-6 + 1e-5 * abs(numeric)


@pytest.mark.parametrize("dev", ["cpu", "strict"])
def test_mlp_learns_digits_quickly(dev: str) -> None:
    x, y = digits_batch(600, dev, tg.float32)
    model = nn.MLP(64, [32], 10).to(dev)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert loss.item() < 0.3 and acc > 0.95
