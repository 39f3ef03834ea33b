"""The Optimizer base class: what it does for every rule (missing grads, maximize, L2, version
bumps, device/dtype buckets), a user-written rule, the functional rules, AMSGrad's buffer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import optim
from tinygrad_digits.optim.adam import adam
from tinygrad_digits.optim.rmsprop import rmsprop
from tinygrad_digits.optim.sgd import sgd


class SignSGD(optim.Optimizer):
    """A rule written the documented way: only _update, nothing about groups or grads."""

    def __init__(self, params, lr: float = 0.1, weight_decay: float = 0.0, *, maximize=False):
        super().__init__(params, {"lr": lr}, weight_decay=weight_decay, maximize=maximize)
        self.calls: list[tuple[str, Any, int]] = []

    def _update(self, group: dict[str, Any], params: list[tg.Tensor], grads: list[Any]) -> None:
        device = params[0].device
        self.calls.append((device.name, params[0].dtype, len(params)))
        for p, g in zip(params, grads):
            self._count_step(p, ())
            p.data -= group["lr"] * device.xp.sign(g)


def test_a_subclass_gets_skipping_maximize_weight_decay_and_versions() -> None:
    a = tg.tensor([1.0, -1.0], requires_grad=True)
    unused = tg.tensor([5.0], requires_grad=True)
    opt = SignSGD([a, unused], lr=0.5, weight_decay=10.0, maximize=True)
    a.grad = tg.tensor([0.1, 0.1])
    versions = a._version[0], unused._version[0]
    opt.step()
    # maximize: d = -g + 10 * p = [9.9, -10.1]; sign -> [1, -1]; p -= 0.5 * sign
    assert a.detach().numpy().tolist() == [0.5, -0.5]
    assert a.grad.numpy().tolist() == pytest.approx([0.1, 0.1])  # the grad is left alone
    assert (a._version[0], unused._version[0]) == (versions[0] + 1, versions[1])
    assert unused.item() == 5.0 and unused not in opt.state
    assert opt.state[a]["step"] == 1
    assert opt.param_groups[0]["weight_decay"] == 10.0 and opt.param_groups[0]["maximize"]
    sd = opt.state_dict()
    assert sd["state"] == {0: {"step": 1}}


def test_an_optimizer_without_a_rule_says_so() -> None:
    p = tg.tensor([1.0], requires_grad=True)
    p.grad = tg.tensor([1.0])
    with pytest.raises(NotImplementedError):
        optim.Optimizer([p], {"lr": 0.1}).step()


def test_the_rule_gets_one_call_per_device_and_dtype() -> None:
    params = [
        tg.tensor([1.0, 2.0], requires_grad=True),
        tg.tensor([1.0], dtype=tg.float64, requires_grad=True),
        tg.tensor([1.0], device="strict", requires_grad=True),
        tg.tensor([3.0], requires_grad=True),
        tg.tensor([4.0], requires_grad=True),  # no grad: in no bucket
    ]
    opt = SignSGD(params)
    for p in params[:4]:
        p.grad = tg.ones(*p.shape, dtype=p.dtype, device=p.device)
    opt.step()
    assert sorted(opt.calls, key=str) == sorted(
        [("cpu", tg.float32, 2), ("cpu", tg.float64, 1), ("strict", tg.float32, 1)], key=str
    )
    got = [p.detach().cpu().numpy().tolist() for p in params]
    assert got == [pytest.approx(v) for v in ([0.9, 1.9], [0.9], [0.9], [2.9], [4.0])]


def test_amsgrad_updates_its_max_buffer_in_place(device: str) -> None:
    p = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    opt = optim.Adam([p], lr=0.01, betas=(0.5, 0.5), amsgrad=True)
    p.grad = tg.tensor([4.0, 0.0, 1.0], device=device)
    opt.step()
    buf = opt.state[p]["max_exp_avg_sq"]
    seen = [opt.state[p]["exp_avg_sq"] * 1]
    for g in ([0.0, 2.0, 1.0], [1.0, 0.0, 3.0]):
        p.grad = tg.tensor(g, device=device)
        opt.step()
        assert opt.state[p]["max_exp_avg_sq"] is buf  # the same array, never a new one
        seen.append(opt.state[p]["exp_avg_sq"] * 1)
    running_max = np.max([tg.tensor(v, device=device).cpu().numpy() for v in seen], axis=0)
    np.testing.assert_array_equal(tg.tensor(buf, device=device).cpu().numpy(), running_max)


def test_adam_weight_decay_default_is_the_class_one() -> None:
    p = tg.tensor([1.0], requires_grad=True)
    assert optim.Adam([p]).param_groups[0]["weight_decay"] == 0.0
    assert optim.AdamW([p]).param_groups[0]["weight_decay"] == 0.01
    assert optim.AdamW([p], 1e-3, (0.9, 0.999), 1e-8, 0.5).param_groups[0]["weight_decay"] == 0.5
    assert not optim.Adam.decoupled_weight_decay and optim.AdamW.decoupled_weight_decay


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "momentum"),
        (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1.0), "weight_decay"),
        (lambda ps: optim.Adam(ps, eps=-1e-8), "eps"),
        (lambda ps: optim.RMSprop(ps, alpha=-0.1), "alpha"),
        (lambda ps: optim.RMSprop(ps, momentum=-0.1), "momentum"),
    ],
)
def test_negative_hyperparameters_are_refused_by_name(make, name: str) -> None:
    with pytest.raises(ValueError, match=f"invalid {name} "):
        make([tg.tensor([1.0], requires_grad=True)])


def test_functional_rules_work_on_plain_lists_of_arrays() -> None:
    cpu = tg.get_device("cpu")
    params = [np.array([1.0, 2.0]), np.array([3.0])]
    grads = [np.array([0.5, -0.5]), np.array([1.0])]
    buffers: list[Any] = [None, None]
    for _ in range(2):
        sgd(params, grads, buffers, lr=0.1, momentum=0.9, dampening=0.0, nesterov=False, device=cpu)
    # buf = g, then 0.9 g + g: p -= 0.1 * (g + 1.9 g)
    np.testing.assert_allclose(params[0], [1.0 - 0.29 * 0.5, 2.0 + 0.29 * 0.5])
    np.testing.assert_allclose(buffers[1], [1.9])
    assert buffers[0] is not grads[0]

    p, m, v = np.array([1.0]), np.zeros(1), np.zeros(1)
    adam([p], [np.array([2.0])], [m], [v], [], [1], lr=0.1, beta1=0.9, beta2=0.999, eps=0.0,
         decoupled_weight_decay=0.0, device=cpu)  # fmt: skip
    np.testing.assert_allclose(p, [0.9])  # first step: lr * sign(g)
    np.testing.assert_allclose((m, v), ([0.2], [0.004]))

    p, sq = np.array([1.0]), np.zeros(1)
    rmsprop([p], [np.array([2.0])], [sq], [], [], lr=0.1, alpha=0.75, eps=0.0, momentum=0.0,
            device=cpu)  # fmt: skip
    np.testing.assert_allclose(sq, [1.0])  # 0.25 * 2^2
    np.testing.assert_allclose(p, [1.0 - 0.1 * 2.0 / 1.0])


def test_bump_version_is_what_in_place_writers_call() -> None:
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (t * t).sum()
    view = t.detach()
    view._bump_version()  # shares the counter: the graph that saw t must refuse to run
    with pytest.raises(tg.GradientError, match="modified in place"):
        y.backward()
