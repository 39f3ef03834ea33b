"""The doctor's trials: which measured rate counts as better, when a net already fits, and the
widen trial on a learner's own networks (nn.Sequential, a Module calling fc1, fc2, ...)."""

from __future__ import annotations

import numpy as np
import pytest
from learner_cases import CASES, loss_fn, setup

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim
from tinygrad_digits.doctor.trials import Trial, better, widened
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training.models import apply_init


def test_a_rate_whose_loss_only_reaches_the_constant_output_loss_is_no_gain() -> None:
    """Case 3's lr 10: the saturated outputs pushed to the class shares (the loss falls to the
    constant-output level) with a few points more right answers, which is noise."""
    current = Trial("lr 0.1", 3.14, 3.07, 200, baseline=2.87, accuracy=0.14)
    faster = Trial("lr 10", 3.14, 1.72, 200, baseline=1.69, accuracy=0.19)
    assert not better(faster, current)
    learned = Trial("lr 10", 3.14, 1.2, 200, baseline=1.69, accuracy=0.19)
    assert better(learned, current)  # below the constant-output loss: it learned the inputs
    right = Trial("lr 10", 3.14, 1.72, 200, baseline=1.69, accuracy=0.30)
    assert better(right, current)  # or clearly more right answers


def test_a_trained_net_that_fits_learns() -> None:
    """A saved run whose loss is far below the constant-output loss, and not rising, is not
    told to raise its rate because the loss no longer falls by a quarter."""
    assert Trial("as run", 3e-4, 2.9e-4, 50, baseline=0.094).learns
    assert not Trial("as run", 3e-4, 4e-4, 50, baseline=0.094).learns


class FcNet(nn.Module):
    """A learner's own network: layers as attributes, activations in forward."""

    def __init__(self, widths: tuple[int, int, int], fold: bool = False) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, widths[0], bias=False)
        self.fc2 = nn.Linear(widths[0] // (2 if fold else 1), widths[1], bias=False)
        self.fc3 = nn.Linear(widths[1], widths[2], bias=False)
        self.fc4 = nn.Linear(widths[2], 10, bias=False)
        self.fold = fold

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        h = self.fc1(x).sigmoid()
        if self.fold:  # a width the forward depends on: no safe widening
            h = h.reshape(h.shape[0], 2, -1).sum(1)
        return self.fc4(F.sigmoid(self.fc3(self.fc2(h).sigmoid())))


def sequential_4_4_4() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 4, bias=False),
        nn.Sigmoid(),
        nn.Linear(4, 4, bias=False),
        nn.Sigmoid(),
        nn.Linear(4, 4, bias=False),
        nn.Sigmoid(),
        nn.Linear(4, 10, bias=False),
    )


def test_widened_grows_a_sequential_and_keeps_the_old_weights(digits) -> None:
    tg.manual_seed(0)
    net = sequential_4_4_4()
    x = tg.tensor(digits[0][:8])
    wide, why = widened(net, 32, x)
    assert why == ""
    shapes = [tuple(p.shape) for p in wide.parameters()]
    assert shapes == [(32, 64), (32, 32), (32, 32), (10, 32)]
    assert np.array_equal(wide[2].weight.detach().numpy()[:4, :4], net[2].weight.detach().numpy())
    assert tuple(wide(x).shape) == (8, 10)
    assert [tuple(p.shape) for p in net.parameters()][0] == (4, 64)  # the model is untouched


def test_widened_says_why_it_cannot_widen(digits) -> None:
    x = tg.tensor(digits[0][:8])
    wide, why = widened(FcNet((4, 4, 4), fold=True), 32, x)
    assert wide is None and "fc1's outputs do not feed fc2 directly" in why
    wide, why = widened(FcNet((40, 40, 40)), 32, x)
    assert wide is None and "no hidden Linear layer is narrower than 32" in why


def diagnose_case1(net: nn.Module) -> doctor.Report:
    """Case 1's set-up (U(-1, 1), raw pixels, summed BCE, GD lr 1e-3 m 0.9) on `net`."""
    case = CASES["bottleneck_bce"]
    s = setup(case)
    tg.manual_seed(0)
    apply_init(net, case.init)
    return doctor.diagnose(
        net,
        s["x"],
        s["y"],
        loss_fn(case, 10, len(s["x"]), net),
        optim.SGD(net.parameters(), lr=case.lr, momentum=case.momentum),
        steps=case.steps,
        batch_size=s["batch_size"],
    )


@pytest.mark.parametrize("build", [sequential_4_4_4, lambda: FcNet((4, 4, 4))])
def test_case1_as_a_learners_own_network_is_widened_and_measured(build) -> None:
    """Case 1 (64-4-4-4-10 sigmoid, U(-1, 1), raw pixels, summed BCE, GD lr 1e-3 m 0.9)
    written as nn.Sequential or as fc1..fc4 with functional sigmoids: widening is trialled."""
    report = diagnose_case1(build())
    (bottleneck,) = report.by_code("bottleneck")
    assert "measured: every hidden layer ≥ 32 units" in bottleneck.advice, report.format()
    assert bottleneck.gain > 0.05 and report.first_fix.code == "bottleneck"


def test_a_network_the_widen_trial_cannot_grow_gets_the_reason() -> None:
    (bottleneck,) = diagnose_case1(FcNet((4, 4, 4), fold=True)).by_code("bottleneck")
    assert "(not tried here: fc1's outputs do not feed fc2 directly)" in bottleneck.advice
