"""The saved-state contract: what backward reads is declared, version-checked and freed by the
engine; the raw-array rule serves unrecorded backward passes, the Tensor-op rule recorded ones."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.ops.matmul import Linear


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def test_declared_state_is_visible_and_freed_after_backward() -> None:
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    assert node.saved_inputs() == () and set(node.saved_arrays) == {"output"}
    m = (x * y).grad_fn
    assert m.saved_inputs() == (0, 1) and m.saved_arrays == {}
    r = x.relu().grad_fn
    assert r.saved_inputs() == () and set(r.saved_arrays) == {"output"}
    (x * y).sum().backward()
    assert node.parents is None and node.saved_arrays == {}


def test_retain_graph_keeps_saved_state_for_a_second_backward() -> None:
    x = tg.tensor([0.5], requires_grad=True)
    y = x.tanh().sum()
    y.backward(retain_graph=True)
    assert "output" in y.grad_fn.parents[0].grad_fn.saved_arrays
    y.backward()
    np.testing.assert_allclose(host(x.grad), 2 * (1 - np.tanh(0.5) ** 2), rtol=1e-6)
    with pytest.raises(tg.GradientError, match="second time"):
        y.backward()


def test_a_retained_subset_of_inputs_is_version_checked() -> None:
    cond = tg.tensor([True, False])
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    out = tg.where(cond, a, b)
    assert out.grad_fn.saved_inputs() == (0,)  # the condition; a and b only route gradients
    with tg.no_grad():
        b.add_(1.0)  # not saved: no error
    cond[0] = False
    with pytest.raises(tg.GradientError, match="Where's input 0"):
        out.sum().backward()


def test_changing_a_saved_output_in_place_is_an_error() -> None:
    x = tg.tensor([1.0], requires_grad=True)
    y = x.sigmoid()
    z = y.detach()
    z.add_(1.0)  # shares the version counter with y
    with pytest.raises(tg.GradientError, match="output of Sigmoid"):
        y.sum().backward()


class Counting(Linear):
    raw = 0
    recorded = 0

    def backward(self, g):
        Counting.recorded += 1
        return super().backward(g)

    def backward_arrays(self, g):
        Counting.raw += 1
        return super().backward_arrays(g)


def test_engine_uses_the_raw_rule_unless_backward_is_recorded() -> None:
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    w = tg.randn(2, 4, dtype=tg.float64, requires_grad=True)
    b = tg.randn(2, dtype=tg.float64, requires_grad=True)
    Counting.raw = Counting.recorded = 0
    (Counting.apply(x, w, b) ** 2).sum().backward()
    raw = [host(t.grad) for t in (x, w, b)]
    assert (Counting.raw, Counting.recorded) == (1, 0)
    grads = tg.grad((Counting.apply(x, w, b) ** 2).sum(), [x, w, b], create_graph=True)
    assert (Counting.raw, Counting.recorded) == (1, 1)
    for got, want in zip(grads, raw):
        np.testing.assert_allclose(host(got), want, rtol=1e-12)


def test_raw_linear_rule_handles_batch_dims() -> None:
    x = tg.randn(2, 3, 4, dtype=tg.float64, requires_grad=True)
    w = tg.randn(5, 4, dtype=tg.float64, requires_grad=True)
    b = tg.randn(5, dtype=tg.float64, requires_grad=True)
    tg.gradcheck(lambda x, w, b: Linear.apply(x, w, b), [x, w, b])
    (Linear.apply(x, w, b) ** 2).sum().backward()
    raw = [host(t.grad) for t in (x, w, b)]
    recorded = tg.grad((Linear.apply(x, w, b) ** 2).sum(), [x, w, b], create_graph=True)
    for got, want in zip(recorded, raw):
        np.testing.assert_allclose(host(got), want, rtol=1e-12)
