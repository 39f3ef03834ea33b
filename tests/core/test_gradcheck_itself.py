"""gradcheck must catch wrong backwards, pass right ones, and say where it failed."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg


class ForgetsUpstream(tg.Function):
    """x^2 whose backward forgets to multiply by the upstream gradient."""

    def forward(self, x):
        return x * x

    def backward(self, g):
        return 2 * self.parents[0]


class WrongSecondDerivative(tg.Function):
    """x^3 whose backward uses a saved raw value as a constant: right once, wrong twice."""

    def forward(self, x):
        self.square = x * x
        return x * self.square

    def backward(self, g):
        return g * 3 * self.const(self.square)


class Cube(tg.Function):
    def forward(self, x):
        return x * x * x

    def backward(self, g):  # d x^3 = 3 x^2 dx
        x = self.parents[0]
        return g * 3 * x * x


def x64(device: str, n: int = 5) -> tg.Tensor:
    values = np.random.default_rng(0).uniform(0.5, 1.5, n)
    return tg.tensor(values, dtype=tg.float64, device=device, requires_grad=True)


def test_catches_backward_that_forgets_upstream(device: str) -> None:
    with pytest.raises(tg.GradcheckError) as err:
        tg.gradcheck(ForgetsUpstream.apply, [x64(device)])
    msg = str(err.value)
    assert "input 0" in msg and "element" in msg and "numeric" in msg and "analytic" in msg


def test_sum_only_check_would_miss_what_random_upstream_catches(device: str) -> None:
    """With upstream all-ones the wrong op looks right; gradcheck's random v exposes it."""
    x = x64(device)
    ForgetsUpstream.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * x.detach().cpu().numpy())
    assert not tg.gradcheck(ForgetsUpstream.apply, [x64(device)], raise_exception=False)


def test_fast_mode_catches_it_too_and_points_to_full_mode(device: str) -> None:
    with pytest.raises(tg.GradcheckError, match="fast_mode=False"):
        tg.gradcheck(ForgetsUpstream.apply, [x64(device)], fast_mode=True)


def test_gradgradcheck_catches_constant_saved_value(device: str) -> None:
    assert tg.gradcheck(WrongSecondDerivative.apply, [x64(device)])
    with pytest.raises(tg.GradcheckError):
        tg.gradgradcheck(WrongSecondDerivative.apply, [x64(device)])


def test_correct_custom_function_passes_both(device: str) -> None:
    assert tg.gradcheck(Cube.apply, [x64(device)])
    assert tg.gradgradcheck(Cube.apply, [x64(device)])
    assert tg.gradcheck(Cube.apply, [x64(device)], fast_mode=True)


def test_gradgradcheck_takes_gradchecks_keywords(device: str) -> None:
    """The options pass through to gradcheck: a tolerance too tight to meet fails, a soft
    failure returns False, and a misspelt keyword is refused before fn runs."""
    calls = []

    def counted(x):
        calls.append(x)
        return WrongSecondDerivative.apply(x)

    assert not tg.gradgradcheck(
        counted, [x64(device)], eps=1e-6, atol=1e-5, rtol=1e-3, seed=3, raise_exception=False
    )
    assert tg.gradgradcheck(Cube.apply, [x64(device)], fast_mode=True, seed=1)
    calls.clear()
    with pytest.raises(TypeError, match="atl"):
        tg.gradgradcheck(counted, [x64(device)], atl=1e-3)
    assert calls == []


def test_directional_errors_measure_what_gradcheck_judges(device: str) -> None:
    from tinygrad_digits.autograd.gradcheck import directional_errors

    (good,) = directional_errors(Cube.apply, [x64(device)], directions=3)
    (bad,) = directional_errors(ForgetsUpstream.apply, [x64(device)], directions=3)
    assert good < 1e-6 and bad > 1e-2


def test_directional_errors_step_past_a_kink(device: str) -> None:
    """A ReLU input 3e-7 from 0 spoils the step 1e-6, not the retry with 1e-8."""
    from tinygrad_digits.autograd.gradcheck import directional_errors

    x = tg.tensor([3e-7, -3e-7, 1.0], dtype=tg.float64, device=device, requires_grad=True)
    (error,) = directional_errors(lambda t: t.relu(), [x], directions=4, seed=1)
    assert error < 1e-6


def test_float32_inputs_warn_and_promoted_code_passes(device: str) -> None:
    x32 = tg.tensor([0.7, 1.1, 1.3], device=device, requires_grad=True)
    eps32 = float(np.finfo(np.float32).eps)
    with pytest.warns(tg.GradcheckWarning, match="not float64"):
        tg.gradcheck(Cube.apply, [x32], eps=eps32**0.5 * 4, atol=eps32**0.5, rtol=eps32**0.25)
    assert tg.gradcheck(Cube.apply, [x32.detach().double().requires_grad_()])


def test_failure_report_names_the_worst_element() -> None:
    class WrongAtOne(tg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            bump = self.xp.zeros_like(g.data)
            bump[1] = 5.0
            return g * 2 + self.const(bump)

    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    with pytest.raises(tg.GradcheckError, match=r"element \(1,\)"):
        tg.gradcheck(WrongAtOne.apply, [x])


def test_needs_an_input_that_requires_grad() -> None:
    with pytest.raises(tg.GradcheckError, match="requires_grad=True"):
        tg.gradcheck(lambda x: x * 2, [tg.tensor([1.0], dtype=tg.float64)])
