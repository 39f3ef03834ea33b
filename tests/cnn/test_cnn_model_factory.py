"""The CNN of the model factory: configs, layers, shapes, checkpoints and a short training run."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training.models import (
    CNN,
    CNN_DEFAULTS,
    build_model,
    cnn_settings,
    describe,
    input_is_flat,
    make_config,
)


def _layer_names(model: CNN) -> list[str]:
    return [type(m).__name__ for m in model.features]


def test_default_config_is_complete_and_json_able():
    config = make_config("cnn", side=28)
    for key, value in CNN_DEFAULTS.items():
        assert config[key] == value
    assert config["hidden"] == [128]  # the CNN's own default, not the MLP's 128,64
    assert not input_is_flat(config)
    assert json.loads(json.dumps(config)) == config
    assert make_config("mlp", side=8)["hidden"] == [128, 64]
    assert "channels" not in make_config("mlp", side=8)


def test_given_settings_win_and_none_means_default():
    config = make_config("cnn", side=8, channels=[8], batch_norm=None, dropout=0.0, hidden=[])
    assert config["channels"] == [8] and config["batch_norm"] is True
    assert config["dropout"] == 0.0 and config["hidden"] == []


@pytest.mark.parametrize("side", [8, 28])
def test_default_cnn_layers_and_shapes(side):
    model = build_model(make_config("cnn", side=side))
    assert _layer_names(model) == [
        "Conv2d",
        "BatchNorm2d",
        "MaxPool2d",
        "ReLU",
        "Conv2d",
        "BatchNorm2d",
        "MaxPool2d",
        "ReLU",
    ]
    conv = model.features[0]
    assert conv.bias is None and conv.padding == "same"  # batch norm's shift replaces it
    assert model.feature_shape == (64, side // 4, side // 4)
    assert model.classifier.layers[0].in_features == 64 * (side // 4) ** 2
    assert model(tg.zeros(3, 1, side, side)).shape == (3, 10)
    assert model(tg.zeros(1, side, side)).shape == (10,)  # one unbatched image


def test_state_dict_names_are_stable():
    model = build_model(make_config("cnn", side=8, channels=[4, 8], hidden=[16]))
    names = set(model.state_dict())
    for expected in (
        "features.0.weight",
        "features.1.weight",
        "features.1.bias",
        "features.1.running_mean",
        "features.1.running_var",
        "features.4.weight",
        "classifier.layers.0.weight",
        "classifier.layers.1.bias",
    ):
        assert expected in names, sorted(names)


def test_without_batch_norm_the_convs_have_bias():
    model = build_model(make_config("cnn", side=8, channels=[4], batch_norm=False))
    assert _layer_names(model) == ["Conv2d", "MaxPool2d", "ReLU"]
    assert model.features[0].bias is not None


def test_pooling_stops_at_one_pixel():
    model = build_model(make_config("cnn", side=8, channels=[2, 2, 2, 2], hidden=[]))
    assert _layer_names(model).count("MaxPool2d") == 3  # 8 -> 4 -> 2 -> 1, then no more
    assert model.feature_shape == (2, 1, 1)
    assert model(tg.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_non_monotone_activation_runs_before_the_pool():
    model = build_model(make_config("cnn", side=8, channels=[4], activation="gelu"))
    assert _layer_names(model) == ["Conv2d", "BatchNorm2d", "GELU", "MaxPool2d"]
    model = build_model(make_config("cnn", side=8, channels=[4], activation="tanh"))
    assert _layer_names(model) == ["Conv2d", "BatchNorm2d", "MaxPool2d", "Tanh"]


def test_pool_before_relu_is_the_same_function_and_gradient():
    """max(relu(x)) == relu(max(x)): the order the CNN uses gives torch's conv-relu-pool."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 3, 6, 6))
    data[0, 0, :2, :2] = -1.0  # a window of ties below zero
    data[0, 1, :2, :2] = 0.5  # a window of ties above zero
    upstream = tg.tensor(rng.standard_normal((2, 3, 3, 3)))
    results = []
    for first, second in ((nn.ReLU(), nn.MaxPool2d(2)), (nn.MaxPool2d(2), nn.ReLU())):
        x = tg.tensor(data, requires_grad=True)
        out = second(first(x))
        (out * upstream).sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_describe():
    assert describe(make_config("cnn", side=28)) == (
        "1x28x28 -> conv-bn 32 -> conv-bn 64 -> 128 -> 10, dropout 0.25"
    )
    text = describe(make_config("cnn", side=8, channels=[8], batch_norm=False, dropout=0))
    assert text == "1x8x8 -> conv 8 -> 128 -> 10"
    assert describe(make_config("mlp", side=8)) == "64 -> 128 -> 64 -> 10"


def test_old_configs_without_cnn_keys_still_build():
    config = {"model": "cnn", "side": 8, "in_features": 64, "num_classes": 10}
    assert cnn_settings(config)["channels"] == CNN_DEFAULTS["channels"]
    assert build_model(config)(tg.zeros(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channels": []}, "at least one"),
        ({"kernel_size": 4}, "odd"),
        ({"dropout": 1.0}, "dropout"),
        ({"activation": "swish"}, "activation"),
    ],
)
def test_bad_settings_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CNN(8, **kwargs)


def test_float64_and_eval_mode():
    model = build_model(make_config("cnn", side=8, channels=[4, 8]), dtype=tg.float64)
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 1, 8, 8)))
    model.eval()
    first, second = model(x), model(x)
    assert first.dtype == tg.float64
    np.testing.assert_array_equal(
        first.detach().numpy(), second.detach().numpy()
    )  # no dropout, running stats


def test_checkpoint_round_trip(tmp_path):
    from tinygrad_digits.training import load_checkpoint, save_checkpoint

    config = make_config("cnn", side=8, channels=[4, 8], hidden=[16])
    model = build_model(config)
    x = tg.tensor(np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32))
    F.cross_entropy(model(x), tg.tensor(np.arange(5))).backward()  # running stats move
    model.eval()
    save_checkpoint(tmp_path / "m.tgd", model, config)
    loaded_config, state = load_checkpoint(tmp_path / "m.tgd")
    rebuilt = build_model(loaded_config)
    rebuilt.load_state_dict(state)
    rebuilt.eval()
    np.testing.assert_allclose(rebuilt(x).detach().numpy(), model(x).detach().numpy())


def test_loss_falls_on_a_few_hundred_digits():
    from tinygrad_digits.data import Digits

    data = Digits(True)
    x = tg.tensor(data.data[:300])
    y = tg.tensor(data.targets[:300])
    tg.manual_seed(0)
    config = make_config("cnn", side=8, channels=[8, 16], hidden=[32], dropout=0.0)
    model = build_model(config)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(5):
        for start in range(0, 300, 50):
            loss = F.cross_entropy(model(x[start : start + 50]), y[start : start + 50])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3]), losses
