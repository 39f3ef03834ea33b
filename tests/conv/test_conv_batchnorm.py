"""batch_norm and BatchNorm1d/2d: batch statistics in training, running statistics in eval,
and the running statistics after two steps against values worked out here with NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.nn.conv_layers import BatchNorm1d, BatchNorm2d
from tinygrad_digits.nn.functional_conv import batch_norm


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel mean, biased variance and unbiased variance over every dim but 1."""
    axes = (0, *range(2, x.ndim))
    n = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    return mean, var, var * n / (n - 1)


def normalised(x, mean, var, w, b, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(
        shape
    ) + b.reshape(shape)


def test_running_stats_after_two_steps(device: str) -> None:
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((4, 3, 2, 5)) * 2 + 1
    x2 = rng.standard_normal((4, 3, 2, 5)) * 0.5 - 3
    bn = BatchNorm2d(3, device=device)
    with tg.no_grad():
        bn.weight.copy_(tg.tensor([1.0, 2.0, -0.5], device=device))
        bn.bias.copy_(tg.tensor([0.0, 0.5, 1.0], device=device))
    w, b = np.array([1.0, 2.0, -0.5]), np.array([0.0, 0.5, 1.0])
    outs = [bn(tg.tensor(x, device=device, dtype=tg.float32)) for x in (x1, x2)]

    m1, v1, u1 = stats(x1)
    m2, v2, u2 = stats(x2)
    # r <- (1 - 0.1) r + 0.1 s, from running_mean = 0 and running_var = 1
    mean_after = 0.9 * (0.9 * 0 + 0.1 * m1) + 0.1 * m2
    var_after = 0.9 * (0.9 * 1 + 0.1 * u1) + 0.1 * u2
    np.testing.assert_allclose(host(bn.running_mean), mean_after, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(bn.running_var), var_after, rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked.item()) == 2
    # training output: batch statistics with the biased variance
    np.testing.assert_allclose(host(outs[1]), normalised(x2, m2, v2, w, b), rtol=1e-4, atol=1e-4)
    # eval: the running statistics, and no further update
    bn.eval()
    out = bn(tg.tensor(x1, device=device, dtype=tg.float32))
    np.testing.assert_allclose(
        host(out), normalised(x1, mean_after, var_after, w, b), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(host(bn.running_mean), mean_after, rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked.item()) == 2


def test_momentum_none_is_a_cumulative_average(device: str) -> None:
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((5, 2)) + k for k in range(3)]
    bn = BatchNorm1d(2, momentum=None, device=device, dtype=tg.float64)
    for x in xs:
        bn(tg.tensor(x, device=device))
    np.testing.assert_allclose(host(bn.running_mean), np.mean([stats(x)[0] for x in xs], 0))
    np.testing.assert_allclose(host(bn.running_var), np.mean([stats(x)[2] for x in xs], 0))


def test_batchnorm1d_on_ncl_and_functional_without_running_stats(device: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 6))
    bn = BatchNorm1d(4, device=device, dtype=tg.float64)
    out = bn(tg.tensor(x, device=device))
    m, v, u = stats(x)
    np.testing.assert_allclose(host(out), normalised(x, m, v, np.ones(4), np.zeros(4)), atol=1e-10)
    np.testing.assert_allclose(host(bn.running_var), 0.9 + 0.1 * u, atol=1e-12)
    out = batch_norm(tg.tensor(x, device=device), None, None, training=True)
    np.testing.assert_allclose(host(out), normalised(x, m, v, np.ones(4), np.zeros(4)), atol=1e-10)


def test_without_tracking_eval_uses_batch_statistics(device: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 2))
    bn = BatchNorm1d(2, affine=False, track_running_stats=False, device=device, dtype=tg.float64)
    assert bn.running_mean is None and list(bn.parameters()) == []
    bn.eval()
    m, v, _ = stats(x)
    np.testing.assert_allclose(
        host(bn(tg.tensor(x, device=device))),
        normalised(x, m, v, np.ones(2), np.zeros(2)),
        atol=1e-10,
    )


def test_running_stats_are_buffers_outside_the_graph(device: str) -> None:
    bn = BatchNorm2d(3, device=device)
    names = dict(bn.named_buffers())
    assert set(names) == {"running_mean", "running_var", "num_batches_tracked"}
    assert set(bn.state_dict()) == {
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    }
    x = tg.randn(4, 3, 5, 5, device=device, requires_grad=True)
    out = bn(x)
    assert not bn.running_mean.requires_grad and bn.running_mean.grad_fn is None
    (out * out).sum().backward()
    assert x.grad.shape == x.shape and bn.weight.grad.shape == (3,)
    assert bn.running_mean.dtype == bn.running_var.dtype == out.dtype == tg.float32
    assert x.grad.dtype == bn.weight.grad.dtype == tg.float32
    assert bn.num_batches_tracked.dtype == tg.int64


def test_gradient_of_normalised_batch_sums_to_zero(device: str) -> None:
    """Without affine, shifting the whole batch changes nothing: d out / d x sums to 0."""
    x = tg.randn(5, 3, dtype=tg.float64, device=device, requires_grad=True)
    g = tg.randn(5, 3, dtype=tg.float64, device=device)
    batch_norm(x, None, None, training=True).backward(g)
    np.testing.assert_allclose(host(x.grad).sum(axis=0), 0.0, atol=1e-12)


def test_batchnorm_errors(device: str) -> None:
    bn = BatchNorm2d(3, device=device)
    with pytest.raises(tg.ShapeError, match=r"BatchNorm2d\(3.*\(N, C, H, W\).*\(4, 3\)"):
        bn(tg.randn(4, 3, device=device))
    with pytest.raises(tg.ShapeError, match="has 2 channels.*num_features=3"):
        bn(tg.randn(4, 2, 5, 5, device=device))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3, device=device)(tg.randn(1, 3, device=device))
    with pytest.raises(ValueError, match="needs running_mean and running_var"):
        batch_norm(tg.randn(4, 3, device=device), None, None, training=False)
    with pytest.raises(tg.ShapeError, match=r"running_mean must have shape \(3,\)"):
        batch_norm(
            tg.randn(4, 3, device=device), tg.zeros(2, device=device), tg.ones(2, device=device)
        )
