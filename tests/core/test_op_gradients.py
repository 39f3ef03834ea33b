"""The op table, in the spirit of PyTorch's OpInfo: one entry per op (or per way of calling
it) with sample inputs, run on every available device through gradcheck and gradgradcheck
(finite differences), float32 dtype keeping, parity with the CPU and, where torch is
installed, forward values and gradients against torch itself.

Inputs are float64 and drawn away from kinks (0 for relu/abs) and ties (max, maximum, clamp
bounds) so finite differences are well defined. The compared scalar is <v, f(x)> with a random v.
An entry's functions are written once for both libraries: `lib(a)` is tinygrad_digits or torch,
`fn(a)` their nn.functional and `ints(a, values)` an index tensor beside `a`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.autograd.joining import pad
from tinygrad_digits.nn import functional as F
from tinygrad_digits.ops.loss import CrossEntropy

try:
    import torch
except ImportError:  # the torch comparison skips; everything else runs
    torch = None


def lib(a):
    """tinygrad_digits, or torch for a torch tensor."""
    return tg if isinstance(a, tg.Tensor) else torch


def fn(a):
    """nn.functional of a's library."""
    return F if isinstance(a, tg.Tensor) else torch.nn.functional


def ints(a, values):
    """An int64 index tensor of a's library, on a's device."""
    if isinstance(a, tg.Tensor):
        return tg.tensor(values, device=a.device)
    return torch.tensor(values)


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


def off_integers(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Values at least 0.1 from every integer and half-integer (floor, round, ... jump there)."""
    return lambda rng: rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape)


def with_zero(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    def make(rng: np.random.Generator) -> np.ndarray:
        out = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
        out.reshape(-1)[1] = 0.0
        return out

    return make


def in_graph_iadd(a, b):
    y = a * 2
    y += b * b
    return y


def in_graph_setitem(a, b):
    y = a * 1
    y[1] = b
    return y * y


def in_graph_masked_setitem(a):
    y = a * 3
    y[y > 0] = 0
    return y


def in_graph_chain(a, b):
    y = a.sin()
    y.mul_(b)
    y.sub_(1).div_(2).clamp_(-5, 5).relu_()
    return y


def micrograd_step(a, b):
    c = a + b
    c += c + 1
    c += 1 + c + (-a)
    return c * b


# Ops added with issue 17 (each name is the op's torch name, a suffix the way it is called).
OPS.update(
    {
        "sin": (lambda a: a.sin(), [normal(5)]),
        "cos": (lambda a: a.cos(), [normal(5)]),
        "tan": (lambda a: a.tan(), [lambda r: r.uniform(-1.2, 1.2, 5)]),
        "floor": (lambda a: a.floor() * a, [off_integers(6)]),
        "ceil": (lambda a: a.ceil() * a, [off_integers(6)]),
        "trunc": (lambda a: a.trunc() * a, [off_integers(6)]),
        "round": (lambda a: a.round() * a, [off_integers(6)]),
        "round_decimals": (lambda a: a.round(decimals=1) + a, [off_integers(6)]),
        "sign": (lambda a: a.sign() * a, [nonzero(6)]),
        "log2": (lambda a: a.log2(), [positive(4)]),
        "log10": (lambda a: a.log10(), [positive(4)]),
        "exp2": (lambda a: a.exp2(), [normal(4)]),
        "lerp": (lambda a, b, w: a.lerp(b, w), [normal(4), normal(4), normal(4)]),
        "logaddexp": (lambda a, b: a.logaddexp(b), [normal(5), lambda r: distinct((5,), r)]),
        "remainder": (
            lambda a, b: a % b,
            [lambda r: r.uniform(0.2, 1.3, 5), lambda r: r.uniform(1.5, 2.0, 5)],
        ),
        "rremainder": (lambda a: 5.0 % a, [lambda r: r.uniform(1.1, 1.4, 5)]),
        "floor_divide": (lambda a, b: (a // b) * a, [off_integers(5), lambda r: np.ones(5)]),
        "div_trunc": (lambda a: a.div(2.0, rounding_mode="trunc") * a, [off_integers(5)]),
        "prod_dim": (lambda a: a.prod(1), [normal(3, 4)]),
        "prod_all_with_zero": (lambda a: a.prod(), [with_zero(5)]),
        "prod_keepdim_with_zero": (lambda a: a.prod(0, keepdim=True), [with_zero(3, 2)]),
        "cumsum": (lambda a: a.cumsum(1), [normal(3, 4)]),
        "cumprod": (lambda a: a.cumprod(1), [normal(3, 4)]),
        "cumprod_with_zero": (lambda a: a.cumprod(0), [with_zero(5)]),
        "adaptive_avg_pool2d": (
            lambda a: fn(a).adaptive_avg_pool2d(a, (2, 3)),
            [normal(1, 2, 5, 4)],
        ),
        "norm": (lambda a: a.norm(), [normal(3, 4)]),
        "norm_dim_p1": (lambda a: a.norm(1, dim=1), [nonzero(3, 4)]),
        "flip": (lambda a: a.flip(0, 2), [normal(2, 3, 4)]),
        "roll": (lambda a: a.roll(2, 1), [normal(3, 5)]),
        "roll_flat": (lambda a: a.roll(-3), [normal(3, 5)]),
        "movedim": (lambda a: a.movedim(0, -1), [normal(2, 3, 4)]),
        "tril": (lambda a: a.tril(), [normal(4, 4)]),
        "triu_offset": (lambda a: a.triu(1), [normal(2, 3, 4)]),
        "diagonal": (lambda a: a.diagonal(), [normal(4, 4)]),
        "diagonal_offset_dims": (lambda a: a.diagonal(-1, 0, 2), [normal(4, 2, 5)]),
        "index_select": (lambda a: a.index_select(1, ints(a, [2, 0, 2])), [normal(3, 4)]),
        "repeat_interleave": (lambda a: a.repeat_interleave(2, dim=1), [normal(2, 3)]),
        "repeat_interleave_flat": (lambda a: a.repeat_interleave(3), [normal(2, 2)]),
        "gather": (
            lambda a: a.gather(1, ints(a, [[0, 0], [2, 1], [3, 0]])),
            [normal(3, 4)],
        ),
        "scatter": (
            lambda a, b: a.scatter(0, ints(a, [[1, 0, 2]]), b),
            [normal(3, 3), normal(1, 3)],
        ),
        "scatter_add": (
            lambda a, b: a.scatter_add(1, ints(a, [[0, 0, 1], [2, 2, 2]]), b),
            [normal(2, 3), normal(2, 3)],
        ),
        "sort": (lambda a: a.sort(1).values, [untied(3, 4)]),
        "sort_descending": (lambda a: a.sort(0, descending=True).values, [untied(3, 4)]),
        "topk": (lambda a: a.topk(2).values, [untied(3, 5)]),
        "topk_smallest": (lambda a: a.topk(2, dim=0, largest=False).values, [untied(3, 5)]),
        "masked_select": (lambda a: a.masked_select(a > 0), [nonzero(3, 4)]),
        "where_scalars": (lambda a: lib(a).where(a > 0, 1.0, -1.0) * a, [nonzero(5)]),
        "where_scalar_other": (lambda a: lib(a).where(a > 0, a, 0.0), [nonzero(5)]),
        "einsum_matmul": (
            lambda a, b: lib(a).einsum("ij,jk->ik", a, b),
            [normal(3, 4), normal(4, 2)],
        ),
        "einsum_attention": (
            lambda a, b: lib(a).einsum("bhqd,bhkd->bhqk", a, b),
            [normal(2, 2, 3, 4), normal(2, 2, 5, 4)],
        ),
        "einsum_trace": (lambda a: lib(a).einsum("ii", a), [normal(3, 3)]),
        "einsum_ellipsis_three": (
            lambda a, b, c: lib(a).einsum("...ij,jk,k->...i", a, b, c),
            [normal(2, 3, 4), normal(4, 5), normal(5)],
        ),
        "meshgrid": (
            lambda a, b: (
                lib(a).meshgrid(a, b, indexing="ij")[0] * lib(a).meshgrid(a, b, indexing="ij")[1]
            ),
            [normal(3), normal(4)],
        ),
        "meshgrid_xy": (
            lambda a, b: (
                lib(a).meshgrid(a, b, indexing="xy")[1] - lib(a).meshgrid(a, b, indexing="xy")[0]
            ),
            [normal(3), normal(4)],
        ),
        "pad_reflect": (lambda a: fn(a).pad(a, (2, 1, 1, 0), mode="reflect"), [normal(2, 3, 4)]),
        "pad_replicate": (lambda a: fn(a).pad(a, (1, 2), mode="replicate"), [normal(2, 3, 4)]),
        "pad_circular": (
            lambda a: fn(a).pad(a, (1, 2, 2, 1), mode="circular"),
            [normal(1, 2, 3, 4)],
        ),
        "silu": (lambda a: fn(a).silu(a), [normal(6)]),
        "elu": (lambda a: fn(a).elu(a, 0.7), [nonzero(6)]),
        "relu6": (lambda a: fn(a).relu6(a), [lambda r: away_from(r.uniform(-2, 8, 8), (0.0, 6.0))]),
        "hardtanh": (
            lambda a: fn(a).hardtanh(a, -0.5, 0.5),
            [lambda r: away_from(r.standard_normal(8), (-0.5, 0.5))],
        ),
        "hardswish": (
            lambda a: fn(a).hardswish(a),
            [lambda r: away_from(r.uniform(-5, 5, 8), (-3.0, 3.0))],
        ),
        "hardsigmoid": (
            lambda a: fn(a).hardsigmoid(a),
            [lambda r: away_from(r.uniform(-5, 5, 8), (-3.0, 3.0))],
        ),
        "mish": (lambda a: fn(a).mish(a), [normal(6)]),
        "logsigmoid": (lambda a: fn(a).logsigmoid(a), [normal(6)]),
        "normalize": (lambda a: fn(a).normalize(a, dim=1), [normal(3, 4)]),
        "layer_norm": (
            lambda a, w, b: fn(a).layer_norm(a, (4,), w, b),
            [normal(3, 4), normal(4), normal(4)],
        ),
        "group_norm": (
            lambda a, w, b: fn(a).group_norm(a, 2, w, b),
            [normal(2, 4, 3), normal(4), normal(4)],
        ),
        "scaled_dot_product_attention_causal": (
            lambda q, k, v: fn(q).scaled_dot_product_attention(q, k, v, is_causal=True),
            [normal(2, 3, 4), normal(2, 3, 4), normal(2, 3, 5)],
        ),
        "scaled_dot_product_attention_float_mask": (
            lambda q, k, v, m: fn(q).scaled_dot_product_attention(q, k, v, attn_mask=m),
            [normal(3, 4), normal(2, 4), normal(2, 2), normal(3, 2)],
        ),
        "interpolate_nearest": (
            lambda a: fn(a).interpolate(a, scale_factor=2),
            [normal(1, 2, 2, 3)],
        ),
        "interpolate_bilinear": (
            lambda a: fn(a).interpolate(a, size=(3, 5), mode="bilinear"),
            [normal(1, 2, 2, 3)],
        ),
        "interpolate_linear_align_corners": (
            lambda a: fn(a).interpolate(a, scale_factor=2, mode="linear", align_corners=True),
            [normal(1, 2, 3)],
        ),
        "embedding": (lambda w: fn(w).embedding(ints(w, [[0, 2], [2, 1]]), w), [normal(3, 4)]),
        "embedding_padding_idx": (
            lambda w: fn(w).embedding(ints(w, [0, 2, 1, 2]), w, padding_idx=2),
            [normal(3, 4)],
        ),
        "cross_entropy_per_position": (
            lambda a: fn(a).cross_entropy(a, ints(a, [[0, 2, 1], [1, 1, 0]])),
            [normal(2, 3, 3)],
        ),
        "nll_loss_per_position_none": (
            lambda a: fn(a).nll_loss(a, ints(a, [[[0, 1], [1, 0]]]), reduction="none"),
            [normal(1, 2, 2, 2)],
        ),
        "conv1d": (
            lambda a, w, b: fn(a).conv1d(a, w, b, stride=2, padding=1),
            [normal(2, 3, 7), normal(4, 3, 3), normal(4)],
        ),
        "conv_transpose2d": (
            lambda a, w, b: fn(a).conv_transpose2d(a, w, b, stride=2, padding=1, output_padding=1),
            [normal(1, 2, 3, 3), normal(2, 3, 3, 3), normal(3)],
        ),
        "conv_transpose2d_groups_dilation": (
            lambda a, w: fn(a).conv_transpose2d(a, w, groups=2, dilation=2),
            [normal(2, 4, 2, 3), normal(4, 1, 2, 2)],
        ),
        "max_pool2d_with_indices": (
            lambda a: fn(a).max_pool2d(a, 2, return_indices=True)[0],
            [untied(1, 2, 4, 4)],
        ),
        "pow_tensor_at_zero": (lambda a, b: (a * 0) ** (b * 0) * a, [normal(3), normal(3)]),
        "softmax_0d": (lambda a: a.sum().softmax(0) * a, [normal(3)]),
        "in_place_iadd_in_graph": (in_graph_iadd, [normal(3), normal(3)]),
        "in_place_setitem_in_graph": (in_graph_setitem, [normal(3, 2), normal(2)]),
        "in_place_masked_setitem_in_graph": (in_graph_masked_setitem, [nonzero(5)]),
        "in_place_chain_in_graph": (in_graph_chain, [normal(4), normal(4)]),
        "in_place_micrograd_engine": (micrograd_step, [normal(3), normal(3)]),
    }
)

# A float32 intermediate rounds to ~6e-8 relative: step and tolerances scale with its eps.
F32 = float(np.finfo(np.float32).eps)
TOLERANCES = {"to_float32_and_back": {"eps": F32**0.5 * 8, "atol": F32**0.5, "rtol": F32**0.5}}


def make_inputs(makers: list, device: str) -> list[tg.Tensor]:
    rng = np.random.default_rng(1234)
    return [tg.tensor(m(rng), dtype=tg.float64, device=device, requires_grad=True) for m in makers]


# Gradients that differ from the derivative on purpose, as torch's: the padding row is frozen.
NOT_A_DERIVATIVE = {"embedding_padding_idx"}


@pytest.mark.parametrize("name", sorted(OPS.keys() - NOT_A_DERIVATIVE))
def test_gradcheck(name: str, device: str) -> None:
    fn, makers = OPS[name]
    assert tg.gradcheck(fn, make_inputs(makers, device), **TOLERANCES.get(name, {}))


@pytest.mark.parametrize("name", sorted(OPS.keys() - NOT_A_DERIVATIVE))
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


# Entries torch can't run as written (tinygrad_digits' internal Functions, helpers of its own,
# Tensor methods torch has only in nn.functional).
NOT_IN_TORCH = {
    "gelu",
    "gelu_tanh",
    "leaky_relu",
    "softplus",
    "softplus_beta",
    "softplus_linear_region",
    "cross_entropy_mean",
    "cross_entropy_sum_smooth",
    "cross_entropy_none",
    "index_tensor_pairs",
    "where",
    "cat",
    "stack",
    "pad",
}


# torch computes these forward only ("derivative for aten::floor_divide is not implemented"):
# the gradients here are the ones of a - b floor(a / b) and of a piecewise constant.
FORWARD_ONLY_IN_TORCH = {"floor_divide", "rremainder"}
# torch's hardsigmoid backward multiplies by a float32 1/6, even in float64.
TORCH_RTOL = {"hardsigmoid": 1e-7}


@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_torch(name: str) -> None:
    """Forward values and the gradients of <v, f(x)> equal torch's (float64, CPU)."""
    if torch is None:
        pytest.skip("torch is not installed")
    if name in NOT_IN_TORCH:
        pytest.skip("written with tinygrad_digits-only helpers")
    f, makers = OPS[name]
    ours = make_inputs(makers, "cpu")
    theirs = [torch.tensor(x.detach().numpy(), requires_grad=True) for x in ours]
    out, expected = f(*ours), f(*theirs)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    if name in FORWARD_ONLY_IN_TORCH:
        return
    v = np.random.default_rng(3).standard_normal(out.shape)
    (out * tg.tensor(v, dtype=out.dtype)).sum().backward()
    (expected * torch.tensor(v, dtype=expected.dtype)).sum().backward()
    for x, t in zip(ours, theirs):
        want = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=TORCH_RTOL.get(name, 1e-9), atol=1e-12)
