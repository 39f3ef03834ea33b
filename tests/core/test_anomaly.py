"""detect_anomaly names the op, its input shapes and the user's line."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.autograd.anomaly import AnomalyError, detect_anomaly


def test_log_of_zero_is_caught_at_the_op_and_line(device: str) -> None:
    x = tg.tensor([1.0, 0.0, 2.0], device=device, requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError) as err:
        y = x.log()  # the line the error must name
        y.sum().backward()
    msg = str(err.value)
    assert "Log" in msg and "inf" in msg and "(3,)" in msg
    assert "test_anomaly.py" in msg and "y = x.log()" in msg


def test_nan_gradient_is_caught_in_backward(device: str) -> None:
    x = tg.tensor([0.0, 4.0], device=device, requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError) as err, np.errstate(divide="ignore"):
        y = x.sqrt()  # finite forward, infinite gradient at 0
        y.sum().backward()
    msg = str(err.value)
    assert "Sqrt's backward returned inf" in msg and "input 0" in msg and "y = x.sqrt()" in msg


def test_nan_reaching_an_op_is_caught(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    with detect_anomaly(), pytest.raises(AnomalyError, match="gradient reaching Exp"):
        y = x.exp()
        y.backward(tg.tensor([float("nan"), 1.0], device=device))


def test_healthy_code_runs_unchanged_and_hooks_are_removed(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    with detect_anomaly():
        (x.exp() * 2).sum().backward()
    assert x.grad is not None
    from tinygrad_digits.autograd import hooks

    assert not hooks.any_registered()
    y = tg.tensor([0.0], device=device).log()  # outside: no error
    assert y.item() == float("-inf")


def test_nan_already_in_the_input_is_not_blamed_on_the_op(device: str) -> None:
    w = tg.tensor([[1.0, 2.0]], device=device, requires_grad=True)
    x = tg.tensor([[float("nan")], [1.0]], device=device)
    with detect_anomaly(), pytest.raises(AnomalyError, match="already there") as err:
        x @ w
    assert "input 0" in str(err.value) and "(2, 1)" in str(err.value)
