"""Drawing a graph after loss.backward(), as torchviz users do: backward frees the saved arrays
but keeps the structure (like PyTorch's grad_fn.next_functions)."""

from __future__ import annotations

import gc
import math
import weakref

import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, viz
from tinygrad_digits.errors import GradientError


def _model_and_loss():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = tg.randn(5, 4)
    return model, x, nn.functional.cross_entropy(model(x), tg.tensor([0, 1, 0, 1, 1]))


def test_draw_after_backward_shows_the_structure_and_parameter_grads():
    model, _, loss = _model_and_loss()
    before = viz.capture(loss, model=model)
    loss.backward()
    after = viz.capture(loss, model=model)
    assert [(n.kind, n.label, n.shape) for n in after.nodes] == [
        (n.kind, n.label, n.shape) for n in before.nodes
    ]
    ops = [n for n in after.nodes if n.kind == "op"]
    assert all(n.value is None for n in ops if not n.is_output)  # the arrays are gone
    after.refresh_leaf_grads()
    weight = next(n for n in after.nodes if n.label == "0.weight")
    assert weight.grad is not None and weight.grad.norm > 0
    dot = viz.to_dot(loss)
    assert "Linear" in dot or "MatMul" in dot


def test_backward_keeps_no_activation_alive_and_no_cycle():
    model, x, _ = _model_and_loss()
    hidden = model[0](x)
    seen = weakref.ref(hidden.data)
    loss = model[2](model[1](hidden)).sum()
    del hidden
    was = gc.isenabled()
    gc.disable()  # freed by reference counting alone: no cycle holds it
    try:
        loss.backward()
        assert seen() is None
    finally:
        if was:
            gc.enable()


def test_second_backward_still_gives_the_clear_error():
    _, _, loss = _model_and_loss()
    loss.backward()
    with pytest.raises(GradientError, match="second time"):
        loss.backward()


def test_an_input_changed_in_place_is_drawn_as_it_was_used():
    w = tg.randn(3, requires_grad=True)
    x = w * 2
    y = x.exp()  # reads x before the in-place add below
    x.add_(1)
    loss = (y * x).sum()
    before = viz.to_dot(loss).count("->")
    loss.backward()
    assert viz.to_dot(loss).count("->") == before


def _drawn(loss):
    nodes = viz.capture(loss).nodes
    return sorted((n.kind, n.label, n.shape) for n in nodes), viz.to_dot(loss).count("->")


@pytest.mark.parametrize("drawn_first", [False, True])
def test_an_input_changed_twice_and_read_by_several_ops_is_drawn_as_each_used_it(drawn_first):
    def build():
        w = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = w * 1
        a, b = y.exp(), y.relu() - y  # neither reads y's value in backward
        y.mul_(3)
        y.add_(1)
        return w, (a + b + y).sum()

    w, loss = build()
    before = _drawn(loss if drawn_first else build()[1])
    loss.backward()
    assert _drawn(loss) == before
    expected = [math.exp(0.5) + 3, math.exp(-1.0) - 1 + 3, math.exp(2.0) + 3]
    assert w.grad.tolist() == pytest.approx(expected)
