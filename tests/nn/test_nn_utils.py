"""Gradient clipping."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(device: str, scale: float) -> list[tg.Tensor]:
    rng = np.random.default_rng(0)
    out = []
    for shape in [(3, 4), (4,), (2,)]:
        p = tg.zeros(*shape, device=device, requires_grad=True)
        p.grad = tg.tensor(rng.normal(size=shape) * scale, dtype=tg.float32, device=device)
        out.append(p)
    out.append(tg.zeros(5, device=device, requires_grad=True))  # no grad: ignored
    return out


def host_grads(params: list[tg.Tensor]) -> list[np.ndarray]:
    return [p.grad.cpu().numpy().copy() for p in params if p.grad is not None]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_scales_all_grads_together(device: str, norm_type: float) -> None:
    params = params_with_grads(device, 10.0)
    before = host_grads(params)
    flat = np.concatenate([g.ravel() for g in before]).astype(np.float64)
    expected_norm = np.linalg.norm(flat, ord=norm_type)
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert total.device == device and total.shape == ()
    assert total.item() == pytest.approx(expected_norm, rel=1e-5)
    after = host_grads(params)
    factor = 1.0 / (expected_norm + 1e-6)
    for b, a in zip(before, after):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b * factor, rtol=1e-5)
    new_norm = np.linalg.norm(np.concatenate([g.ravel() for g in after]), ord=norm_type)
    assert new_norm == pytest.approx(1.0, rel=1e-4)


def test_clip_grad_norm_leaves_small_grads_alone(device: str) -> None:
    params = params_with_grads(device, 0.01)
    before = host_grads(params)
    clip_grad_norm_(params, max_norm=5.0)
    for b, a in zip(before, host_grads(params)):
        np.testing.assert_array_equal(a, b)


def test_clip_grad_norm_edge_cases() -> None:
    assert clip_grad_norm_([tg.zeros(2, requires_grad=True)], 1.0).item() == 0.0
    p = tg.zeros(2, requires_grad=True)
    p.grad = tg.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value(device: str) -> None:
    params = params_with_grads(device, 3.0)
    before = host_grads(params)
    clip_grad_value_(params, 0.5)
    for b, a in zip(before, host_grads(params)):
        np.testing.assert_array_equal(a, np.clip(b, -0.5, 0.5))
