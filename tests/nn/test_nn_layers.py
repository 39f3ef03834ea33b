"""Layers: gradients through inputs and parameters on every device, errors, dropout, init."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.nn import functional as F
from tinygrad_digits.nn import init
from tinygrad_digits.nn.utils import functional_call


def check_module(module: nn.Module, *inputs: tg.Tensor, fast: bool = False) -> None:
    """gradcheck through the module's inputs and every one of its parameters."""
    names = [n for n, _ in module.named_parameters()]
    params = [p for _, p in module.named_parameters()]
    n = len(inputs)

    def fn(*args: tg.Tensor) -> tg.Tensor:
        return functional_call(module, dict(zip(names, args[n:])), args[:n])

    assert tg.gradcheck(fn, [*inputs, *params], fast_mode=fast)


def rand(shape: tuple[int, ...], device: str, grad: bool = True, low: float = -1.0) -> tg.Tensor:
    data = np.random.default_rng(sum(shape) + len(shape)).uniform(low, 1.0, shape)
    return tg.tensor(data, dtype=tg.float64, device=device, requires_grad=grad)


# --- gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (4,)])
def test_linear_gradients_through_input_weight_and_bias(device: str, shape: tuple) -> None:
    layer = nn.Linear(4, 5).double().to(device)
    check_module(layer, rand(shape, device))


def test_linear_without_bias(device: str) -> None:
    layer = nn.Linear(4, 2, bias=False).double().to(device)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    check_module(layer, rand((3, 4), device))


def test_linear_second_derivatives(device: str) -> None:
    x, w, b = rand((3, 4), device), rand((2, 4), device), rand((2,), device)
    assert tg.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), [x, w, b])


def test_linear_matches_numpy(device: str) -> None:
    layer = nn.Linear(3, 2).to(device)
    x = tg.randn(5, 3, device=device)
    out = layer(x)
    w = layer.weight.detach().cpu().numpy()
    b = layer.bias.detach().cpu().numpy()
    np.testing.assert_allclose(out.detach().cpu().numpy(), x.cpu().numpy() @ w.T + b, rtol=1e-5)
    assert out.dtype == tg.float32


ACTIVATIONS = [
    nn.ReLU(),
    nn.LeakyReLU(0.2),
    nn.Sigmoid(),
    nn.Tanh(),
    nn.GELU(),
    nn.GELU("tanh"),
    nn.Softplus(),
    nn.Softplus(beta=2.0, threshold=1.0),
    nn.Softmax(dim=1),
    nn.LogSoftmax(dim=1),
    nn.LogSoftmax(dim=0),
    nn.Flatten(),
    nn.Identity(),
]


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=lambda m: repr(m))
def test_activation_gradients(device: str, layer: nn.Module) -> None:
    x = rand((3, 2, 2), device) if isinstance(layer, nn.Flatten) else rand((3, 4), device)
    if isinstance(layer, nn.ReLU | nn.LeakyReLU):  # keep clear of the kink at 0
        with tg.no_grad():
            x.add_((x.abs() < 0.05).double() * 0.2)
    check_module(layer, x)


def test_softplus_is_exact_at_zero_and_stable(device: str) -> None:
    x = tg.tensor([0.0, -1000.0, 1000.0, 30.0], dtype=tg.float64, device=device, requires_grad=True)
    y = F.softplus(x)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().cpu().numpy(), [math.log(2), 0.0, 1000.0, 30.0])
    np.testing.assert_allclose(x.grad.cpu().numpy(), [0.5, 0.0, 1.0, 1.0])


def test_activation_second_derivatives(device: str) -> None:
    x = rand((3, 4), device)
    for fn in (F.softplus, F.gelu, F.sigmoid, lambda t: F.log_softmax(t, 1)):
        assert tg.gradgradcheck(fn, [x])


def test_dropout_gradient_with_a_fixed_mask(device: str) -> None:
    x = rand((4, 5), device)

    def fn(x: tg.Tensor) -> tg.Tensor:
        tg.manual_seed(3)  # the same mask on every evaluation
        return F.dropout(x, 0.4)

    assert tg.gradcheck(fn, [x])
    assert tg.gradgradcheck(fn, [x])


def test_sequential_and_mlp_gradients(device: str) -> None:
    seq = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).double().to(device)
    check_module(seq, rand((2, 4), device))
    mlp = nn.MLP(4, [5, 3], 2, activation="tanh").double().to(device)
    check_module(mlp, rand((3, 4), device))


# --- Linear: init and errors -------------------------------------------------------------------
def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in() -> None:
    layer = nn.Linear(100, 400)
    bound = 1 / math.sqrt(100)
    w = layer.weight.detach().numpy()
    b = layer.bias.detach().numpy()
    assert w.shape == (400, 100) and b.shape == (400,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert layer.weight.dtype == tg.float32 and layer.weight.requires_grad


def test_linear_wrong_in_features_names_layer_shapes_and_fix() -> None:
    model = nn.Sequential(nn.Linear(64, 10))
    with pytest.raises(tg.ShapeError) as err:
        model(tg.randn(8, 32))
    msg = str(err.value)
    assert "Linear(in_features=64" in msg and "(8, 32)" in msg and "in_features=64" in msg
    assert "'0'" in msg  # where it sits in the model


def test_linear_fed_images_suggests_flatten() -> None:
    with pytest.raises(tg.ShapeError, match=r"nn\.Flatten\(\).*x\.flatten\(1\).*\(5, 64\)"):
        nn.Linear(64, 10)(tg.randn(5, 1, 8, 8))


def test_linear_device_mismatch_names_module_and_fix() -> None:
    layer = nn.Linear(3, 2).to("strict")
    with pytest.raises(tg.DeviceMismatchError, match=r"Linear\(in_features=3.*model\.to"):
        layer(tg.randn(2, 3))


def test_linear_dtype_mismatch_suggests_float() -> None:
    with pytest.raises(TypeError, match=r"float64.*x\.float\(\)"):
        nn.Linear(3, 2)(tg.tensor(np.ones((2, 3))))


def test_linear_device_and_dtype_arguments() -> None:
    layer = nn.Linear(3, 2, device="strict", dtype=tg.float64)
    assert layer.weight.device == "strict" and layer.weight.dtype == tg.float64


# --- Dropout -----------------------------------------------------------------------------------
def test_dropout_train_drops_and_rescales_eval_passes_through(device: str) -> None:
    drop = nn.Dropout(0.25)
    x = tg.ones(200, 100, device=device)
    y = drop(x).cpu().numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert y.dtype == np.float32
    drop.eval()
    assert drop(x) is x


def test_dropout_works_on_4d_and_is_seeded(device: str) -> None:
    x = tg.ones(2, 3, 4, 5, device=device)
    tg.manual_seed(7)
    a = nn.Dropout(0.5)(x).cpu().numpy()
    tg.manual_seed(7)
    b = nn.Dropout(0.5)(x).cpu().numpy()
    tg.manual_seed(8)
    c = nn.Dropout(0.5)(x).cpu().numpy()
    assert a.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_edges() -> None:
    x = tg.randn(3, 4, requires_grad=True)
    assert nn.Dropout(0.0)(x) is x
    zero = nn.Dropout(1.0)(x)
    assert not zero.detach().numpy().any()
    zero.sum().backward()
    assert not x.grad.numpy().any()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(1.5)


def test_model_eval_switches_dropout_inside() -> None:
    model = nn.MLP(4, [8], 2, dropout=0.5)
    x = tg.randn(3, 4)
    model.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())
    assert not model.drop.training
    model.train()
    assert model.drop.training


# --- MLP ---------------------------------------------------------------------------------------
def test_mlp_parameter_names_and_shapes() -> None:
    model = nn.MLP(64, [32, 16], 10)
    shapes = {n: p.shape for n, p in model.named_parameters()}
    assert shapes == {
        "layers.0.weight": (32, 64),
        "layers.0.bias": (32,),
        "layers.1.weight": (16, 32),
        "layers.1.bias": (16,),
        "layers.2.weight": (10, 16),
        "layers.2.bias": (10,),
    }
    assert model(tg.randn(5, 64)).shape == (5, 10)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu", "leaky_relu", nn.Tanh])
def test_mlp_activation_choices(activation: object) -> None:
    model = nn.MLP(3, [4], 2, activation=activation)
    assert isinstance(model.act, nn.Module)
    assert model(tg.randn(2, 3)).shape == (2, 2)


def test_mlp_bad_activation_and_no_hidden_layers() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP(3, [4], 2, activation="swish")
    logistic = nn.MLP(3, [], 2)
    assert [n for n, _ in logistic.named_parameters()] == ["layers.0.weight", "layers.0.bias"]


# --- init --------------------------------------------------------------------------------------
def test_calculate_gain_values() -> None:
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / 1.0001))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize(
    "fn, kind, expected_std",
    [
        (lambda t: init.xavier_uniform_(t), "uniform", math.sqrt(2 / (200 + 300))),
        (lambda t: init.xavier_normal_(t, gain=2.0), "normal", 2 * math.sqrt(2 / 500)),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), "uniform", math.sqrt(2 / 200)),
        (lambda t: init.kaiming_normal_(t, mode="fan_out"), "normal", math.sqrt(2 / 1.0001 / 300)),
    ],
)
def test_xavier_and_kaiming_spread(device: str, fn: object, kind: str, expected_std: float) -> None:
    t = tg.zeros(300, 200, device=device, requires_grad=True)
    same = fn(t)
    assert same is t and t.grad is None and t.is_leaf
    w = t.detach().cpu().numpy()
    assert abs(w.std() - expected_std) < 0.03 * expected_std
    assert abs(w.mean()) < 0.05 * expected_std
    if kind == "uniform":
        assert np.abs(w).max() <= expected_std * math.sqrt(3) * (1 + 1e-6)


def test_constant_initialisers_and_errors(device: str) -> None:
    t = tg.empty(3, 4, device=device, requires_grad=True)
    np.testing.assert_array_equal(init.ones_(t).detach().cpu().numpy(), np.ones((3, 4)))
    np.testing.assert_array_equal(init.zeros_(t).detach().cpu().numpy(), np.zeros((3, 4)))
    half = init.constant_(t, 0.5).detach().cpu().numpy()
    np.testing.assert_array_equal(half, np.full((3, 4), 0.5))
    u = init.uniform_(t, 2.0, 3.0).detach().cpu().numpy()
    assert u.min() >= 2.0 and u.max() <= 3.0
    n = init.normal_(tg.empty(5000, device=device), 1.0, 0.1).cpu().numpy()
    assert abs(n.mean() - 1.0) < 0.01 and abs(n.std() - 0.1) < 0.01
    with pytest.raises(tg.ShapeError, match="at least 2 dims"):
        init.xavier_uniform_(tg.empty(4))
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_uniform_(tg.empty(3, 4), mode="fan_avg")


def test_init_is_seeded() -> None:
    tg.manual_seed(1)
    a = nn.Linear(5, 5).weight.detach().numpy().copy()
    tg.manual_seed(1)
    b = nn.Linear(5, 5).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
