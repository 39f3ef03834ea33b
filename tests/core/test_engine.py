"""The autograd engine against the classic bugs of small autodiff frameworks (TESTING.md)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.autograd.function import Function
from tinygrad_digits.ops.loss import CrossEntropy


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def leaf(values, device: str, dtype=tg.float64) -> tg.Tensor:
    return tg.tensor(values, dtype=dtype, device=device, requires_grad=True)


# --- graph shapes --------------------------------------------------------------------------
def test_reused_node_counts_every_use(device: str) -> None:
    a = leaf([3.0], device)
    b = a + a
    c = b + b
    c.backward()
    assert host(a.grad).tolist() == [4.0]


def test_square_by_self_multiplication(device: str) -> None:
    x = leaf([1.5, -2.0], device)
    (x * x).sum().backward()
    np.testing.assert_allclose(host(x.grad), [3.0, -4.0])


def test_diamond_matches_hand_math(device: str) -> None:
    a, b = leaf([2.0], device), leaf([-3.0], device)
    c = a + b
    d = a * b
    e = c + d
    f = c * d
    y = e + f
    y.backward()
    # y = (a+b) + ab + (a+b)ab; dy/da = 1 + b + (2ab + b^2), dy/db = 1 + a + (a^2 + 2ab)
    av, bv = 2.0, -3.0
    assert host(a.grad)[0] == pytest.approx(1 + bv + 2 * av * bv + bv * bv)
    assert host(b.grad)[0] == pytest.approx(1 + av + av * av + 2 * av * bv)


def test_ten_thousand_op_chain(device: str) -> None:
    x = leaf([1.0], device)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert host(x.grad)[0] == pytest.approx(1.0001**10_000, rel=1e-9)


# --- accumulation --------------------------------------------------------------------------
def test_leaves_accumulate_until_zeroed(device: str) -> None:
    x = leaf([1.0, 2.0], device)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(host(x.grad), [6.0, 6.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(host(x.grad), [3.0, 3.0])


def test_non_leaf_grad_only_when_retained_and_never_doubles(device: str) -> None:
    x = leaf([1.0, 2.0], device)
    h = x * 2
    h.retain_grad()
    out = (h * h).sum()
    out.backward(retain_graph=True)
    np.testing.assert_allclose(host(h.grad), [4.0, 8.0])
    out.backward()
    np.testing.assert_allclose(host(h.grad), [4.0, 8.0])  # replaced, not accumulated
    np.testing.assert_allclose(host(x.grad), [16.0, 32.0])  # leaves accumulate
    g = x * 5
    (g * 1).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor.*retain_grad"):
        assert g.grad is None  # as torch: None, with a warning that says why
    assert repr(g.grad_fn).startswith("<MulBackward0 object at 0x")
    assert "grad_fn=<MulBackward0>" in repr(g)


def test_leaf_grads_never_share_memory(device: str) -> None:
    a, b = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    (a + b).sum().backward()
    with tg.no_grad():
        a.grad.mul_(10)
    np.testing.assert_allclose(host(b.grad), [1.0, 1.0])


def test_second_backward_through_freed_graph_raises(device: str) -> None:
    x = leaf([1.0], device)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(tg.GradientError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward(device: str) -> None:
    x = leaf([0.5], device)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert host(x.grad)[0] == pytest.approx(4 * np.exp(0.5))


# --- in-place changes --------------------------------------------------------------------
def test_inplace_change_of_saved_input_raises(device: str) -> None:
    x = leaf([1.0, 2.0], device)
    w = tg.tensor([3.0, 4.0], dtype=tg.float64, device=device)
    y = (w * x).sum()
    w.add_(100.0)  # w was saved by Mul for x's gradient
    with pytest.raises(tg.GradientError, match=r"Mul's input 0.*modified in place"):
        y.backward()


def test_inplace_change_of_saved_output_raises(device: str) -> None:
    x = leaf([1.0, 2.0], device)
    e = x.exp()
    y = e.sum() * 1.0
    with tg.no_grad():
        e.add_(1.0)
    with pytest.raises(tg.GradientError, match="output of Exp"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_is_refused(device: str) -> None:
    x = leaf([1.0], device)
    with pytest.raises(tg.GradientError, match="no_grad"):
        x.add_(1.0)
    with tg.no_grad():
        x.add_(1.0)
    assert host(x)[0] == 2.0


def test_inplace_through_a_view_is_seen_by_the_check(device: str) -> None:
    w = tg.tensor([[1.0, 2.0]], dtype=tg.float64, device=device)
    x = leaf([[3.0, 4.0]], device)
    y = (w.reshape(2) * x.reshape(2)).sum()
    w.mul_(2.0)
    with pytest.raises(tg.GradientError, match="modified in place"):
        y.backward()


# --- what does not get a gradient ----------------------------------------------------------
def test_backward_of_non_scalar_needs_gradient(device: str) -> None:
    x = leaf([1.0, 2.0], device)
    with pytest.raises(tg.GradientError, match=r"shape \(2,\).*mean\(\)"):
        (x * 2).backward()
    (x * 2).backward(tg.tensor([1.0, 10.0], dtype=tg.float64, device=device))
    np.testing.assert_allclose(host(x.grad), [2.0, 20.0])


def test_nothing_requires_grad_explains_where_graph_was_cut(device: str) -> None:
    x = leaf([1.0], device)
    with tg.no_grad():
        y = x * 2
    assert not y.requires_grad
    with pytest.raises(tg.GradientError, match="no_grad"):
        y.backward()
    z = x.detach() * 2
    with pytest.raises(tg.GradientError, match="detach"):
        z.backward()


def test_enable_grad_inside_no_grad(device: str) -> None:
    x = leaf([1.0], device)
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_integer_tensors_cannot_require_grad(device: str) -> None:
    with pytest.raises(tg.GradientError, match="floating-point"):
        tg.tensor([1, 2], device=device, requires_grad=True)


def test_masking_with_comparison_is_differentiable(device: str) -> None:
    x = leaf([-1.0, 2.0, -3.0], device)
    (x * (x < 0)).sum().backward()
    np.testing.assert_allclose(host(x.grad), [1.0, 0.0, 1.0])


def test_argmax_and_comparisons_carry_no_grad(device: str) -> None:
    x = leaf([1.0, 3.0, 2.0], device)
    assert not x.argmax().requires_grad
    assert not (x > 1).requires_grad
    assert x.argmax().item() == 1
    assert x.argmax().dtype == tg.int64


def test_unused_parameter_keeps_none(device: str) -> None:
    used, unused = leaf([1.0], device), leaf([2.0], device)
    (used * 3).sum().backward()
    assert unused.grad is None


def test_numpy_of_tensor_requiring_grad_is_refused() -> None:
    x = leaf([1.0], "cpu")
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0]


# --- broadcasting and reductions -----------------------------------------------------------
@pytest.mark.parametrize(
    ("sa", "sb"), [((3,), (4, 3)), ((1, 3), (4, 3)), ((4, 1), (1, 3)), ((), (4, 3)), ((5,), (1, 5))]
)
def test_broadcast_grads_have_input_shapes(device: str, sa, sb) -> None:
    rng = np.random.default_rng(0)
    a = leaf(rng.standard_normal(sa), device)
    b = leaf(rng.standard_normal(sb), device)
    (a * b + a).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    full = np.broadcast_shapes(sa, sb)
    np.testing.assert_allclose(host(a.grad), np_sum_to(np.broadcast_to(host(b) + 1, full), sa))
    np.testing.assert_allclose(host(b.grad), np_sum_to(np.broadcast_to(host(a), full), sb))


def np_sum_to(x: np.ndarray, shape: tuple) -> np.ndarray:
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    return x.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


def test_mean_gradient_uses_input_count(device: str) -> None:
    x = leaf(np.ones((4, 5)), device)
    x.mean(dim=1).sum().backward()
    np.testing.assert_allclose(host(x.grad), np.full((4, 5), 1 / 5))


def test_max_ties_share_the_gradient(device: str) -> None:
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], device)
    g = tg.tensor([10.0, 6.0], dtype=tg.float64, device=device)
    x.amax(dim=1).backward(g)
    np.testing.assert_allclose(host(x.grad), [[0, 5, 5], [2, 2, 2]])
    assert host(x.grad).sum(axis=1).tolist() == [10.0, 6.0]


def test_repeated_indices_accumulate(device: str) -> None:
    x = leaf([1.0, 2.0, 3.0, 4.0], device)
    x[[0, 0, 1]].sum().backward()
    assert host(x.grad).tolist() == [2.0, 1.0, 0.0, 0.0]


def test_cross_entropy_with_repeated_classes(device: str) -> None:
    logits = leaf(np.zeros((4, 3)), device)
    labels = tg.tensor([1, 1, 1, 0], device=device)
    CrossEntropy.apply(logits, labels, reduction="sum", smoothing=0.0).backward()
    expected = np.full((4, 3), 1 / 3)
    expected[[0, 1, 2], 1] -= 1
    expected[3, 0] -= 1
    np.testing.assert_allclose(host(logits.grad), expected, atol=1e-12)


# --- numerical stability -----------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_family_with_huge_logits(device: str, scale: float) -> None:
    raw = np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]]) * scale
    for dtype in (tg.float32, tg.float64):
        logits = leaf(raw, device, dtype)
        labels = tg.tensor([0, 2], device=device)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = CrossEntropy.apply(logits, labels, reduction="mean", smoothing=0.0)
            loss.backward()
            probs = logits.detach().softmax(1)
            logp = logits.detach().log_softmax(1)
        shifted = raw - raw.max(axis=1, keepdims=True)
        ref_logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        assert np.isfinite(host(loss)).all() and np.isfinite(host(logits.grad)).all()
        assert host(loss) == pytest.approx(-(ref_logp[0, 0] + ref_logp[1, 2]) / 2, rel=1e-5)
        np.testing.assert_allclose(host(logp), ref_logp, rtol=1e-5)
        np.testing.assert_allclose(host(probs), np.exp(ref_logp), atol=1e-6)


def test_cross_entropy_with_minus_inf_logit(device: str) -> None:
    logits = leaf([[0.0, -np.inf, 1.0]], device)
    labels = tg.tensor([2], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = CrossEntropy.apply(logits, labels, reduction="mean", smoothing=0.0)
        loss.backward()
    assert host(loss) == pytest.approx(np.log(1 + np.exp(-1.0)))
    assert np.isfinite(host(logits.grad)).all()
    assert host(logits.grad)[0, 1] == 0.0


def test_sigmoid_of_large_inputs_has_no_overflow_warning(device: str) -> None:
    x = leaf([-100.0, 100.0, -1000.0], device, tg.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_allclose(host(y), [0.0, 1.0, 0.0], atol=1e-30)


# --- dtypes ----------------------------------------------------------------------------------
def test_python_scalars_keep_float32(device: str) -> None:
    x = leaf([1.0, 2.0], device, tg.float32)
    for y in (x * 2.5, 2.5 * x, x + 1, x / 3, 1 - x, x**2, 2.0**x, x.mean(), x.var()):
        assert y.dtype == tg.float32


def test_int_and_float_operands_promote_like_torch(device: str) -> None:
    i = tg.tensor([1, 2], device=device)
    f = tg.tensor([0.5, 0.5], device=device)
    assert (i + f).dtype == tg.float32
    assert (i * 2.5).dtype == tg.float32
    assert (i * 2).dtype == tg.int64
    assert (i / 2).dtype == tg.float32
    d = tg.tensor([1.0], dtype=tg.float64, device=device)
    assert (f + d).dtype == tg.float64


def test_accumulated_float32_grads_stay_float32(device: str) -> None:
    x = leaf([1.0, 2.0], device, tg.float32)
    y = x * 2 + x * 3 + x.exp()
    y.sum().backward()
    y2 = (x * 4).sum()
    y2.backward()
    assert x.grad.dtype == tg.float32


def test_reductions_return_0d_and_python_scalars_work(device: str) -> None:
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    s = x.sum()
    assert s.shape == () and s.ndim == 0
    assert float(s) == 10.0 and int(s) == 10 and s.item() == 10.0
    assert isinstance(x.argmax().item(), int)
    assert x[1, 0].item() == 3.0


# --- higher order --------------------------------------------------------------------------
def test_hessian_vector_product_matches_finite_differences(device: str) -> None:
    rng = np.random.default_rng(3)
    a0 = rng.standard_normal((4, 4))
    xv, v = rng.standard_normal(4), rng.standard_normal(4)

    def f(x: tg.Tensor) -> tg.Tensor:
        a = tg.tensor(a0, dtype=tg.float64, device=device)
        return ((a @ x).tanh() ** 2).sum() + (x**3).sum()

    def grad_at(values: np.ndarray) -> np.ndarray:
        x = leaf(values, device)
        (g,) = tg.grad(f(x), x)
        return host(g)

    x = leaf(xv, device)
    (g,) = tg.grad(f(x), x, create_graph=True)
    (hv,) = tg.grad(g, x, grad_outputs=tg.tensor(v, dtype=tg.float64, device=device))
    eps = 1e-6
    numeric = (grad_at(xv + eps * v) - grad_at(xv - eps * v)) / (2 * eps)
    np.testing.assert_allclose(host(hv), numeric, rtol=1e-6, atol=1e-8)


def test_gradient_penalty_trains_through_create_graph(device: str) -> None:
    w = leaf([0.5, -1.0], device)
    x = leaf([1.0, 2.0], device)
    out = (w * x).tanh().sum()
    (gx,) = tg.grad(out, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and np.isfinite(host(w.grad)).all()


def test_grad_api_leaves_dot_grad_alone_and_reports_unused(device: str) -> None:
    x, y = leaf([1.0], device), leaf([2.0], device)
    out = (x * 3).sum()
    (gx,) = tg.grad(out, [x], retain_graph=True)
    assert host(gx).tolist() == [3.0] and x.grad is None
    with pytest.raises(tg.GradientError, match="allow_unused"):
        tg.grad(out, [x, y], retain_graph=True)
    gx, gy = tg.grad(out, [x, y], allow_unused=True)
    assert gy is None


# --- errors that name the problem ------------------------------------------------------------
def test_device_mismatch_names_op_devices_and_fix() -> None:
    a = tg.tensor([1.0], device="cpu")
    b = tg.tensor([1.0], device="strict")
    with pytest.raises(tg.DeviceMismatchError) as err:
        _ = a + b
    msg = str(err.value)
    assert "Add" in msg and "'cpu'" in msg and "'strict'" in msg and ".to(" in msg


def test_matmul_shape_error_names_both_shapes(device: str) -> None:
    a = tg.ones(2, 3, device=device)
    b = tg.ones(4, 5, device=device)
    with pytest.raises(tg.ShapeError, match=r"\(2, 3\) and \(4, 5\).*\(3\).*\(4\)"):
        a @ b


def test_matmul_dtype_mismatch_says_how_to_fix(device: str) -> None:
    a = tg.ones(2, 3, device=device)
    b = tg.ones(3, 2, dtype=tg.float64, device=device)
    with pytest.raises(TypeError, match=r"float32 @ float64.*\.float\(\)"):
        a @ b


def test_strict_device_refuses_host_conversion() -> None:
    t = tg.tensor([1.0, 2.0], device="strict")
    with pytest.raises((RuntimeError, TypeError)):
        np.asarray(t.data)
    with pytest.raises(TypeError, match=r"\.cpu\(\)\.numpy\(\)"):
        t.numpy()
    assert t.cpu().numpy().tolist() == [1.0, 2.0]


def test_to_device_is_differentiable(accelerator: str) -> None:
    x = leaf([1.0, 2.0], "cpu")
    y = (x.to(accelerator) * 3).sum()
    y.backward()
    assert x.grad.device == "cpu"
    assert host(x.grad).tolist() == [3.0, 3.0]
    back = leaf([1.0, 2.0], accelerator)
    (back.to("cpu") * 2).sum().backward()
    assert back.grad.device == accelerator and host(back.grad).tolist() == [2.0, 2.0]


def test_to_reads_device_names_as_module_to_does() -> None:
    """Tensor.to and Module.to share one argument parser: any case, spaces, device + dtype."""
    t = tg.tensor([1.0, 2.0])
    assert t.to("STRICT").device == "strict"
    moved = t.to(" Strict ", tg.float64)
    assert moved.device == "strict" and moved.dtype == tg.float64
    assert t.to(dtype="float64", device="cpu").dtype == tg.float64
    assert t.to(moved).device == "strict" and t.to(moved).dtype == tg.float64
    with pytest.raises(TypeError, match="unknown dtype"):
        t.to("tpu")


# --- devices and seeds ---------------------------------------------------------------------
def test_manual_seed_is_reproducible(device: str) -> None:
    tg.manual_seed(42)
    a = host(tg.randn(5, device=device))
    tg.manual_seed(42)
    b = host(tg.randn(5, device=device))
    np.testing.assert_array_equal(a, b)


def test_default_device_context_and_setter() -> None:
    with tg.default_device("strict"):
        assert tg.zeros(2).device == "strict"
        assert tg.tensor([1.0]).device == "strict"
    assert tg.zeros(2).device == "cpu"
    tg.set_default_device("strict")
    try:
        assert tg.ones(1).device == "strict"
    finally:
        tg.set_default_device("cpu")


def test_unknown_and_unavailable_devices_say_what_to_do() -> None:
    with pytest.raises(tg.DeviceUnavailableError, match="use 'cpu'"):
        tg.get_device("tpu")
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(tg.DeviceUnavailableError, match=r"CuPy.*pip install"):
            tg.get_device("cuda")


def test_softplus_is_exact_at_zero(device: str) -> None:
    x = leaf([0.0], device)
    y = x.softplus()
    y.backward()
    assert host(y)[0] == pytest.approx(np.log(2.0))
    assert host(x.grad)[0] == pytest.approx(0.5)


def test_tensor_copies_numpy_input_and_from_numpy_shares() -> None:
    arr = np.array([1.0, 2.0], np.float32)
    copied, shared = tg.tensor(arr), tg.from_numpy(arr)
    arr[0] = 100.0
    assert copied.tolist() == [1.0, 2.0]
    assert shared.tolist() == [100.0, 2.0]


def test_deepcopy_gives_independent_memory_on_the_same_device(device: str) -> None:
    import copy

    x = leaf([1.0, 2.0], device)
    y = copy.deepcopy(x)
    with tg.no_grad():
        y.add_(1.0)
    assert host(x).tolist() == [1.0, 2.0] and host(y).tolist() == [2.0, 3.0]
    assert y.device is x.device and y.requires_grad


def test_broadcast_error_names_op_shapes_and_dimension(device: str) -> None:
    with pytest.raises(
        tg.ShapeError, match=r"Mul: shapes \(2, 3\) and \(4,\).*dimension -1: sizes 3 vs 4"
    ):
        tg.ones(2, 3, device=device) * tg.ones(4, device=device)


class _RaisesInForward(Function):
    def forward(self, x, error):
        raise error


def test_a_one_input_ops_value_error_propagates_unchanged() -> None:
    """The broadcast message names the operands' shapes; a one-input op's other operand is not
    a tensor, so its own error (which names both shapes) is the better one."""
    x = tg.ones(3)
    for error in (ValueError("bad axis"), ValueError("could not broadcast (3,) (4,)")):
        with pytest.raises(ValueError) as info:
            _RaisesInForward.apply(x, error=error)
        assert info.value is error
    with pytest.raises(ValueError, match=r"shapes \(4,\) \(3,\)") as info:
        x.masked(np.array([True, False, True, True]))
    assert not isinstance(info.value, tg.ShapeError)


def test_cross_entropy_backward_twice_with_retain_graph_is_identical(device: str) -> None:
    logits = leaf(np.random.default_rng(0).standard_normal((4, 3)), device)
    labels = tg.tensor([0, 2, 1, 2], device=device)
    loss = CrossEntropy.apply(logits, labels, reduction="mean", smoothing=0.1)
    loss.backward(retain_graph=True)
    first = host(logits.grad).copy()
    loss.backward()
    np.testing.assert_allclose(host(logits.grad), 2 * first, rtol=1e-12)


def test_module_level_functions_match_methods(device: str) -> None:
    x = leaf([[1.0, -2.0], [3.0, 0.5]], device)
    np.testing.assert_allclose(host(tg.exp(x)), host(x.exp()))
    np.testing.assert_allclose(host(tg.matmul(x, x)), host(x @ x))
    assert tg.max(x, 1).indices.tolist() == [0, 0]
    np.testing.assert_allclose(host(tg.sum(x, dim=0)), [4.0, -1.5])
    with pytest.raises(TypeError, match="expects a Tensor"):
        tg.exp([1.0])
