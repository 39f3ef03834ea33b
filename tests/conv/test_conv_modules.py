"""Conv2d, MaxPool2d, AvgPool2d and BatchNorm as Modules: torch's defaults, devices, state,
Dropout on images, and a small CNN whose loss falls on the 8x8 digits."""

from __future__ import annotations

import math

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.nn.conv_layers import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d
from tinygrad_digits.nn.functional_conv import avg_pool2d, conv2d, max_pool2d


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def test_conv2d_default_init_and_shapes(device: str) -> None:
    conv = Conv2d(6, 8, (3, 2), groups=2, device=device)
    assert conv.weight.shape == (8, 3, 3, 2) and conv.bias.shape == (8,)
    assert conv.weight.dtype == tg.float32 and conv.weight.device == device
    bound = 1 / math.sqrt(3 * 3 * 2)  # fan_in = C_in / groups * kh * kw
    w, b = host(conv.weight), host(conv.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert Conv2d(1, 2, 3, bias=False).bias is None
    assert repr(Conv2d(1, 32, 3, padding=1)).startswith(
        "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    )


def test_modules_match_the_functions(device: str) -> None:
    x = tg.randn(2, 3, 9, 8, device=device)
    conv = Conv2d(3, 4, 3, stride=2, padding=1, dilation=1, device=device)
    np.testing.assert_allclose(
        host(conv(x)), host(conv2d(x, conv.weight, conv.bias, 2, 1)), rtol=1e-6
    )
    np.testing.assert_array_equal(
        host(MaxPool2d(3, 2, 1, ceil_mode=True)(x)), host(max_pool2d(x, 3, 2, 1, ceil_mode=True))
    )
    np.testing.assert_array_equal(host(AvgPool2d(2)(x)), host(avg_pool2d(x, 2, 2)))
    assert MaxPool2d(2)(x).shape == (2, 3, 4, 4)


def test_batchnorm_defaults(device: str) -> None:
    bn = BatchNorm2d(4, device=device)
    np.testing.assert_array_equal(host(bn.weight), np.ones(4))
    np.testing.assert_array_equal(host(bn.bias), np.zeros(4))
    np.testing.assert_array_equal(host(bn.running_mean), np.zeros(4))
    np.testing.assert_array_equal(host(bn.running_var), np.ones(4))
    assert bn.momentum == 0.1 and bn.eps == 1e-5
    bn1 = BatchNorm1d(3, affine=False, device=device)
    assert list(bn1.parameters()) == []


def test_model_moves_with_buffers_and_loads_state(accelerator: str) -> None:
    model = nn.Sequential(Conv2d(1, 2, 3), BatchNorm2d(2), nn.ReLU(), MaxPool2d(2))
    model(tg.randn(4, 1, 6, 6))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.to(accelerator)
    bn = model[1]
    assert bn.running_mean.device == accelerator and bn.num_batches_tracked.device == accelerator
    out = model(tg.randn(4, 1, 6, 6, device=accelerator))
    assert out.shape == (4, 2, 2, 2) and out.device == accelerator
    assert int(bn.num_batches_tracked.item()) == 2
    fresh = nn.Sequential(Conv2d(1, 2, 3), BatchNorm2d(2), nn.ReLU(), MaxPool2d(2))
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(host(fresh[1].running_var), host(state["1.running_var"]))
    fresh.to(accelerator).load_state_dict(model.state_dict())  # from the device, onto it
    np.testing.assert_array_equal(host(fresh[1].running_mean), host(bn.running_mean))
    assert fresh[1].running_mean.device == accelerator


def test_dropout_on_images(device: str) -> None:
    tg.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = tg.ones(8, 4, 10, 10, device=device, requires_grad=True)
    out = drop(x)
    values = host(out)
    assert out.shape == x.shape
    kept = values != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(values[kept], 1 / 0.75, rtol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(host(x.grad) != 0, kept)
    drop.eval()
    np.testing.assert_array_equal(host(drop(x)), np.ones(x.shape))


def _digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        from tinygrad_digits.data.arrays import load_digits_arrays

        x, y = load_digits_arrays()
        return (x[:n] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32), y[:n]
    except ImportError:  # no scikit-learn: two blob classes drawn here instead
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, n)
        x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32) * 0.5
        x[y == 1, :, 2:6, 2:6] += 1.5
        return x, y


def test_small_cnn_loss_falls_on_digits(device: str) -> None:
    tg.manual_seed(0)
    x_np, y_np = _digits(300)
    model = nn.Sequential(
        Conv2d(1, 8, 3, padding=1),
        BatchNorm2d(8),
        nn.ReLU(),
        MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 10),
    ).to(device)
    x, y = tg.tensor(x_np, device=device), tg.tensor(y_np, device=device)
    losses = []
    for _ in range(5):
        for start in range(0, len(x_np), 30):
            loss = nn.functional.cross_entropy(model(x[start : start + 30]), y[start : start + 30])
            model.zero_grad()
            loss.backward()
            with tg.no_grad():
                for p in model.parameters():
                    p.sub_(p.grad, alpha=0.5)
            losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    model.eval()
    with tg.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.6
