"""ONNX export: every exportable op, the MLP, the CNN and a custom model, checked against
onnxruntime (also at a batch size other than the traced one); clear errors otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training.models import build_model, make_config

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tinygrad_digits.onnx import ExportError, export  # noqa: E402
from tinygrad_digits.onnx.op_table import CONVERTERS  # noqa: E402
from tinygrad_digits.onnx.tracer import trace  # noqa: E402

tg.manual_seed(0)
W = tg.randn(8, 5)
B = tg.randn(5)
KERNEL = tg.randn(4, 2, 3, 3)
GROUPED = tg.randn(4, 1, 3, 3)
W3 = tg.randn(3, 4)
MASK = np.array([True, False] * 4)
FLAT, IMAGE = (3, 8), (3, 2, 6, 6)

# (ops it must record, forward, input shape)
CASES: list[tuple[str, Callable[[tg.Tensor], tg.Tensor], tuple[int, ...]]] = [
    ("Add", lambda x: x + 1.5, FLAT),
    ("Sub", lambda x: 2.0 - x, FLAT),
    ("Mul", lambda x: x * x, FLAT),
    ("Div", lambda x: x / 3.0, FLAT),
    ("Pow", lambda x: 2.0**x, FLAT),
    ("Maximum", lambda x: x.maximum(x * 0.5), FLAT),
    ("Minimum", lambda x: x.minimum(x * 0.5), FLAT),
    ("Where", lambda x: tg.where(tg.tensor(MASK), x, -x), FLAT),
    ("Neg", lambda x: -x, FLAT),
    ("Exp", lambda x: x.exp(), FLAT),
    ("Log", lambda x: (x.abs() + 1).log(), FLAT),
    ("Sqrt", lambda x: (x * x + 1).sqrt(), FLAT),
    ("Abs", lambda x: x.abs(), FLAT),
    ("Tanh", lambda x: x.tanh(), FLAT),
    ("Sigmoid", lambda x: x.sigmoid(), FLAT),
    ("Relu", lambda x: x.relu(), FLAT),
    ("Erf", lambda x: F.gelu(x), FLAT),
    ("MatMul", lambda x: x @ W, FLAT),
    ("PowScalar", lambda x: x**3, FLAT),
    ("LeakyRelu", lambda x: x.leaky_relu(0.2), FLAT),
    ("Log1p", lambda x: x.abs().log1p(), FLAT),
    ("Softplus", lambda x: x.softplus(beta=2.0, threshold=1.0), FLAT),
    ("Clamp", lambda x: x.clamp(-0.5, 0.5) + x.clamp(min=0.1), FLAT),
    ("Masked", lambda x: x.masked(MASK), FLAT),
    ("Linear", lambda x: F.linear(x, W.T, B), FLAT),
    ("Linear", lambda x: F.linear(x.unflatten(1, (2, 4)), W3), FLAT),
    ("Sum", lambda x: x.sum(1) + x.mean(1, keepdim=True).sum(), FLAT),
    ("Sum", lambda x: x.var(1) + x.std(1), FLAT),
    ("Amax", lambda x: x.amax(1) + x.amin(1, keepdim=True).squeeze(1), FLAT),
    ("Softmax", lambda x: x.softmax(1), FLAT),
    ("LogSoftmax", lambda x: x.log_softmax(-1), FLAT),
    ("Reshape", lambda x: x.reshape(x.shape[0], 2, -1).flatten(1), FLAT),
    ("Permute", lambda x: x.unflatten(1, (2, 4)).permute(0, 2, 1), FLAT),
    ("Expand", lambda x: x[:, :1].expand(-1, 6) + tg.ones(1, 6), FLAT),
    ("Cast", lambda x: x.double() * 2, FLAT),
    ("Concat", lambda x: tg.cat([x, x * 2], 1), FLAT),
    ("Pad", lambda x: F.pad(x, (1, 2), value=0.5), FLAT),
    ("GetItem", lambda x: x[:, 1:7:2] + x[:, 3:4] + x[:, -1][:, None], FLAT),
    ("GetItem", lambda x: x[..., ::-1] + x[1:2], FLAT),
    ("Conv2d", lambda x: F.conv2d(x, KERNEL, tg.ones(4), stride=2, padding=1), IMAGE),
    ("Conv2d", lambda x: F.conv2d(x, GROUPED, padding="same", dilation=2, groups=2), IMAGE),
    ("MaxPool2d", lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), IMAGE),
    ("WindowGather", lambda x: F.avg_pool2d(x, 2), IMAGE),
    ("WindowGather", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), IMAGE),
    ("Sin", lambda x: x.sin(), FLAT),
    ("Cos", lambda x: x.cos(), FLAT),
    ("Tan", lambda x: (x * 0.3).tan(), FLAT),
    ("Stepwise", lambda x: (x * 3).floor() + (x * 3).ceil() + x.sign(), FLAT),
    ("Stepwise", lambda x: (x * 3).round() + (x * 3).trunc(), FLAT),
    ("Silu", lambda x: F.silu(x), FLAT),
    ("Remainder", lambda x: x % 0.7 + 2.0 % (x.abs() + 1), FLAT),
    ("Flip", lambda x: x.flip(1) + x.flip(0, 1), FLAT),
    ("Prod", lambda x: x.prod(1) + x.prod(1, keepdim=True).squeeze(1), FLAT),
    ("CumSum", lambda x: x.cumsum(1), FLAT),
]


class Lambda(nn.Module):
    def __init__(self, fn: Callable[[tg.Tensor], tg.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.fn(x)


def check(model: nn.Module, shape: tuple[int, ...], tmp_path: Path) -> object:
    """Export with a batch of shape[0], run onnxruntime on another batch size, compare."""
    path = tmp_path / "model.onnx"
    proto = export(model, tg.randn(*shape), path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((5, *shape[1:])).astype(np.float32)
    (got,) = session.run(None, {"input": x})
    was_training = model.training
    with tg.no_grad():
        want = model.eval()(tg.tensor(x)).numpy()
    model.train(was_training)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    return proto


@pytest.mark.parametrize("op, fn, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_exportable_op_matches_onnxruntime(op, fn, shape, tmp_path: Path) -> None:
    model = Lambda(fn)
    assert op in {n.name for n in trace(model, tg.randn(*shape)).nodes}
    check(model, shape, tmp_path)


def test_the_cases_cover_the_whole_table() -> None:
    covered = {op for op, _, _ in CASES}
    assert set(CONVERTERS) - covered == {"ToDevice"}  # a same-device move records no op


def test_the_mlp(tmp_path: Path) -> None:
    proto = check(build_model(make_config("mlp", side=8)), (4, 64), tmp_path)
    assert proto.opset_import[0].version >= 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 64
    assert {i.name for i in proto.graph.initializer} >= {"layers.0.weight", "layers.2.bias"}


def test_the_cnn_with_batch_norm_and_dropout_in_eval_mode(tmp_path: Path) -> None:
    model = build_model(make_config("cnn", side=28))
    model.train()
    export(model, tg.randn(2, 1, 28, 28), tmp_path / "cnn.onnx")
    assert model.training  # export put the model back as it was
    check(model, (2, 1, 28, 28), tmp_path)


def test_a_custom_model_with_a_tensor_op_activation(tmp_path: Path) -> None:
    class Swish(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(6, 16)
            self.b = nn.Linear(16, 3)
            self.scale = nn.Parameter(tg.ones(16) * 1.5)

        def forward(self, x: tg.Tensor) -> tg.Tensor:
            h = self.a(x)
            return self.b(h * (h * self.scale).sigmoid()).log_softmax(1)

    check(Swish(), (3, 6), tmp_path)


def test_metadata_and_a_fixed_batch(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    proto = export(
        nn.Linear(3, 2), tg.randn(4, 3), path, dynamic_batch=False, metadata={"classes": "a,b"}
    )
    assert {p.key: p.value for p in proto.metadata_props} == {"classes": "a,b"}
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4


@pytest.mark.parametrize(
    "fn, message",
    [
        (
            lambda x: F.binary_cross_entropy_with_logits(x, x.sigmoid(), reduction="sum"),
            "op BCEWithLogits",
        ),
        (lambda x: x[tg.tensor([0, 2])], "advanced indexing"),
        (lambda x: x * (x > 0), "outside the"),
        (lambda x: x.logsumexp(1), "outside the"),
        (lambda x: x.exp() if x.shape[0] == 3 else x.abs(), "different ops"),
    ],
)
def test_what_cannot_be_exported_is_named(fn, message, tmp_path: Path) -> None:
    x = tg.tensor(np.linspace(-1, 2, 24, dtype=np.float32).reshape(3, 8))
    with pytest.raises(ExportError, match=message):
        export(Lambda(fn), x, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize(
    "name, fn, shape",
    [
        ("elu", lambda x: F.elu(x, 0.5), FLAT),
        ("layer_norm", lambda x: F.layer_norm(x, (8,)), FLAT),
        ("normalize", lambda x: F.normalize(x), FLAT),
        ("sdpa_causal", lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True), IMAGE),
        ("einsum", lambda x: tg.einsum("bij,bkj->bik", x, x), (3, 4, 8)),
        ("group_norm", lambda x: F.group_norm(x, 2), IMAGE),
        ("mish_logsigmoid", lambda x: F.mish(x) + F.logsigmoid(x), FLAT),
        ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), IMAGE),
    ],
)
def test_compositions_of_exportable_ops_export(name, fn, shape, tmp_path: Path) -> None:
    check(Lambda(fn), shape, tmp_path)


def test_an_in_place_change_is_refused_not_exported_wrong(tmp_path: Path) -> None:
    layer = nn.Linear(8, 8)

    def residual(x: tg.Tensor) -> tg.Tensor:
        h = layer(x)
        h += layer(h)
        return h

    with pytest.raises(ExportError, match="in place"):
        export(Lambda(residual), tg.randn(*FLAT), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="in place"):
        export(Lambda(lambda x: layer(x).relu_() * 2), tg.randn(*FLAT), tmp_path / "m.onnx")
