"""Every optimizer refuses non-finite or out-of-range hyperparameters, and another optimizer's
state dict, before anything changes."""

from __future__ import annotations

import math

import pytest

from tinygrad_digits import nn, optim

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.Adam(p, lr=NAN),
        lambda p: optim.Adam(p, lr=INF),
        lambda p: optim.AdamW(p, lr=1e-3, weight_decay=NAN),
        lambda p: optim.Adam(p, betas=(NAN, 0.9)),
        lambda p: optim.Adam(p, eps=INF),
        lambda p: optim.SGD(p, lr=0.1, momentum=NAN),
        lambda p: optim.SGD(p, lr=0.1, weight_decay=INF),
        lambda p: optim.SGD(p, lr=-1),
        lambda p: optim.RMSprop(p, lr=1e-3, alpha=NAN),
        lambda p: optim.RMSprop(p, lr=1e-3, momentum=-0.5),
    ],
)
def test_bad_hyperparameters_are_refused(make) -> None:
    with pytest.raises(ValueError, match="invalid"):
        make(nn.Linear(2, 2).parameters())


def test_param_groups_are_checked_too() -> None:
    model = nn.Linear(2, 2)
    opt = optim.SGD([model.weight], lr=0.1)
    with pytest.raises(ValueError, match="invalid lr nan"):
        opt.add_param_group({"params": [model.bias], "lr": NAN})


def test_another_optimizers_state_is_refused() -> None:
    model = nn.Linear(2, 2)
    adam = optim.Adam(model.parameters())
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="not a SGD's.*lacks dampening, momentum, nesterov"):
        sgd.load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match="not a Adam's.*lacks amsgrad, betas, eps"):
        adam.load_state_dict(sgd.state_dict())
    assert sgd.param_groups[0]["momentum"] == 0.9  # unchanged


def test_a_state_with_non_finite_settings_is_refused() -> None:
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters())
    state = opt.state_dict()
    state["param_groups"][0]["lr"] = NAN
    with pytest.raises(ValueError, match="invalid lr nan"):
        opt.load_state_dict(state)


def test_a_state_for_another_shape_is_refused() -> None:
    small, big = nn.Linear(2, 2), nn.Linear(3, 2)
    opt_small = optim.Adam(small.parameters())
    small(__import__("tinygrad_digits").randn(4, 2)).sum().backward()
    opt_small.step()
    with pytest.raises(ValueError, match="shape"):
        optim.Adam(big.parameters()).load_state_dict(opt_small.state_dict())
