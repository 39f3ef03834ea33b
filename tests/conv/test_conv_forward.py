"""conv2d against a naive loop implementation: outputs, input gradients and weight gradients.

The reference walks every output pixel with Python loops over channels and kernel taps, so it
shares no code (and no layout choice) with the im2col implementation it checks.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.nn.functional_conv import conv2d


def naive_conv2d(x, w, b, stride, padding, dilation, groups=1):
    """out[n, o, r, c] = b[o] + sum over (ci, i, j) of
    w[o, ci, i, j] * xpad[n, group_start + ci, r*sh + i*dh, c*sw + j*dw]."""
    n_, c_in, h, wd = x.shape
    c_out, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xpad = np.zeros((n_, c_in, h + 2 * ph, wd + 2 * pw))
    xpad[:, :, ph : ph + h, pw : pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    per_group = c_out // groups
    out = np.zeros((n_, c_out, oh, ow))
    for n in range(n_):
        for o in range(c_out):
            first = (o // per_group) * cg
            for r in range(oh):
                for c in range(ow):
                    total = 0.0 if b is None else b[o]
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                total += (
                                    w[o, ci, i, j]
                                    * xpad[n, first + ci, r * sh + i * dh, c * sw + j * dw]
                                )
                    out[n, o, r, c] = total
    return out


def naive_conv2d_grads(x, w, g, stride, padding, dilation):
    """Gradients of sum(out * g) for x and w, by scattering each output's contribution."""
    n_, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xpad = np.zeros((n_, c_in, h + 2 * ph, wd + 2 * pw))
    xpad[:, :, ph : ph + h, pw : pw + wd] = x
    gxpad = np.zeros_like(xpad)
    gw = np.zeros_like(w)
    for n in range(n_):
        for o in range(c_out):
            for r in range(g.shape[2]):
                for c in range(g.shape[3]):
                    for ci in range(c_in):
                        for i in range(kh):
                            for j in range(kw):
                                y, z = r * sh + i * dh, c * sw + j * dw
                                gw[o, ci, i, j] += g[n, o, r, c] * xpad[n, ci, y, z]
                                gxpad[n, ci, y, z] += g[n, o, r, c] * w[o, ci, i, j]
    return gxpad[:, :, ph : ph + h, pw : pw + wd], gw


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# (batch, c_in, c_out, H, W, kernel, stride, padding, dilation)
CASES = [
    (2, 1, 3, 5, 5, (3, 3), (1, 1), (0, 0), (1, 1)),
    (2, 3, 2, 6, 7, (3, 2), (1, 1), (1, 1), (1, 1)),
    (1, 2, 4, 7, 6, (2, 3), (2, 1), (1, 0), (1, 1)),
    (3, 2, 2, 8, 7, (3, 3), (2, 3), (2, 1), (1, 1)),
    (2, 3, 2, 9, 8, (3, 2), (1, 2), (1, 1), (2, 3)),
    (2, 2, 3, 5, 6, (1, 1), (2, 2), (0, 1), (1, 1)),
    (1, 2, 2, 4, 4, (4, 4), (1, 1), (0, 0), (1, 1)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "k{}s{}p{}d{}".format(*c[5:]))
def test_conv2d_matches_naive_loops(device: str, case: tuple) -> None:
    n, c_in, c_out, h, w_, kernel, stride, padding, dilation = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c_in, h, w_))
    w = rng.standard_normal((c_out, c_in, *kernel))
    b = rng.standard_normal(c_out)
    g = None
    want = naive_conv2d(x, w, b, stride, padding, dilation)
    tx = tg.tensor(x, device=device, requires_grad=True)
    tw = tg.tensor(w, device=device, requires_grad=True)
    tb = tg.tensor(b, device=device, requires_grad=True)
    out = conv2d(tx, tw, tb, stride=stride, padding=padding, dilation=dilation)
    assert out.shape == want.shape
    np.testing.assert_allclose(host(out), want, rtol=1e-10, atol=1e-10)

    g = rng.standard_normal(want.shape)
    out.backward(tg.tensor(g, device=device))
    gx, gw = naive_conv2d_grads(x, w, g, stride, padding, dilation)
    np.testing.assert_allclose(host(tx.grad), gx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(host(tw.grad), gw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(host(tb.grad), g.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-10)


def test_weight_grad_orientation_non_square(device: str) -> None:
    """One hot pixel and one hot output: the weight gradient lands on exactly one tap.

    A transposed or flipped kernel in the backward would put the 1 elsewhere.
    """
    x = np.zeros((1, 2, 5, 6))
    x[0, 1, 3, 1] = 1.0
    w = np.zeros((3, 2, 2, 3))
    tx = tg.tensor(x, device=device)
    tw = tg.tensor(w, device=device, requires_grad=True)
    out = conv2d(tx, tw)  # (1, 3, 4, 4)
    g = np.zeros(out.shape)
    g[0, 2, 2, 0] = 1.0  # window rows 2..3, cols 0..2: pixel (3, 1) is tap (1, 1)
    out.backward(tg.tensor(g, device=device))
    want = np.zeros_like(w)
    want[2, 1, 1, 1] = 1.0
    np.testing.assert_array_equal(host(tw.grad), want)


def test_grouped_and_same_padding_match_naive(device: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 6, 5))
    w = rng.standard_normal((6, 2, 3, 2))
    b = rng.standard_normal(6)
    out = conv2d(
        tg.tensor(x, device=device),
        tg.tensor(w, device=device),
        tg.tensor(b, device=device),
        padding=(1, 1),
        groups=2,
    )
    np.testing.assert_allclose(
        host(out), naive_conv2d(x, w, b, (1, 1), (1, 1), (1, 1), 2), rtol=1e-10, atol=1e-10
    )
    # "same" with an even kernel: torch puts the odd padding row/column at the bottom/right
    w_same = rng.standard_normal((3, 4, 2, 4))
    out = conv2d(tg.tensor(x, device=device), tg.tensor(w_same, device=device), padding="same")
    assert out.shape == (2, 3, 6, 5)
    xpad = np.zeros((2, 4, 7, 8))
    xpad[:, :, 0:6, 1:6] = x  # height: 0 before, 1 after; width: 1 before, 2 after
    np.testing.assert_allclose(
        host(out), naive_conv2d(xpad, w_same, None, (1, 1), (0, 0), (1, 1)), rtol=1e-10, atol=1e-10
    )


def test_unbatched_input_and_no_bias(device: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    out = conv2d(tg.tensor(x, device=device), tg.tensor(w, device=device), padding=1)
    assert out.shape == (3, 5, 5)
    np.testing.assert_allclose(
        host(out), naive_conv2d(x[None], w, None, (1, 1), (1, 1), (1, 1))[0], rtol=1e-10, atol=1e-10
    )


def test_float32_stays_float32(device: str) -> None:
    x = tg.randn(2, 3, 6, 6, device=device, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, device=device, requires_grad=True)
    b = tg.randn(4, device=device, requires_grad=True)
    out = conv2d(x, w, b, stride=2, padding=1)
    assert out.dtype == tg.float32
    out.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == tg.float32
