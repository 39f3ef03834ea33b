"""The fused cross-entropy compares labels with the classes (a one-hot matrix) on every device:
the same losses and gradients as the per-label formula, ignored rows dropped, dtypes kept."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.nn import functional as F
from tinygrad_digits.nn.functional import LabelError


def _reference(logits: np.ndarray, labels: np.ndarray, ignore: int, smoothing: float):
    """Per-row losses (0 for ignored rows) and the mean over counted rows, in float64."""
    z = logits.astype(np.float64)
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    n, c = z.shape
    rows = labels != ignore
    losses = np.zeros(n)
    for i in np.flatnonzero(rows):
        losses[i] = -(1 - smoothing) * logp[i, labels[i]] - smoothing / c * logp[i].sum()
    return losses, losses.sum() / rows.sum()


@pytest.mark.parametrize("ignore", [-100, 2])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_losses_match_the_per_label_formula(device, ignore, smoothing) -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, ignore, 1])
    losses, mean = _reference(logits, labels, ignore, smoothing)
    x = tg.tensor(logits, device=device, requires_grad=True)
    y = tg.tensor(labels, device=device)
    none = F.cross_entropy(x, y, reduction="none", ignore_index=ignore, label_smoothing=smoothing)
    np.testing.assert_allclose(none.detach().cpu().numpy(), losses, rtol=1e-5, atol=1e-6)
    loss = F.cross_entropy(x, y, ignore_index=ignore, label_smoothing=smoothing)
    np.testing.assert_allclose(loss.item(), mean, rtol=1e-5)
    loss.backward()
    grad = x.grad.cpu().numpy()
    assert grad.dtype == np.float32  # a bool one-hot times a float must not widen it
    np.testing.assert_array_equal(grad[labels == ignore], 0.0)


def test_a_bad_label_on_an_accelerator_raises_at_the_next_read(accelerator) -> None:
    x = tg.tensor(np.zeros((3, 4), np.float32), device=accelerator)
    y = tg.tensor([0, 7, 1], device=accelerator)
    loss = F.cross_entropy(x, y)  # no host sync here
    with pytest.raises(LabelError, match="label 7 at position 1"):
        loss.item()
