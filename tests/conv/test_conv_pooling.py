"""max_pool2d and avg_pool2d against naive loops; max-pool gradients with overlaps and ties.

Convention under test: each max-pool window sends its whole upstream gradient to ONE maximal
element, the first in row-major window order when several tie; overlapping windows add up.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.nn.functional_conv import avg_pool2d, max_pool2d


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def out_len(size, k, s, p, d, ceil):
    span = d * (k - 1) + 1
    top = size + 2 * p - span
    n = (-(-top // s) if ceil else top // s) + 1
    if ceil and (n - 1) * s >= size + p:
        n -= 1
    return n


def naive_max_pool(x, k, s, p, d=(1, 1), ceil=False):
    """Values, and for each window the (row, col) of its first maximum in row-major order."""
    n_, c_, h, w = x.shape
    oh, ow = out_len(h, k[0], s[0], p[0], d[0], ceil), out_len(w, k[1], s[1], p[1], d[1], ceil)
    out = np.zeros((n_, c_, oh, ow))
    where = np.zeros((n_, c_, oh, ow, 2), dtype=int)
    for n in range(n_):
        for c in range(c_):
            for r in range(oh):
                for q in range(ow):
                    best, at = -np.inf, None
                    for i in range(k[0]):
                        for j in range(k[1]):
                            y, z = r * s[0] - p[0] + i * d[0], q * s[1] - p[1] + j * d[1]
                            if 0 <= y < h and 0 <= z < w and x[n, c, y, z] > best:
                                best, at = x[n, c, y, z], (y, z)
                    out[n, c, r, q] = best
                    where[n, c, r, q] = at
    return out, where


def naive_max_pool_grad(x, g, where):
    gx = np.zeros_like(x)
    for n, c, r, q in np.ndindex(g.shape):
        y, z = where[n, c, r, q]
        gx[n, c, y, z] += g[n, c, r, q]
    return gx


def naive_avg_pool(x, k, s, p, ceil=False, include_pad=True):
    """torch's rule: the divisor counts padding but not the ceil_mode margin past it."""
    n_, c_, h, w = x.shape
    oh, ow = out_len(h, k[0], s[0], p[0], 1, ceil), out_len(w, k[1], s[1], p[1], 1, ceil)
    out = np.zeros((n_, c_, oh, ow))
    for r in range(oh):
        for q in range(ow):
            y0, z0 = r * s[0] - p[0], q * s[1] - p[1]
            y1, z1 = min(y0 + k[0], h + p[0]), min(z0 + k[1], w + p[1])
            size = (y1 - y0) * (z1 - z0)
            y0, z0, y1, z1 = max(y0, 0), max(z0, 0), min(y1, h), min(z1, w)
            if not include_pad:
                size = (y1 - y0) * (z1 - z0)
            out[:, :, r, q] = x[:, :, y0:y1, z0:z1].sum(axis=(2, 3)) / size
    return out


def distinct(shape, rng):
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - n / 2) * 0.1


MAX_CASES = [  # kernel, stride, padding, dilation, ceil_mode
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (1, 1), (1, 1), (1, 1), False),  # overlapping windows
    ((3, 2), (2, 1), (1, 0), (1, 1), False),
    ((3, 3), (2, 2), (0, 1), (1, 1), True),
    ((2, 3), (1, 2), (1, 1), (2, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), True),
    ((2, 2), (3, 2), (0, 0), (1, 1), False),  # gaps between windows
]


@pytest.mark.parametrize("case", MAX_CASES, ids=lambda c: "k{}s{}p{}d{}c{}".format(*c))
def test_max_pool_matches_naive(device: str, case: tuple) -> None:
    k, s, p, d, ceil = case
    rng = np.random.default_rng(0)
    x = distinct((2, 3, 8, 7), rng)
    tx = tg.tensor(x, device=device, requires_grad=True)
    out = max_pool2d(tx, k, s, p, dilation=d, ceil_mode=ceil)
    want, where = naive_max_pool(x, k, s, p, d, ceil)
    assert out.shape == want.shape
    np.testing.assert_array_equal(host(out), want)
    g = rng.standard_normal(want.shape)
    out.backward(tg.tensor(g, device=device))
    np.testing.assert_allclose(host(tx.grad), naive_max_pool_grad(x, g, where), atol=1e-12)


def test_max_pool_ties_overlapping_windows(device: str) -> None:
    """All-equal and repeated values, stride < kernel: each window picks its first maximum."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, size=(2, 2, 6, 7)).astype(np.float64)
    x[0, 0] = 1.0  # a channel that is one big tie
    tx = tg.tensor(x, device=device, requires_grad=True)
    out = max_pool2d(tx, 3, stride=1, padding=1)
    want, where = naive_max_pool(x, (3, 3), (1, 1), (1, 1))
    np.testing.assert_array_equal(host(out), want)
    g = rng.uniform(0.5, 1.5, size=want.shape)
    out.backward(tg.tensor(g, device=device))
    gx = host(tx.grad)
    np.testing.assert_allclose(gx, naive_max_pool_grad(x, g, where), atol=1e-12)
    np.testing.assert_allclose(gx.sum(), g.sum(), rtol=1e-12)  # nothing lost or duplicated


def test_max_pool_each_window_feeds_one_element(device: str) -> None:
    x = np.ones((1, 1, 4, 4))
    tx = tg.tensor(x, device=device, requires_grad=True)
    out = max_pool2d(tx, 2, stride=1)  # 3x3 windows over an all-tied image
    for r, q in np.ndindex(3, 3):
        tx.grad = None
        g = np.zeros(out.shape)
        g[0, 0, r, q] = 1.0
        out.backward(tg.tensor(g, device=device), retain_graph=True)
        gx = host(tx.grad)
        assert np.count_nonzero(gx) == 1
        assert gx[0, 0, r, q] == 1.0  # the window's top-left element comes first


AVG_CASES = [  # kernel, stride, padding, ceil_mode, count_include_pad
    ((2, 2), (2, 2), (0, 0), False, True),
    ((3, 3), (1, 1), (1, 1), False, True),
    ((3, 2), (2, 1), (1, 1), False, False),
    ((3, 3), (2, 2), (1, 0), True, True),
    ((3, 3), (2, 2), (1, 1), True, False),
    ((2, 1), (3, 2), (0, 0), False, True),  # gaps between windows
]


@pytest.mark.parametrize("case", AVG_CASES, ids=lambda c: "k{}s{}p{}c{}i{}".format(*c))
def test_avg_pool_matches_naive(device: str, case: tuple) -> None:
    k, s, p, ceil, include = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 8, 7))
    out = avg_pool2d(
        tg.tensor(x, device=device), k, s, p, ceil_mode=ceil, count_include_pad=include
    )
    want = naive_avg_pool(x, k, s, p, ceil, include)
    assert out.shape == want.shape
    np.testing.assert_allclose(host(out), want, rtol=1e-12, atol=1e-12)


def test_ceil_mode_output_sizes(device: str) -> None:
    x = tg.zeros(1, 1, 8, 8, device=device)
    assert max_pool2d(x, 3, 2).shape == (1, 1, 3, 3)
    assert max_pool2d(x, 3, 2, ceil_mode=True).shape == (1, 1, 4, 4)
    # the last window must start inside the input or its left padding: 2, not 3
    assert max_pool2d(tg.zeros(1, 1, 4, 4, device=device), 1, 2, ceil_mode=True).shape[2:] == (2, 2)
    assert avg_pool2d(x, 2, ceil_mode=True).shape == (1, 1, 4, 4)


def test_avg_pool_divisor_override_and_grad(device: str) -> None:
    x = tg.ones(1, 1, 4, 4, device=device, requires_grad=True)
    out = avg_pool2d(x, 2, divisor_override=2)
    np.testing.assert_allclose(host(out), np.full((1, 1, 2, 2), 2.0))
    out.sum().backward()
    np.testing.assert_allclose(host(x.grad), np.full((1, 1, 4, 4), 0.5))


def test_pools_keep_float32_and_unbatched(device: str) -> None:
    x = tg.randn(3, 6, 6, device=device, requires_grad=True)
    for out in (max_pool2d(x, 2), avg_pool2d(x, 2)):
        assert out.shape == (3, 3, 3)
        assert out.dtype == tg.float32
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == tg.float32


def test_max_pool_nan_window_outputs_nan(device: str) -> None:
    """A window holding NaN has maximum NaN (as torch) and passes no gradient."""
    x = tg.tensor([[[[float("nan"), 1.0], [2.0, 3.0]]]], dtype=tg.float64, device=device)
    x.requires_grad_()
    out = max_pool2d(x, 2)
    assert np.isnan(host(out)).all()
    out.sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.zeros((1, 1, 2, 2)))


def test_max_pool_integer_input(device: str) -> None:
    x = tg.tensor([[[[1, 5, 2], [7, 3, 0], [4, 4, 9]]]], device=device)
    np.testing.assert_array_equal(
        host(max_pool2d(x, 2, 1, padding=1))[0, 0, 1:3, 1:3], [[7, 5], [7, 9]]
    )
