"""The foreach update (optim/flat.py): one pass over flat buffers per bucket gives the same
numbers as one update per parameter, and the flat buffers follow what users and loads do."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.nn import functional as F

RULES = {
    "sgd": lambda groups: optim.SGD(groups, lr=0.05),
    "sgd+nesterov": lambda groups: optim.SGD(groups, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda groups: optim.Adam(groups, lr=1e-2),
    "adamw+amsgrad": lambda groups: optim.AdamW(groups, lr=1e-2, amsgrad=True),
    "rmsprop+centered+momentum": lambda groups: optim.RMSprop(
        groups, lr=1e-2, centered=True, momentum=0.9
    ),
}


def _model(device: str) -> nn.Module:
    tg.manual_seed(0)
    return nn.MLP(6, [5], 3).to(device)


def _step(
    model: nn.Module, opt: optim.Optimizer, device: str, seed: int, dtype: type = np.float32
) -> None:
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((4, 6)).astype(dtype), device=device)
    y = tg.tensor(rng.integers(0, 3, 4), device=device)
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()


def _weights(model: nn.Module) -> list[np.ndarray]:
    return [p.detach().cpu().numpy() for p in model.parameters()]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_one_flat_update_equals_one_update_per_parameter(rule, device) -> None:
    flat, single = _model(device), _model(device)
    opt_flat = RULES[rule](flat.parameters())
    opt_single = RULES[rule]([{"params": [p]} for p in single.parameters()])  # a bucket each
    for seed in range(4):
        _step(flat, opt_flat, device, seed)
        _step(single, opt_single, device, seed)
    for a, b in zip(_weights(flat), _weights(single)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _shares_memory(a, b) -> bool:
    return np.shares_memory(a._array, b._array)  # the NumPy arrays behind strict's


def test_parameters_and_state_are_views_into_the_flat_buffers() -> None:
    model = _model("strict")
    opt = optim.Adam(model.parameters(), lr=1e-2)
    _step(model, opt, "strict", 0)
    (bucket,) = opt._flat_buckets.values()
    total = sum(p.numel() for p in model.parameters())
    assert bucket.param.shape == (total,)
    assert all(_shares_memory(p.data, bucket.param) for p in model.parameters())
    exp_avg = [opt.state[p]["exp_avg"] for p in model.parameters()]
    assert all(_shares_memory(m, bucket.state["exp_avg"]) for m in exp_avg)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_cpu_updates_each_parameter_in_place_without_flat_buffers(rule) -> None:
    model = _model("cpu")
    before = [p.data for p in model.parameters()]
    opt = RULES[rule](model.parameters())
    _step(model, opt, "cpu", 0)
    assert opt._flat_buckets == {}
    assert all(p.data is b for p, b in zip(model.parameters(), before))


@pytest.mark.parametrize("rule", sorted(RULES))
def test_in_place_changes_by_the_user_are_seen(rule, device) -> None:
    flat, single = _model(device), _model(device)
    opt_flat = RULES[rule](flat.parameters())
    opt_single = RULES[rule]([{"params": [p]} for p in single.parameters()])
    for model, opt in ((flat, opt_flat), (single, opt_single)):
        _step(model, opt, device, 0)
        _step(model, opt, device, 1)
        with tg.no_grad():
            model.layers[0].weight.mul_(0.5)
            model.layers[1].bias.zero_()
        _step(model, opt, device, 2)
    for a, b in zip(_weights(flat), _weights(single)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_state_dict_round_trip_continues_the_same_run(rule, device) -> None:
    model = _model(device)
    opt = RULES[rule](model.parameters())
    for seed in range(2):
        _step(model, opt, device, seed)
    clone = _model(device)
    clone.load_state_dict(model.state_dict())
    opt_clone = RULES[rule](clone.parameters())
    opt_clone.load_state_dict(opt.state_dict())
    for seed in range(2, 4):
        _step(model, opt, device, seed)
        _step(clone, opt_clone, device, seed)
    for a, b in zip(_weights(model), _weights(clone)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_moved_model_rebuilds_the_flat_buffers() -> None:
    model, reference = _model("strict"), _model("strict")
    opt = optim.Adam(model.parameters(), lr=1e-2)
    opt_ref = optim.Adam([{"params": [p]} for p in reference.parameters()], lr=1e-2)
    _step(model, opt, "strict", 0)
    _step(reference, opt_ref, "strict", 0)
    model.double()
    reference.double()
    _step(model, opt, "strict", 1, np.float64)
    _step(reference, opt_ref, "strict", 1, np.float64)
    f64 = tg.get_device("strict").dtype(np.float64)
    assert all(p.data.dtype == f64 for p in model.parameters())
    (bucket,) = opt._flat_buckets.values()
    assert bucket.param.dtype == f64
    assert all(_shares_memory(p.data, bucket.param) for p in model.parameters())
    for a, b in zip(_weights(model), _weights(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("rule", sorted(set(RULES) - {"sgd"}))  # plain SGD keeps no state
def test_one_parameter_keeps_its_state_in_its_own_shape(rule, device) -> None:
    w = tg.tensor(np.ones((2, 3), np.float32), device=device, requires_grad=True)
    opt = RULES[rule]([w])
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    arrays = {k: v for k, v in opt.state[w].items() if k != "step"}
    assert arrays and all(tuple(v.shape) == (2, 3) for v in arrays.values())
