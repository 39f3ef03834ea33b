"""gradcheck and gradgradcheck for every differentiable op, on every available device.

Inputs are float64 and drawn away from kinks (0 for relu/abs) and ties (max, maximum, clamp
bounds) so finite differences are well defined. The compared scalar is <v, f(x)> with a random v.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.autograd.joining import pad
from tinygrad_digits.ops.loss import CrossEntropy


def away_from(values: np.ndarray, points: tuple[float, ...], gap: float = 0.1) -> np.ndarray:
    """Push values at least `gap` away from each kink point."""
    out = values.copy()
    for p in points:
        near = np.abs(out - p) < gap
        out[near] = p + np.where(out[near] >= p, gap, -gap)
    return out


def distinct(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values with no ties (so max/min/sort have unique answers)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape) / max(n, 1)


def labels_for(device: str) -> tg.Tensor:
    return tg.tensor([0, 2, 1, 2, 0], device=device)


# name -> (function, list of input makers rng -> ndarray)
def normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.standard_normal(shape)


def positive(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def nonzero(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: away_from(rng.standard_normal(shape), (0.0,), 0.2)


def untied(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: distinct(shape, rng)


OPS: dict[str, tuple[Callable[..., tg.Tensor], list]] = {
    "add": (lambda a, b: a + b, [normal(3, 4), normal(3, 4)]),
    "add_broadcast_row": (lambda a, b: a + b, [normal(3), normal(4, 3)]),
    "add_broadcast_keep": (lambda a, b: a + b, [normal(1, 3), normal(4, 3)]),
    "mul_outer": (lambda a, b: a * b, [normal(4, 1), normal(1, 3)]),
    "add_scalar": (lambda a: 2.5 + a, [normal(3)]),
    "sub": (lambda a, b: a - b, [normal(2, 3), normal(2, 3)]),
    "rsub": (lambda a: 1.0 - a, [normal(3)]),
    "mul": (lambda a, b: a * b, [normal(2, 3), normal(2, 3)]),
    "div": (lambda a, b: a / b, [normal(2, 3), nonzero(2, 3)]),
    "rdiv": (lambda a: 2.0 / a, [nonzero(5)]),
    "neg": (lambda a: -a, [normal(4)]),
    "pow_int": (lambda a: a**3, [normal(4)]),
    "pow_float": (lambda a: a**2.5, [positive(4)]),
    "pow_negative": (lambda a: a**-1.5, [positive(4)]),
    "pow_tensor": (lambda a, b: a**b, [positive(3), normal(3)]),
    "rpow": (lambda a: 2.0**a, [normal(3)]),
    "exp": (lambda a: a.exp(), [normal(3, 2)]),
    "log": (lambda a: a.log(), [positive(3, 2)]),
    "log1p": (lambda a: a.log1p(), [positive(3, 2)]),
    "softplus_linear_region": (lambda a: (a * 30).softplus(), [positive(4)]),
    "sqrt": (lambda a: a.sqrt(), [positive(5)]),
    "abs": (lambda a: a.abs(), [nonzero(5)]),
    "tanh": (lambda a: a.tanh(), [normal(5)]),
    "sigmoid": (lambda a: a.sigmoid(), [normal(5)]),
    "relu": (lambda a: a.relu(), [nonzero(6)]),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), [nonzero(6)]),
    "gelu": (lambda a: a.gelu(), [normal(6)]),
    "gelu_tanh": (lambda a: a.gelu(approximate="tanh"), [normal(6)]),
    "softplus": (lambda a: a.softplus(), [normal(6)]),
    "softplus_beta": (lambda a: a.softplus(beta=2.0), [normal(6)]),
    "maximum": (lambda a, b: a.maximum(b), [untied(6), lambda r: distinct((6,), r) + 0.05]),
    "minimum": (lambda a, b: a.minimum(b), [untied(6), lambda r: distinct((6,), r) + 0.05]),
    "clamp": (
        lambda a: a.clamp(-0.5, 0.5),
        [lambda r: away_from(r.standard_normal(8), (-0.5, 0.5))],
    ),
    "clamp_min": (lambda a: a.clamp(min=0.2), [lambda r: away_from(r.standard_normal(8), (0.2,))]),
    "where": (lambda a, b: tg.where(a > b, a, b * 2), [untied(5), lambda r: distinct((5,), r)]),
    "sum_all": (lambda a: a.sum(), [normal(3, 4)]),
    "sum_dim0": (lambda a: a.sum(0), [normal(3, 4)]),
    "sum_dim1_keep": (lambda a: a.sum(1, keepdim=True), [normal(3, 4)]),
    "sum_tuple": (lambda a: a.sum((0, 2)), [normal(2, 3, 4)]),
    "mean_all": (lambda a: a.mean(), [normal(3, 4)]),
    "mean_dim": (lambda a: a.mean(-1), [normal(3, 4)]),
    "mean_keep": (lambda a: a.mean((0, 1), keepdim=True), [normal(2, 3, 4)]),
    "amax_all": (lambda a: a.amax(), [untied(3, 4)]),
    "max_dim": (lambda a: a.max(1).values, [untied(3, 4)]),
    "amax_keep": (lambda a: a.amax(0, keepdim=True), [untied(3, 4)]),
    "min_dim": (lambda a: a.min(0).values, [untied(3, 4)]),
    "amin_tuple": (lambda a: a.amin((1, 2)), [untied(2, 3, 4)]),
    "var": (lambda a: a.var(1), [normal(3, 5)]),
    "var_biased": (lambda a: a.var(correction=0), [normal(3, 5)]),
    "std": (lambda a: a.std(0, keepdim=True), [normal(4, 3)]),
    "logsumexp": (lambda a: a.logsumexp(1), [normal(3, 5)]),
    "matmul_2d": (lambda a, b: a @ b, [normal(3, 4), normal(4, 2)]),
    "matmul_vec_mat": (lambda a, b: a @ b, [normal(4), normal(4, 2)]),
    "matmul_mat_vec": (lambda a, b: a @ b, [normal(3, 4), normal(4)]),
    "matmul_vec_vec": (lambda a, b: a @ b, [normal(4), normal(4)]),
    "matmul_batched": (lambda a, b: a @ b, [normal(2, 3, 4), normal(2, 4, 5)]),
    "matmul_broadcast": (lambda a, b: a @ b, [normal(2, 1, 3, 4), normal(3, 4, 2)]),
    "reshape": (lambda a: a.reshape(2, 6) * 1.5, [normal(3, 4)]),
    "view_infer": (lambda a: a.view(-1, 2), [normal(3, 4)]),
    "transpose": (lambda a: a.transpose(0, 2), [normal(2, 3, 4)]),
    "permute": (lambda a: a.permute(2, 0, 1), [normal(2, 3, 4)]),
    "T": (lambda a: a.T, [normal(3, 4)]),
    "mT": (lambda a: a.mT, [normal(2, 3, 4)]),
    "expand": (lambda a: a.expand(4, 3, 2), [normal(3, 1)]),
    "squeeze": (lambda a: a.squeeze(1), [normal(3, 1, 2)]),
    "unsqueeze": (lambda a: a.unsqueeze(-1), [normal(3, 2)]),
    "flatten": (lambda a: a.flatten(1), [normal(2, 3, 4)]),
    "index_int": (lambda a: a[1], [normal(3, 4)]),
    "index_slice": (lambda a: a[::2, 1:3], [normal(5, 4)]),
    "index_none_ellipsis": (lambda a: a[None, ..., 0], [normal(2, 3, 4)]),
    "index_int_array_repeats": (lambda a: a[[0, 0, 2, 1, 0]], [normal(4, 3)]),
    "index_tensor_pairs": (
        lambda a: a[tg.tensor([0, 1, 1], device=a.device), tg.tensor([2, 0, 2], device=a.device)],
        [normal(3, 3)],
    ),
    "index_mask": (lambda a: a[a > 0], [nonzero(4, 3)]),
    "cat": (lambda a, b: tg.cat([a, b, a], dim=1), [normal(2, 3), normal(2, 2)]),
    "stack": (lambda a, b: tg.stack([a, b], dim=1), [normal(2, 3), normal(2, 3)]),
    "pad": (lambda a: pad(a, (1, 2, 0, 1), value=0.5), [normal(2, 3)]),
    "split": (lambda a: a.split(2, dim=1)[1] * 2, [normal(2, 5)]),
    "repeat": (lambda a: a.repeat(2, 3), [normal(2, 2)]),
    "softmax": (lambda a: a.softmax(1), [normal(3, 5)]),
    "softmax_dim0": (lambda a: a.softmax(0), [normal(3, 5)]),
    "log_softmax": (lambda a: a.log_softmax(-1), [normal(3, 5)]),
    "cross_entropy_mean": (
        lambda a: CrossEntropy.apply(a, labels_for(a.device), reduction="mean", smoothing=0.0),
        [normal(5, 3)],
    ),
    "cross_entropy_sum_smooth": (
        lambda a: CrossEntropy.apply(a, labels_for(a.device), reduction="sum", smoothing=0.1),
        [normal(5, 3)],
    ),
    "cross_entropy_none": (
        lambda a: CrossEntropy.apply(a, labels_for(a.device), reduction="none", smoothing=0.0),
        [normal(5, 3)],
    ),
    "clone": (lambda a: a.clone() * a, [normal(3)]),
    "to_float32_and_back": (lambda a: (a.float() * 2).double(), [normal(3)]),
}

# A float32 intermediate rounds to ~6e-8 relative: step and tolerances scale with its eps.
F32 = float(np.finfo(np.float32).eps)
TOLERANCES = {"to_float32_and_back": {"eps": F32**0.5 * 8, "atol": F32**0.5, "rtol": F32**0.5}}


def make_inputs(makers: list, device: str) -> list[tg.Tensor]:
    rng = np.random.default_rng(1234)
    return [tg.tensor(m(rng), dtype=tg.float64, device=device, requires_grad=True) for m in makers]


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck(name: str, device: str) -> None:
    fn, makers = OPS[name]
    assert tg.gradcheck(fn, make_inputs(makers, device), **TOLERANCES.get(name, {}))


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradgradcheck(name: str, device: str) -> None:
    fn, makers = OPS[name]
    assert tg.gradgradcheck(fn, make_inputs(makers, device), **TOLERANCES.get(name, {}))


@pytest.mark.parametrize("name", sorted(OPS))
def test_float32_forward_and_backward_keep_dtype(name: str, device: str) -> None:
    fn, makers = OPS[name]
    if name == "to_float32_and_back":
        pytest.skip("this op changes dtype on purpose")
    rng = np.random.default_rng(7)
    xs = [tg.tensor(m(rng), dtype=tg.float32, device=device, requires_grad=True) for m in makers]
    out = fn(*xs)
    assert out.dtype == tg.float32, f"{name} forward gave {out.dtype}"
    weights = tg.tensor(rng.standard_normal(out.shape), dtype=tg.float32, device=device)
    (out * weights).sum().backward()
    for x in xs:
        assert x.grad is not None and x.grad.dtype == tg.float32, name
        assert x.grad.shape == x.shape


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_device_agrees_with_cpu(name: str, device: str) -> None:
    """Backend parity: values, gradients and dtypes equal to the NumPy results."""
    if device == "cpu":
        pytest.skip("cpu is the reference")
    fn, makers = OPS[name]
    results = {}
    for dev in ("cpu", device):
        xs = make_inputs(makers, dev)
        out = fn(*xs)
        weights = tg.tensor(
            np.random.default_rng(5).standard_normal(out.shape), dtype=out.dtype, device=dev
        )
        (out * weights).sum().backward()
        results[dev] = (out, [x.grad for x in xs])
    (out_a, grads_a), (out_b, grads_b) = results["cpu"], results[device]
    assert out_a.dtype == out_b.dtype and out_a.shape == out_b.shape
    np.testing.assert_allclose(out_b.cpu().detach().numpy(), out_a.detach().numpy(), rtol=1e-12)
    for ga, gb in zip(grads_a, grads_b):
        assert ga.dtype == gb.dtype
        np.testing.assert_allclose(gb.cpu().numpy(), ga.numpy(), rtol=1e-10, atol=1e-12)
