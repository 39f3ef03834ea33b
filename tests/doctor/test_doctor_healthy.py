"""False alarms are bugs too: healthy set-ups get no warnings, and the checks change nothing."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim
from tinygrad_digits.nn import functional as F


def test_healthy_mlp_on_digits_has_no_findings(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [128, 64], 10, activation="relu")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    assert doctor.quick_checks(model, x[:128], y[:128], F.cross_entropy, optimizer=opt) == []
    report = doctor.diagnose(model, x, y, F.cross_entropy, opt, steps=20)
    assert report.ok and report.findings == [], report.format()
    assert report.loss_after < report.loss_before - 0.3  # and it did learn
    assert "no problems found" in report.format()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.Adam(p, lr=3e-3),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.SGD(p, lr=0.1),
    ],
    ids=["adam3e-3", "sgd-momentum", "sgd"],
)
def test_other_sane_set_ups_get_no_warnings(digits, seed: int, make) -> None:
    x, y = digits
    tg.manual_seed(seed)
    model = nn.MLP(64, [128, 64], 10)
    opt = make(model.parameters())
    assert doctor.at_least(doctor.quick_checks(model, x[:128], y[:128], optimizer=opt)) == []
    report = doctor.diagnose(model, x, y, F.cross_entropy, opt, steps=20, seed=seed)
    assert report.ok, report.format()


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_shallow_sigmoid_and_tanh_nets_with_cross_entropy_are_healthy(digits, activation) -> None:
    x, y = digits
    model = nn.MLP(64, [64], 10, activation=activation)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    report = doctor.diagnose(model, x, y, F.cross_entropy, opt, steps=20)
    assert report.ok, report.format()


def test_inputs_scaled_to_unit_range_are_fine(digits_raw) -> None:
    x, y = digits_raw
    found = doctor.quick_checks(nn.MLP(64, [64], 10), x[:256] / np.float32(16), y[:256])
    assert "inputs_not_normalised" not in {f.code for f in found}


def test_quick_checks_leave_the_model_as_it_was(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [32, 16], 10, dropout=0.1)
    model.eval()
    model.layers[0].train()  # a mixed mode must come back exactly
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    grads_before = [p.grad for p in model.parameters()]
    modes = [m.training for m in model.modules()]

    doctor.quick_checks(model, x[:64], y[:64], optimizer=opt)

    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k].numpy()) for k in before)
    assert [p.grad for p in model.parameters()] == grads_before
    assert [m.training for m in model.modules()] == modes
    assert opt.state == {}  # the first step was taken on a copy, with a fresh optimizer


def test_quick_checks_keep_existing_gradients(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [32], 10)
    F.cross_entropy(model(tg.tensor(x[:8])), tg.tensor(y[:8])).backward()
    kept = {id(p): p.grad.numpy().copy() for p in model.parameters()}
    doctor.quick_checks(model, x[:64], y[:64])
    for p in model.parameters():
        np.testing.assert_array_equal(p.grad.numpy(), kept[id(p)])


def test_no_hooks_are_left_behind(digits) -> None:
    from tinygrad_digits.autograd import hooks

    x, y = digits
    model = nn.MLP(64, [16], 10)
    doctor.quick_checks(model, x[:32], y[:32])
    doctor.diagnose(model, x[:200], y[:200], steps=2)
    assert not hooks.any_registered()


def test_check_before_training_prints_warnings_once_and_never_raises(digits_raw) -> None:
    x, y = digits_raw
    out = io.StringIO()
    found = doctor.check_before_training(nn.MLP(64, [4], 10), x[:128], y[:128], file=out)
    text = out.getvalue()
    assert {"inputs_not_normalised", "bottleneck"} <= {f.code for f in found}
    assert text.count("[inputs_not_normalised]") == 1 and "--no-doctor" in text

    quiet = io.StringIO()
    healthy = (x[:128] - x.mean()) / x.std()
    assert doctor.check_before_training(nn.MLP(64, [64], 10), healthy, y[:128], file=quiet) == []
    assert quiet.getvalue() == ""

    broken = io.StringIO()
    found = doctor.check_before_training(nn.MLP(32, [8], 10), x[:16], y[:16], file=broken)
    assert found == [] and "checks skipped" in broken.getvalue()


def test_tensor_inputs_and_labels_work_like_arrays(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [4], 10)
    a = doctor.quick_checks(model, x[:64], y[:64])
    b = doctor.quick_checks(model, tg.tensor(x[:64]), tg.tensor(y[:64]))
    assert [f.code for f in a] == [f.code for f in b] == ["bottleneck"]


def test_the_train_hook_does_not_change_what_training_does(digits) -> None:
    """Same seed, same batches: training after check_before_training ends at the same weights
    (the checks draw no random numbers and touch no parameter or optimizer state)."""
    x, y = digits

    def train(check: bool) -> list[np.ndarray]:
        tg.manual_seed(7)
        model = nn.MLP(64, [32], 10, dropout=0.2)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        if check:
            doctor.check_before_training(model, x[:64], y[:64], optimizer=opt, file=io.StringIO())
        for i in range(3):
            xb, yb = tg.tensor(x[i * 64 : (i + 1) * 64]), tg.tensor(y[i * 64 : (i + 1) * 64])
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]

    for a, b in zip(train(False), train(True)):
        np.testing.assert_array_equal(a, b)


def test_summary_names_a_composite_activation_and_the_real_batch():
    class Mish(nn.Module):
        def forward(self, x):
            return x * x.exp().log1p().tanh()

    tg.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    y = np.array([0, 1, 0, 1])
    model = nn.Sequential(nn.Linear(3, 8), Mish(), nn.Linear(8, 2))
    report = doctor.diagnose(model, x, y, F.cross_entropy, optim.Adam(model.parameters()), steps=5)
    assert "(mish)" in report.summary and "tanh" not in report.summary, report.summary
    assert "5 full-batch steps" in report.summary  # 4 samples: not "steps of 64"
    assert all(not f.layer or not f.layer.startswith("Sequential[") for f in report.findings)
