"""Learning-rate schedulers against closed-form values written out here."""

from __future__ import annotations

import math

import pytest

import tinygrad_digits as tg
from tinygrad_digits import optim
from tinygrad_digits.optim import lr_scheduler as S


def make_opt(lr: float = 0.1, kind: str = "sgd") -> optim.Optimizer:
    params = [tg.tensor([1.0], requires_grad=True), tg.tensor([2.0], requires_grad=True)]
    if kind == "adam":
        return optim.Adam(params, lr=lr)
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": lr * 10}]
    return optim.SGD(groups, lr=lr, momentum=0.9)


def lrs_over(sched: S.LRScheduler, steps: int) -> list[list[float]]:
    """get_last_lr() after construction and after each step, checked against the groups."""
    out = [sched.get_last_lr()]
    for _ in range(steps):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr())
        assert out[-1] == [g["lr"] for g in sched.optimizer.param_groups]
    return out


BASES = [0.1, 1.0]


@pytest.mark.parametrize(
    "build, formula",
    [
        (lambda o: S.StepLR(o, step_size=2, gamma=0.5), lambda b, k: b * 0.5 ** (k // 2)),
        (lambda o: S.MultiStepLR(o, [1, 3], 0.1), lambda b, k: b * 0.1 ** ((k >= 1) + (k >= 3))),
        (lambda o: S.ExponentialLR(o, gamma=0.9), lambda b, k: b * 0.9**k),
        (
            lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
            lambda b, k: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * k / 4)) / 2,
        ),
        (lambda o: S.LambdaLR(o, lambda k: 1 / (k + 1)), lambda b, k: b / (k + 1)),
    ],
    ids=["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR"],
)
def test_schedule_values(build, formula) -> None:
    got = lrs_over(build(make_opt()), 5)
    for k, row in enumerate(got):
        assert row == pytest.approx([formula(b, k) for b in BASES], rel=1e-12)


def one_cycle_expected(k: int, total: int, top: float, pct: float, three: bool, cos: bool):
    """(lr, momentum) of step k, from the 1cycle definition."""
    start, low = top / 25, top / 25 / 1e4

    def ramp(a: float, b: float, frac: float) -> float:
        if cos:
            return b + (a - b) * (1 + math.cos(math.pi * frac)) / 2
        return a + (b - a) * frac

    up = pct * total - 1
    if k <= up:
        return ramp(start, top, k / up), ramp(0.95, 0.85, k / up)
    if not three:
        frac = (k - up) / (total - 1 - up)
        return ramp(top, low, frac), ramp(0.85, 0.95, frac)
    down = 2 * pct * total - 2
    if k <= down:
        frac = (k - up) / (down - up)
        return ramp(top, start, frac), ramp(0.85, 0.95, frac)
    frac = (k - down) / (total - 1 - down)
    return ramp(start, low, frac), 0.95


@pytest.mark.parametrize("three", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_one_cycle(three: bool, strategy: str, kind: str) -> None:
    opt = make_opt(kind=kind)
    total = 20
    sched = S.OneCycleLR(
        opt, max_lr=1.0, total_steps=total, anneal_strategy=strategy, three_phase=three
    )
    group = opt.param_groups[0]
    for k in range(total):
        if k:
            sched.step()
        lr, mom = one_cycle_expected(k, total, 1.0, 0.3, three, strategy == "cos")
        assert sched.get_last_lr()[0] == pytest.approx(lr, rel=1e-12) == group["lr"]
        got_mom = group["betas"][0] if kind == "adam" else group["momentum"]
        assert got_mom == pytest.approx(mom, rel=1e-12)
    with pytest.raises(ValueError, match="total_steps is 20"):
        sched.step()
        sched.step()


def test_one_cycle_from_epochs_and_errors() -> None:
    sched = S.OneCycleLR(make_opt(), max_lr=[0.5, 2.0], epochs=2, steps_per_epoch=5)
    assert sched.total_steps == 10
    assert sched.get_last_lr() == pytest.approx([0.5 / 25, 2.0 / 25])
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(make_opt(), max_lr=1.0)
    with pytest.raises(ValueError, match="max_lr"):
        S.OneCycleLR(make_opt(), max_lr=[1.0], total_steps=5)


def test_scheduler_state_dict_resumes_exactly() -> None:
    opt = make_opt()
    sched = S.CosineAnnealingLR(opt, T_max=10)
    for _ in range(3):
        opt.step()
        sched.step()
    state, opt_state = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3

    opt2 = make_opt(lr=0.7)  # different lr: everything must come from the saved state
    opt2.load_state_dict(opt_state)
    sched2 = S.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(state)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_resuming_without_initial_lr_is_explained() -> None:
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(make_opt(), step_size=1, last_epoch=4)
