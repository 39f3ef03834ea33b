"""The im2col/col2im kernels: layout, overlap accumulation in col2im, and adjointness."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.backend import conv_kernels as K
from tinygrad_digits.ops.conv import Col2Im, Im2Col


def window(kernel=(3, 3), stride=(1, 1), dilation=(1, 1), pads=(0, 0, 0, 0)) -> K.Window:
    return K.Window(kernel, stride, dilation, pads)


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def test_im2col_layout(device: str) -> None:
    """Rows run channel, kernel row, kernel column; columns run over output pixels row-major."""
    x = np.arange(2 * 2 * 4 * 5, dtype=np.float64).reshape(2, 2, 4, 5)
    win = window((2, 3), (2, 1), (1, 1), (1, 0, 0, 1))  # pad 1 on top and on the right
    cols = host(Im2Col.apply(tg.tensor(x, device=device), win=win))
    oh, ow = win.out_size(4, 5)
    assert (oh, ow) == (2, 4)
    assert cols.shape == (2, 2 * 2 * 3, oh * ow)
    xpad = np.zeros((2, 2, 5, 6))
    xpad[:, :, 1:, :5] = x
    for n, c, i, j, r, q in np.ndindex(2, 2, 2, 3, oh, ow):
        assert cols[n, c * 6 + i * 3 + j, r * ow + q] == xpad[n, c, 2 * r + i, q + j]


def test_col2im_accumulates_overlapping_windows(device: str) -> None:
    """col2im of all-ones columns counts how many windows cover each pixel."""
    win = window((3, 3), (1, 1), (1, 1), (1, 1, 1, 1))
    oh, ow = win.out_size(4, 5)
    ones = tg.ones(1, 9, oh * ow, dtype=tg.float64, device=device)
    counts = host(Col2Im.apply(ones, win=win, hw=(4, 5)))[0, 0]
    rows = np.array([2, 3, 3, 2])  # windows covering each row (padding 1, kernel 3, stride 1)
    cols = np.array([2, 3, 3, 3, 2])
    np.testing.assert_array_equal(counts, rows[:, None] * cols[None, :])


def test_col2im_strided_dilated_counts(device: str) -> None:
    win = window((2, 2), (2, 1), (2, 1))  # rows 0,2 | 2,4 ; cols j, j+1
    oh, ow = win.out_size(5, 3)
    assert (oh, ow) == (2, 2)
    ones = tg.ones(1, 4, oh * ow, dtype=tg.float64, device=device)
    counts = host(Col2Im.apply(ones, win=win, hw=(5, 3)))[0, 0]
    want = np.array([[1, 2, 1], [0, 0, 0], [2, 4, 2], [0, 0, 0], [1, 2, 1]])
    np.testing.assert_array_equal(counts, want)


@pytest.mark.parametrize(
    "win",
    [
        window(),
        window((2, 3), (2, 1), (1, 2), (1, 0, 2, 1)),
        window((3, 2), (1, 3), (2, 1), (0, 2, 1, 1)),
    ],
    ids=["plain", "strided", "dilated"],
)
def test_col2im_is_the_adjoint_of_im2col(device: str, win: K.Window) -> None:
    """<im2col(x), c> == <x, col2im(c)> for random x and c."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6))
    oh, ow = win.out_size(7, 6)
    k = win.kernel[0] * win.kernel[1]
    c = rng.standard_normal((2, 3 * k, oh * ow))
    cols = host(Im2Col.apply(tg.tensor(x, device=device), win=win))
    back = host(Col2Im.apply(tg.tensor(c, device=device), win=win, hw=(7, 6)))
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)


def test_looped_and_strided_kernels_agree() -> None:
    """The Array API (looped) im2col used by strict equals the strided NumPy one."""
    cpu = tg.get_device("cpu")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 8))
    for win in (window(), window((2, 3), (2, 3), (2, 1), (1, 2, 0, 1))):
        np.testing.assert_array_equal(
            K._strided_im2col(cpu, x, win, -5.0), K._looped_im2col(cpu, x, win, -5.0)
        )


def test_im2col_of_a_non_contiguous_input() -> None:
    cpu = tg.get_device("cpu")
    x = np.random.default_rng(2).standard_normal((3, 2, 6, 5)).transpose(1, 0, 3, 2)
    win = window((2, 2), (1, 2))
    np.testing.assert_array_equal(
        K.im2col(cpu, x, win), K._looped_im2col(cpu, np.ascontiguousarray(x), win, 0.0)
    )


def test_col2im_double_backward_is_im2col(device: str) -> None:
    win = window((2, 2), (1, 1), (1, 1), (1, 1, 1, 1))
    rng = np.random.default_rng(3)
    c = tg.tensor(rng.standard_normal((1, 4 * 2, 16)), device=device, requires_grad=True)
    assert tg.gradcheck(
        lambda c: Col2Im.apply(c, win=win, hw=(3, 3)), [c.double().detach().requires_grad_()]
    )
    x = tg.tensor(rng.standard_normal((1, 2, 3, 3)), device=device, requires_grad=True)
    assert tg.gradgradcheck(lambda x: Im2Col.apply(x, win=win) ** 2, [x])
