"""gradcheck and gradgradcheck (float64) for conv2d, the pools and batch_norm on every device.

Max-pool inputs are drawn without ties (distinct values spaced far wider than eps), so each
window's maximum is unique and finite differences are well defined.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.nn.functional_conv import avg_pool2d, batch_norm, conv2d, max_pool2d


def make(device, rng, *shape, distinct=False):
    if distinct:
        n = int(np.prod(shape))
        values = (rng.permutation(n).reshape(shape) - n / 2) * 0.05
    else:
        values = rng.standard_normal(shape)
    return tg.tensor(values, dtype=tg.float64, device=device, requires_grad=True)


CONV_CASES = [  # (N, C_in, C_out, H, W, kernel, stride, padding, dilation, groups)
    (2, 2, 3, 5, 6, (3, 2), 1, 1, 1, 1),
    (2, 3, 2, 7, 6, (2, 3), (2, 1), (0, 1), 1, 1),
    (1, 2, 2, 7, 7, (3, 3), 2, 1, (2, 1), 1),
    (2, 4, 4, 5, 5, (2, 2), 1, "same", 1, 2),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "k{}s{}p{}d{}g{}".format(*c[5:]))
def test_conv2d_gradcheck(device: str, case: tuple) -> None:
    n, c_in, c_out, h, w, kernel, stride, padding, dilation, groups = case
    rng = np.random.default_rng(0)
    x = make(device, rng, n, c_in, h, w)
    weight = make(device, rng, c_out, c_in // groups, *kernel)
    bias = make(device, rng, c_out)

    def f(x, weight, bias):
        return conv2d(x, weight, bias, stride, padding, dilation, groups)

    assert tg.gradcheck(f, [x, weight, bias])
    assert tg.gradgradcheck(f, [x, weight, bias], fast_mode=True)


def test_conv2d_gradgradcheck_full(device: str) -> None:
    rng = np.random.default_rng(1)
    x = make(device, rng, 1, 2, 4, 4)
    weight = make(device, rng, 2, 2, 2, 2)
    assert tg.gradgradcheck(lambda x, w: conv2d(x, w, stride=1, padding=1), [x, weight])


def test_conv2d_gradcheck_larger_fast_mode(device: str) -> None:
    rng = np.random.default_rng(2)
    x = make(device, rng, 4, 3, 10, 9)
    weight = make(device, rng, 5, 3, 3, 3)
    bias = make(device, rng, 5)
    f = lambda x, w, b: conv2d(x, w, b, stride=2, padding=1).relu()  # noqa: E731
    assert tg.gradcheck(f, [x, weight, bias], fast_mode=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),  # overlapping windows
        dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True),
        dict(kernel_size=2, stride=1, dilation=2),
    ],
    ids=["k2", "k3s1p1", "k32s21c", "k2d2"],
)
def test_max_pool_gradcheck(device: str, kwargs: dict) -> None:
    rng = np.random.default_rng(3)
    x = make(device, rng, 2, 2, 6, 5, distinct=True)
    f = lambda x: max_pool2d(x, **kwargs)  # noqa: E731
    assert tg.gradcheck(f, [x])
    assert tg.gradgradcheck(f, [x])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    ],
    ids=["k2", "k3s1p1", "k3s2p1c"],
)
def test_avg_pool_gradcheck(device: str, kwargs: dict) -> None:
    rng = np.random.default_rng(4)
    x = make(device, rng, 2, 2, 6, 5)
    f = lambda x: avg_pool2d(x, **kwargs)  # noqa: E731
    assert tg.gradcheck(f, [x])
    assert tg.gradgradcheck(f, [x])


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 5), (3, 3, 4, 2)], ids=["NC", "NCL", "NCHW"])
def test_batch_norm_training_gradcheck(device: str, shape: tuple) -> None:
    rng = np.random.default_rng(5)
    x = make(device, rng, *shape)
    weight = make(device, rng, 3)
    bias = make(device, rng, 3)
    running_mean = tg.zeros(3, dtype=tg.float64, device=device)
    running_var = tg.ones(3, dtype=tg.float64, device=device)

    def f(x, w, b):
        return batch_norm(x, running_mean, running_var, w, b, training=True)

    assert tg.gradcheck(f, [x, weight, bias])
    assert tg.gradgradcheck(f, [x, weight, bias])


def test_batch_norm_eval_gradcheck(device: str) -> None:
    rng = np.random.default_rng(6)
    x = make(device, rng, 3, 3, 2, 2)
    weight = make(device, rng, 3)
    bias = make(device, rng, 3)
    running_mean = tg.tensor(rng.standard_normal(3), dtype=tg.float64, device=device)
    running_var = tg.tensor(rng.uniform(0.5, 2.0, 3), dtype=tg.float64, device=device)

    def f(x, w, b):
        return batch_norm(x, running_mean, running_var, w, b, training=False)

    assert tg.gradcheck(f, [x, weight, bias])
    assert tg.gradgradcheck(f, [x, weight, bias])


def test_small_cnn_gradcheck_fast_mode(device: str) -> None:
    """conv -> batch norm -> relu -> max pool -> avg pool, all parameters at once."""
    rng = np.random.default_rng(7)
    x = make(device, rng, 3, 2, 8, 8)
    w1 = make(device, rng, 4, 2, 3, 3)
    gamma = make(device, rng, 4)
    beta = make(device, rng, 4)

    def f(x, w1, gamma, beta):
        h = conv2d(x, w1, padding=1)
        h = batch_norm(h, None, None, gamma, beta, training=True).relu()
        return avg_pool2d(max_pool2d(h, 2), 2)

    assert tg.gradcheck(f, [x, w1, gamma, beta], fast_mode=True)
