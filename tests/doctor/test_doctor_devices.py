"""The doctor on every accelerator ("strict", and "cuda" on the CuPy stand-in without a GPU):
they refuse implicit host transfers, so running every check there proves the doctor moves
data only explicitly."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim
from tinygrad_digits.nn import functional as F


@pytest.fixture
def accel(accelerator: str) -> str:
    """Each accelerator (strict, cuda); the cpu run is the reference they are compared with."""
    return accelerator


def _run(device: str, make, x, y, loss_fn, lr: float, wd: float = 0.0, seed: int = 0):
    tg.manual_seed(seed)
    model = make().to(device)
    opt = optim.SGD(model.parameters(), lr=lr, weight_decay=wd)
    quick = doctor.quick_checks(model, x[:128], y[:128], loss_fn, optimizer=opt)
    report = doctor.diagnose(model, x, y, loss_fn, opt, steps=8, batch_size=64, seed=seed)
    return quick, report


def _mse(out, labels):
    return F.mse_loss(out.sigmoid(), F.one_hot(labels, 10).to(out.dtype))


def test_a_failing_set_up_gets_the_same_diagnosis_on_every_device(accel, digits_raw) -> None:
    x, y = digits_raw
    x = x[:600]
    y = y[:600]

    def make():
        return nn.MLP(64, [4, 4], 10, activation="sigmoid")

    q_cpu, r_cpu = _run("cpu", make, x, y, _mse, lr=2.0, wd=0.05)
    q_dev, r_dev = _run(accel, make, x, y, _mse, lr=2.0, wd=0.05)
    assert [f.code for f in q_dev] == [f.code for f in q_cpu]
    assert r_dev.codes == r_cpu.codes and "inputs_not_normalised" in r_dev.codes
    assert {"bottleneck", "sigmoid_mse"} <= r_dev.codes
    np.testing.assert_allclose(r_dev.losses, r_cpu.losses, rtol=1e-4)
    for a, b in zip(r_dev.layers, r_cpu.layers):
        assert a.name == b.name
        np.testing.assert_allclose(a.update_to_weight, b.update_to_weight, rtol=1e-3)


def test_a_healthy_set_up_is_healthy_on_every_device(accel, digits) -> None:
    x, y = digits

    def make():
        return nn.MLP(64, [64, 32], 10)

    quick, report = _run(accel, make, x[:600], y[:600], F.cross_entropy, lr=0.1)
    assert quick == [] and report.ok, report.format()


def test_tensors_already_on_the_device_are_accepted(accel, digits) -> None:
    x, y = digits
    model = nn.MLP(64, [4], 10).to(accel)
    xt, yt = tg.tensor(x[:64], device=accel), tg.tensor(y[:64], device=accel)
    assert [f.code for f in doctor.quick_checks(model, xt, yt)] == ["bottleneck"]
    report = doctor.diagnose(model, xt, yt, steps=2)
    assert "bottleneck" in report.codes


def test_nan_is_traced_on_every_device(accel) -> None:
    model = nn.MLP(4, [8], 3).to(accel)
    x = np.eye(4, dtype=np.float32) * 1e4
    y = np.array([0, 1, 2, 0])

    def nll(out, labels):
        return -(out.softmax(1) * F.one_hot(labels, 3).to(out.dtype)).sum(1).log().mean()

    found = doctor.quick_checks(model, x, y, nll)
    (nan,) = [f for f in found if f.code == "loss_nan"]
    assert "Log produced inf" in nan.message and "def nll" not in nan.message
    assert ".sum(1).log().mean()" in nan.message
