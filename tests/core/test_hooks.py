"""Hooks with removable handles: per thread, removed by the handle or a `with` block, even when
the block raises; module forward hooks and tensor gradient hooks follow torch."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.autograd import hooks


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def step(x: tg.Tensor) -> None:
    (x * 2).exp().sum().backward()


def test_handle_remove_stops_the_hook_and_is_idempotent() -> None:
    seen: list[str] = []
    handle = hooks.register_forward_op_hook(lambda node, out: seen.append(node.name))
    x = tg.ones(2, requires_grad=True)
    (x * 2).exp().sum()
    assert seen == ["Mul", "Exp", "Sum"]
    handle.remove()
    handle.remove()  # a second remove does nothing
    step(x)
    assert seen == ["Mul", "Exp", "Sum"]
    assert not hooks.any_registered()


def test_context_manager_removes_each_kind_even_when_the_body_raises() -> None:
    grads: list[str] = []
    rules: list[int] = []
    x = tg.ones(2, requires_grad=True)
    with (
        pytest.raises(RuntimeError, match="boom"),
        hooks.register_grad_hook(lambda node, g: grads.append(node.name)),
        hooks.register_backward_rule_hook(lambda node, gs: rules.append(len(gs))),
    ):
        step(x)
        raise RuntimeError("boom")
    assert grads == ["Sum", "Exp", "Mul"]
    assert rules == [1, 1, 2]
    assert not hooks.any_registered()
    step(x)
    assert len(grads) == 3


def test_nested_registrations_run_in_order_and_unwind_separately() -> None:
    calls: list[str] = []
    x = tg.ones(1, requires_grad=True)
    with hooks.register_forward_op_hook(lambda n, o: calls.append("outer")):
        with hooks.register_forward_op_hook(lambda n, o: calls.append("inner")):
            _ = x * 2
        _ = x * 3
    _ = x * 4
    assert calls == ["outer", "inner", "outer"]


def test_the_same_function_registered_twice_runs_twice_and_removes_once() -> None:
    calls: list[int] = []

    def hook(node, out):
        calls.append(1)

    first = hooks.register_forward_op_hook(hook)
    with hooks.register_forward_op_hook(hook):
        _ = tg.ones(1) + 1
        assert len(calls) == 2
    _ = tg.ones(1) + 1
    assert len(calls) == 3
    first.remove()
    assert not hooks.any_registered()


def test_a_hook_registered_in_one_thread_does_not_fire_in_another() -> None:
    seen: list[str] = []
    other_thread_hooks: list[bool] = []

    def work() -> None:
        other_thread_hooks.append(hooks.any_registered())
        step(tg.ones(2, requires_grad=True))

    with hooks.register_forward_op_hook(lambda n, o: seen.append(n.name)):
        t = threading.Thread(target=work)
        t.start()
        t.join()
    assert seen == [] and other_thread_hooks == [False]


def test_module_stack_is_per_thread_and_unwinds_after_an_error() -> None:
    inside: list[tuple] = []

    class Spy(nn.Module):
        def forward(self, x):
            inside.append(hooks.running_modules())
            t = threading.Thread(target=lambda: inside.append(hooks.running_modules()))
            t.start()
            t.join()
            raise ValueError("stop")

    spy = Spy()
    with pytest.raises(ValueError):
        spy(tg.ones(1))
    assert inside == [(spy,), ()]
    assert hooks.running_modules() == ()


def test_module_forward_hooks_see_and_replace_args_and_output() -> None:
    lin = nn.Linear(2, 2)
    seen: list[tuple] = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: seen.append((m, args[0])) or out + 1)
    out = lin(tg.ones(1, 2))
    assert seen[0][0] is lin and host(seen[0][1]).tolist() == [[0.0, 0.0]]
    np.testing.assert_allclose(host(out), host(lin.bias)[None] + 1, rtol=1e-6)
    with pre, post:
        pass  # leaving the block removes both
    out = lin(tg.ones(1, 2))
    np.testing.assert_allclose(host(out), host(lin(tg.ones(1, 2))))
    assert len(seen) == 1


def test_tensor_hook_on_an_intermediate_can_replace_its_gradient() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen: list[list[float]] = []
    handle = y.register_hook(lambda g: seen.append(host(g).tolist()) or g * 10)
    y.sum().backward()
    assert seen == [[1.0, 1.0]]
    assert host(x.grad).tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert host(x.grad).tolist() == [3.0, 3.0]


def test_tensor_hook_on_a_leaf_sees_its_gradient_before_accumulation() -> None:
    w = tg.tensor([1.0, -1.0], requires_grad=True)
    with w.register_hook(lambda g: g.clamp(min=0.0)):
        (w * tg.tensor([2.0, -2.0])).sum().backward()
        assert host(w.grad).tolist() == [2.0, 0.0]
    w.grad = None
    (w * tg.tensor([2.0, -2.0])).sum().backward()
    assert host(w.grad).tolist() == [2.0, -2.0]


def test_retain_grad_is_a_tensor_hook_and_registers_once() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    assert not y.retains_grad
    y.retain_grad()
    y.retain_grad()
    assert y.retains_grad and len(y.grad_fn.grad_hooks) == 1
    y.sum().backward()
    assert host(y.grad).tolist() == [1.0, 1.0]


def test_register_hook_needs_a_tensor_that_requires_grad() -> None:
    with pytest.raises(tg.GradientError, match="does not require grad"):
        tg.ones(2).register_hook(lambda g: g)
