"""Anomaly mode in a real training step: the first NaN/inf is named by op, input shapes and line.

tests/core/test_anomaly.py covers the mechanism on single ops; these follow the issue's words
("raises at the first op whose forward result or backward gradient holds NaN/inf, naming the op,
its input shapes, and the line of user code that created it") through models and losses.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.nn import functional as F


def test_log_of_zero_in_a_hand_written_loss(device: str) -> None:
    model = nn.MLP(4, [8], 3).to(device)
    x = tg.tensor(np.eye(4, dtype=np.float32) * 1e4, device=device)  # softmax underflows to 0
    y = tg.tensor(np.array([0, 1, 2, 0]), device=device)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as err, np.errstate(all="ignore"):
        probs = model(x).softmax(1)
        loss = -(probs * F.one_hot(y, 3).to(probs.dtype)).sum(1).log().mean()  # the line
        loss.backward()
    msg = str(err.value)
    assert msg.startswith("Log produced inf in its forward result")
    assert "inputs of shape (4,)" in msg
    assert "test_doctor_anomaly_mode.py" in msg and ".sum(1).log().mean()  # the line" in msg


def test_zero_over_zero_is_named_as_a_division(device: str) -> None:
    a = tg.zeros(3, device=device, requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as err, np.errstate(all="ignore"):
        ratio = a / a.sum()  # 0 / 0
        ratio.sum().backward()
    msg = str(err.value)
    assert "Div produced NaN" in msg and "(3,), ()" in msg and "ratio = a / a.sum()" in msg


def test_an_infinite_gradient_born_in_backward_names_the_op_that_made_it(device: str) -> None:
    model = nn.MLP(3, [5], 2).to(device)
    x = tg.tensor(np.ones((2, 3), dtype=np.float32), device=device)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as err, np.errstate(all="ignore"):
        out = model(x)
        penalty = (out - out).abs().sqrt().sum()  # sqrt(0): finite forward, infinite slope
        (F.cross_entropy(out, tg.tensor([0, 1], device=device)) + penalty).backward()
    msg = str(err.value)
    assert "Sqrt's backward returned inf" in msg and "(2, 2)" in msg
    assert "penalty = (out - out).abs().sqrt().sum()" in msg


def test_the_line_inside_a_user_module_forward_is_named(device: str) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            h = self.fc(x)
            return (h - h).exp().log().log()  # log(log(1)) = log(0)

    net = Net().to(device)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as err, np.errstate(all="ignore"):
        net(tg.tensor([[1.0, 2.0]], device=device))
    msg = str(err.value)
    assert "Log produced inf" in msg and "in forward" in msg and ".exp().log().log()" in msg


def test_exploding_weights_are_caught_at_the_first_overflowing_op(device: str) -> None:
    model = nn.MLP(4, [4], 2).to(device)
    with tg.no_grad():
        model.layers[0].weight.fill_(1e30)
    x = tg.tensor(np.full((2, 4), 1e10, dtype=np.float32), device=device)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as err, np.errstate(all="ignore"):
        model(x)
    assert "Linear produced inf" in str(err.value) and "(2, 4), (4, 4), (4,)" in str(err.value)
