"""Where this library once gave other numbers (or errors) than PyTorch, it now gives PyTorch's:
each expectation is PyTorch's published or computed result, checked against torch itself when
it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


# --- wrong results --------------------------------------------------------------------------
def test_pow_gradient_at_zero_to_the_zero_is_zero(device: str) -> None:
    a = tg.tensor([0.0, 0.0, 2.0], device=device, requires_grad=True)
    b = tg.tensor([0.0, 1.0, 0.0], device=device, requires_grad=True)
    (a**b).sum().backward()
    # torch: d(a^b)/da = 0 where b == 0 (not 0 * inf), b a^(b-1) elsewhere; d/db = 0 at a == 0
    np.testing.assert_array_equal(a.grad.cpu().numpy(), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(b.grad.cpu().numpy(), [0.0, 0.0, np.log(2.0)], rtol=1e-6)


def test_an_int_and_an_index_tensor_across_a_slice_keep_torchs_dimension_order(
    device: str,
) -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    t = tg.tensor(x, device=device)
    idx = tg.tensor([0, 1], device=device)
    assert t[1, :, idx].shape == (3, 2)  # NumPy's x[1, :, [0, 1]] is (2, 3)
    np.testing.assert_array_equal(t[1, :, idx].cpu().numpy(), x[1][:, [0, 1]])
    assert t[idx, 1].shape == (2, 4) and t[0, idx, 2].shape == (2,)
    t[1, :, idx] = tg.tensor(-np.arange(6.0).reshape(3, 2), device=device)
    expected = x.copy()
    expected[1][:, [0, 1]] = -np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(t.cpu().numpy(), expected)


@needs_torch
def test_mixed_indexing_matches_torch() -> None:
    x = np.arange(120.0).reshape(2, 3, 4, 5)
    keys = [
        lambda i: (1, slice(None), i),
        lambda i: (i, slice(None), 0),
        lambda i: (Ellipsis, 2, i),
        lambda i: (None, 1, i, slice(1, 3)),
        lambda i: (0, i, 1, i),
    ]
    for key in keys:
        ours = tg.tensor(x)[key(tg.tensor([1, 0]))].numpy()
        theirs = torch.tensor(x)[key(torch.tensor([1, 0]))].numpy()
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)


def test_integer_linspace_truncates_toward_zero_and_bool_is_refused(device: str) -> None:
    got = tg.linspace(5, -5, 20, dtype=tg.int32, device=device)
    # torch.linspace(5, -5, 20, dtype=torch.int32), as torch 2.13 prints it
    expected = [5, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, -1, -1, -2, -2, -3, -3, -4, -5]
    assert got.dtype == tg.int32 and got.tolist() == expected
    with pytest.raises(tg.DtypeError, match="bool"):
        tg.linspace(0, 1, 5, dtype=tg.bool)
    if torch is not None:
        assert torch.linspace(5, -5, 20, dtype=torch.int32).tolist() == expected


# --- crashes ----------------------------------------------------------------------------------
def test_softmax_of_a_0d_tensor(device: str) -> None:
    x = tg.tensor(2.0, device=device, requires_grad=True)
    assert x.softmax(0).item() == 1.0 and x.log_softmax(-1).item() == 0.0
    assert x.softmax(-1).shape == ()
    x.log_softmax(0).backward()
    assert x.grad.item() == 0.0


def test_python_ints_wrap_into_integer_dtypes_as_torch() -> None:
    assert (tg.tensor([1, 2], dtype=tg.int32) | 0xFFFFFFFF).tolist() == [-1, -1]
    assert (tg.tensor([1, 2], dtype=tg.int32) + 2**40).tolist() == [1, 2]
    assert (tg.tensor([1], dtype=tg.uint8) + 256).tolist() == [1]
    if torch is not None:
        assert (torch.tensor([1, 2], dtype=torch.int32) | 0xFFFFFFFF).tolist() == [-1, -1]


# --- errors PyTorch code catches --------------------------------------------------------------
def test_shape_dtype_and_device_errors_are_runtime_errors() -> None:
    a, b = tg.ones(2, 3), tg.ones(4, 5)
    for bad in (lambda: a + b, lambda: a @ b, lambda: a.reshape(7)):
        with pytest.raises(RuntimeError):
            bad()
        with pytest.raises(ValueError):  # and still what it was
            bad()
    with pytest.raises(RuntimeError, match="dtypes differ"):
        a @ tg.ones(3, 2, dtype=tg.float64)
    with pytest.raises(TypeError, match="dtypes differ"):
        a @ tg.ones(3, 2, dtype=tg.float64)
    assert issubclass(tg.DeviceMismatchError, RuntimeError)
    assert issubclass(tg.ShapeError, ValueError) and issubclass(tg.DtypeError, TypeError)


# --- zero gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["sign", "round", "floor", "ceil", "trunc"])
def test_piecewise_constant_ops_have_zero_gradients(op: str, device: str) -> None:
    x = tg.tensor([-1.7, -0.2, 0.3, 2.6], device=device, requires_grad=True)
    y = getattr(x, op)()
    assert y.requires_grad and y.grad_fn is not None
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.zeros(4))
    np.testing.assert_array_equal(
        y.detach().cpu().numpy(), getattr(np, op)(x.detach().cpu().numpy())
    )


def test_a_comparison_feeding_where_routes_the_gradient(device: str) -> None:
    x = tg.tensor([-2.0, 0.5, 3.0], device=device, requires_grad=True)
    loss = (tg.where(x > 0, x * x, 0.0) + tg.where(x < 0, 1.0, 2.0) * x).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [1.0, 3.0, 8.0])


# --- in-place ops in a graph ------------------------------------------------------------------
def micrograd_more_ops(lib, make):
    """micrograd's test_more_ops (its README's example), line by line."""
    a = make(-4.0)
    b = make(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g, a, b


def test_micrograd_engine_test_passes_unchanged() -> None:
    g, a, b = micrograd_more_ops(tg, lambda v: tg.tensor(v, dtype=tg.float64, requires_grad=True))
    # micrograd's published values (README / test_engine.py), to its tolerance
    assert abs(g.item() - 24.70408163265306) < 1e-6
    assert abs(a.grad.item() - 138.83381924198252) < 1e-6
    assert abs(b.grad.item() - 645.5772594752186) < 1e-6
    if torch is not None:
        tg_, ta, tb = micrograd_more_ops(
            torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        )
        assert g.item() == pytest.approx(tg_.item(), rel=1e-12)
        assert a.grad.item() == pytest.approx(ta.grad.item(), rel=1e-12)
        assert b.grad.item() == pytest.approx(tb.grad.item(), rel=1e-12)


def test_micrograd_sanity_check() -> None:
    x = tg.tensor(-4.0, dtype=tg.float64, requires_grad=True)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert y.item() == -20.0 and x.grad.item() == 46.0  # micrograd's and torch's numbers


def pytorch_in_place_examples(make):
    """The in-place patterns of PyTorch tutorials and model code, on tensors in a graph."""
    x = make([1.0, -2.0, 3.0])
    y = x * 2
    y += 1  # += on a non-leaf
    y[y < 0] = 0  # a masked write after an op
    y.mul_(x).sub_(0.5).clamp_(max=10.0)
    y.relu_()
    z = y.clone()
    z.masked_fill_(z > 5, 5.0)
    z[0] = z[0] * 3
    z.add_(x, alpha=2).div_(2)
    return x, z


def test_pytorch_in_place_examples() -> None:
    x, z = pytorch_in_place_examples(lambda v: tg.tensor(v, requires_grad=True))
    z.sum().backward()
    assert z.grad_fn is not None and z.grad_fn.name == "Div"
    np.testing.assert_allclose(z.detach().numpy(), [4.75, -2.0, 5.5])  # torch 2.13's numbers
    np.testing.assert_allclose(x.grad.numpy(), [8.5, 1.0, 1.0])
    if torch is not None:
        tx, tz = pytorch_in_place_examples(lambda v: torch.tensor(v, requires_grad=True))
        tz.sum().backward()
        np.testing.assert_allclose(z.detach().numpy(), tz.detach().numpy())
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_in_place_re_bases_the_history_and_bumps_the_version(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 3
    before = y._version[0]
    early = y * 2  # made before the change: keeps reading the old history
    y += x
    assert y._version[0] == before + 1 and y.grad_fn.name == "Add"
    (early.sum() + y.sum()).backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [6.0 + 4.0, 6.0 + 4.0])


def test_the_version_error_names_the_op_whose_saved_value_was_overwritten() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y += 1  # exp saved its output for backward
    with pytest.raises(tg.GradientError, match="Exp"):
        y.sum().backward()
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    h = w * 1
    p = h * w  # Mul keeps h: w's gradient needs it
    h.add_(1)
    with pytest.raises(tg.GradientError, match=r"Mul's input 0.*modified in place"):
        p.sum().backward()


def test_a_saved_value_that_is_not_needed_does_not_raise() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    p = h * 2  # torch keeps h only when the other factor requires grad
    h.mul_(5)
    p.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_what_torch_refuses_stays_refused() -> None:
    leaf = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(tg.GradientError, match="leaf"):
        leaf += 1
    with tg.no_grad():
        leaf += 1  # an optimizer's update
    assert leaf.tolist() == [2.0, 3.0] and leaf.is_leaf
    view = (leaf * 2).reshape(2, 1)
    with pytest.raises(tg.GradientError, match="view"):
        view.mul_(2)


def test_a_buffer_that_receives_a_value_in_a_graph_joins_it() -> None:
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    buf = tg.zeros(3, 2)
    buf[1] = w * w
    assert buf.requires_grad and buf.grad_fn.name == "IndexPut"
    buf.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])


def test_fill_zero_and_copy_in_a_graph_cut_the_old_values_gradient() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    src = tg.tensor([5.0, 6.0], requires_grad=True)
    a, b, c = x * 1, x * 1, x * 1
    a.zero_()
    b.fill_(3.0)
    c.copy_(src * 2)
    (a + b + c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(src.grad.numpy(), [2.0, 2.0])
