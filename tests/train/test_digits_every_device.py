"""Integration smoke test: the digits recogniser trains to a real accuracy on every device."""

from __future__ import annotations

import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, Digits
from tinygrad_digits.training import evaluate, fit

pytest.importorskip("sklearn")


def test_digits_mlp_reaches_95_percent(device: str) -> None:
    tg.manual_seed(0)
    train, test = Digits(True, flatten=True), Digits(False, flatten=True)
    model = nn.MLP(64, [128, 64], 10).to(device)
    fit(
        model,
        DataLoader(train, 32, shuffle=True, seed=0, device=device),
        None,
        optim.Adam(model.parameters(), lr=2e-3),
        epochs=12,
        device=device,
        progress=False,
        log=None,
    )
    _, accuracy, _ = evaluate(model, DataLoader(test, 512, device=device))
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f} on {device}"
