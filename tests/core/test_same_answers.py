"""Every device gives the same answer or the same error: out-of-range indices and labels raise
(CuPy would wrap them around silently), writes through broadcast views never land in the
shared memory (CuPy has no read-only flag), erf keeps float16.

Accelerators check ranges without a host sync per step: the error comes at the next read to
the host (here `.item()`/`.cpu()`), as torch reports device-side asserts."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.nn import functional as F


def test_out_of_range_integer_indices_raise(device: str) -> None:
    x = tg.arange(5.0, device=device, requires_grad=True)
    with pytest.raises(IndexError, match="out of bounds"):
        x[tg.tensor([1, 7], device=device)].sum().item()
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, -6]].cpu()
    assert x[tg.tensor([-1, 4], device=device)].sum().item() == 8.0  # negative ones are fine


def test_an_out_of_range_scatter_raises(device: str) -> None:
    x = tg.zeros(3, device=device)
    with pytest.raises(IndexError, match="out of bounds"):
        x[tg.tensor([0, 3], device=device)] = 1.0
        x.cpu()


def test_out_of_range_labels_raise(device: str) -> None:
    logits = tg.randn(4, 3, device=device, requires_grad=True)
    with pytest.raises(F.LabelError, match="label 3 at position 1"):
        F.cross_entropy(logits, tg.tensor([0, 3, 1, 2], device=device)).item()


def test_a_training_step_makes_no_host_sync(host_syncs) -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    model.to("cuda")
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = tg.randn(32, 8, device="cuda"), tg.randint(0, 3, (32,), device="cuda")
    idx = tg.tensor([0, 5, 9], device="cuda")
    before = host_syncs()
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx]) + F.nll_loss(model(x).log_softmax(1), y)
        loss.backward()
        opt.step()
    assert host_syncs() == before


def test_ignored_labels_are_masked_on_the_device(device: str) -> None:
    logits = tg.tensor(np.random.default_rng(0).standard_normal((4, 3)), device=device)
    logits.requires_grad_(True)
    labels = tg.tensor([0, -100, 1, -100], device=device)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    ref = tg.tensor(logits.detach().cpu().numpy(), requires_grad=True)
    want = F.cross_entropy(ref[[0, 2]], tg.tensor([0, 1]))
    want.backward()
    assert loss.item() == pytest.approx(want.item(), rel=1e-6)
    grad = logits.grad.cpu().numpy()
    np.testing.assert_allclose(grad[[0, 2]], ref.grad.numpy()[[0, 2]] / 1, rtol=1e-5)
    assert not grad[[1, 3]].any()


def test_writes_never_go_through_a_broadcast_view(device: str) -> None:
    x = tg.tensor([1.0, 2.0, 3.0], device=device)
    wide = x.expand(2, 3)
    wide.add_(tg.arange(6.0, device=device).reshape(2, 3))
    np.testing.assert_array_equal(x.cpu().numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(wide.cpu().numpy(), [[1, 3, 5], [4, 6, 8]])
    with pytest.raises(RuntimeError, match="single memory location"):
        x.expand(2, 3)[0] = 5.0
    np.testing.assert_array_equal(x.cpu().numpy(), [1.0, 2.0, 3.0])


def test_erf_keeps_the_input_dtype(device: str) -> None:
    if device == "strict":
        pytest.skip("the Array API standard has no float16")
    x = tg.tensor([0.0, 0.5, -1.0], dtype=tg.float16, device=device)
    assert x.erf().dtype == tg.float16


def test_sign_of_nan_is_nan(device: str) -> None:
    """CuPy's own sign gives 0 for NaN (so would |x|'s gradient); NumPy and torch give NaN."""
    x = tg.tensor([float("nan"), -2.0, 0.0, 3.0], device=device, requires_grad=True)
    np.testing.assert_array_equal(x.sign().detach().cpu().numpy(), [np.nan, -1.0, 0.0, 1.0])
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [np.nan, -1.0, 0.0, 1.0])
