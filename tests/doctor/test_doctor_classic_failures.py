"""The classic "it runs but doesn't learn" set-ups: the doctor must name the cause."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim
from tinygrad_digits.nn import functional as F


def onehot_mse(out: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
    """Squared error of sigmoid outputs against one-hot targets (the textbook set-up)."""
    return F.mse_loss(out.sigmoid(), F.one_hot(labels, 10).to(out.dtype))


def codes(findings) -> set[str]:
    return {f.code for f in findings}


# --- 64-4-4-10 sigmoid network with squared error ------------------------------------------------
def test_64_4_4_10_sigmoid_mse_names_bottleneck_sigmoid_mse_and_stuck(digits_raw) -> None:
    x, y = digits_raw
    x = x / np.float32(16)
    model = nn.MLP(64, [4, 4], 10, activation="sigmoid")
    opt = optim.SGD(model.parameters(), lr=1.0)

    quick = doctor.quick_checks(model, x[:128], y[:128], onehot_mse, optimizer=opt)
    assert {"bottleneck", "sigmoid_mse"} <= codes(quick)

    report = doctor.diagnose(model, x, y, onehot_mse, opt, steps=20)
    found = report.codes
    assert {"bottleneck", "sigmoid_mse"} <= found
    assert {"loss_stuck", "predictions_uniform"} & found, report.format()

    neck = report.by_code("bottleneck")[0]
    assert neck.layer == "layers.0" and neck.severity == "warning"
    assert "64 inputs into 4 units" in neck.message and "10 classes" in neck.message
    assert "layers.1" in neck.message  # the second narrow layer is named too
    sig = report.by_code("sigmoid_mse")[0]
    assert "cross_entropy" in sig.advice and "softmax" in sig.advice
    # the symptoms point back at the causes
    for symptom in report.by_code("loss_stuck") + report.by_code("predictions_uniform"):
        assert "bottleneck" in symptom.advice and "sigmoid_mse" in symptom.advice


def test_sigmoid_module_at_the_end_of_a_sequential_counts_as_sigmoid_outputs(digits) -> None:
    x, y = digits
    model = nn.Sequential(
        *(nn.Linear(64, 4), nn.Sigmoid()),
        *(nn.Linear(4, 4), nn.Sigmoid()),
        *(nn.Linear(4, 10), nn.Sigmoid()),
    )

    def mse(out, labels):
        return F.mse_loss(out, F.one_hot(labels, 10).to(out.dtype))

    found = doctor.quick_checks(model, x[:128], y[:128], mse)
    assert {"bottleneck", "sigmoid_mse"} <= codes(found)
    neck = [f for f in found if f.code == "bottleneck"][0]
    assert neck.layer == "0"


def test_mse_loss_module_is_recognised(digits) -> None:
    x, y = digits
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), nn.Sigmoid())
    loss = nn.MSELoss()
    found = doctor.quick_checks(model, x[:64], np.eye(10, dtype=np.float32)[y[:64]], loss)
    assert "sigmoid_mse" in codes(found)
    assert "bottleneck" not in codes(found)


# --- 784-5-5-10 sigmoid network, learning rate 2, heavy L2 ---------------------------------------
def test_784_5_5_10_sigmoid_lr2_heavy_l2_names_decay_not_the_rate(digits_784) -> None:
    x, y = digits_784
    model = nn.MLP(784, [5, 5], 10, activation="sigmoid")
    opt = optim.SGD(model.parameters(), lr=2.0, weight_decay=0.1)
    report = doctor.diagnose(model, x, y, F.cross_entropy, opt, steps=20)
    found = report.codes
    assert {"weights_shrinking", "bottleneck"} <= found, report.format()
    assert {"predictions_uniform", "predictions_one_class"} & found
    assert {"constant_units", "loss_stuck"} <= found
    # the trials measured no better rate: lr 2 is not blamed, the decay is (first)
    assert "lr_too_high" not in found and "lr_not_the_cause" in found
    assert report.first_fix is not None and report.first_fix.code == "weights_shrinking"
    assert "weight_decay" in report.by_code("constant_units")[0].advice  # after the steps
    decay = report.by_code("weights_shrinking")[0]
    assert "weight_decay=0.1 with lr=2" in decay.advice and decay.value < 0.5
    stuck = report.by_code("loss_stuck")[0]
    assert "ln(10)" in stuck.message
    # the measurements behind it are in the report too
    assert report.steps == 20 and len(report.losses) == 20
    assert [r.name for r in report.layers] == ["layers.0", "layers.1", "layers.2"]
    assert all(r.update_to_weight is not None for r in report.layers)


def test_784_sigmoid_on_0_255_pixels_saturates(digits_raw) -> None:
    from tinygrad_digits.data.arrays import upsample_digits

    x, y = digits_raw
    pixels = np.round(upsample_digits(x) * np.float32(255 / 16))
    model = nn.MLP(784, [32], 10, activation="sigmoid")
    found = doctor.quick_checks(model, pixels[:128], y[:128])
    assert {"inputs_not_normalised", "saturated_units"} <= codes(found)
    sat = [f for f in found if f.code == "saturated_units"][0]
    assert sat.layer == "layers.0" and sat.value >= 0.5
    assert "at initialisation" in sat.message and "normalise the inputs" in sat.advice


# --- OR gate with a tiny learning rate -----------------------------------------------------------
OR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
OR_Y = np.array([0, 1, 1, 1])


def test_or_gate_with_tiny_lr_names_lr_too_low_and_flat_loss() -> None:
    model = nn.MLP(2, [4], 2, activation="tanh")
    opt = optim.SGD(model.parameters(), lr=1e-5)
    report = doctor.diagnose(model, OR_X, OR_Y, F.cross_entropy, opt, steps=20)
    assert {"lr_too_low", "loss_not_moving"} <= report.codes, report.format()
    low = report.by_code("lr_too_low")[0]
    # measured, not extrapolated: the trial of the advised rate is in the message
    assert "lr=1e-05 barely learns" in low.message and low.value >= 1e-2
    assert f"lr {low.value:g} → loss" in low.message
    assert low.advice == f"raise the learning rate to {low.value:g}"
    assert "lr_too_low" in report.by_code("loss_not_moving")[0].advice
    # nothing about the data: four balanced-enough, 0/1 inputs are fine
    assert not {"inputs_not_normalised", "class_imbalance", "bottleneck"} & report.codes


def test_or_gate_with_a_sane_lr_is_not_called_slow() -> None:
    model = nn.MLP(2, [4], 2, activation="tanh")
    opt = optim.SGD(model.parameters(), lr=0.5)
    report = doctor.diagnose(model, OR_X, OR_Y, F.cross_entropy, opt, steps=20)
    assert not {"lr_too_low", "loss_not_moving", "lr_too_high"} & report.codes, report.format()


# --- 0-255 inputs --------------------------------------------------------------------------------
def test_0_255_inputs_are_not_normalised(digits_raw) -> None:
    x, y = digits_raw
    pixels = np.round(x * np.float32(255 / 16))
    model = nn.MLP(64, [128, 64], 10)
    opt = optim.SGD(model.parameters(), lr=0.1)
    found = doctor.quick_checks(model, pixels[:256], y[:256], optimizer=opt)
    assert {"inputs_not_normalised", "initial_loss_high"} <= codes(found)
    norm = [f for f in found if f.code == "inputs_not_normalised"][0]
    assert "0–255" in norm.advice and "255" in norm.advice
    assert "values 0 to 255" in norm.message
    high = [f for f in found if f.code == "initial_loss_high"][0]
    assert "ln(10) = 2.3" in high.message and "normalise the inputs" in high.advice

    report = doctor.diagnose(model, pixels, y, F.cross_entropy, opt, steps=10)
    assert "inputs_not_normalised" in report.codes
    assert {"dead_relus", "loss_diverging", "lr_too_high"} & report.codes


def test_raw_0_16_digits_are_flagged_too_with_the_divide_by_16_advice(digits_raw) -> None:
    x, y = digits_raw
    found = doctor.quick_checks(nn.MLP(64, [32], 10), x[:256], y[:256])
    norm = [f for f in found if f.code == "inputs_not_normalised"]
    assert norm and "divide by 16" in norm[0].advice


# --- log(0) giving NaN ---------------------------------------------------------------------------
def hand_written_nll(out: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
    picked = (out.softmax(1) * F.one_hot(labels, 10).to(out.dtype)).sum(1)
    return -picked.log().mean()  # log(0) once softmax underflows


def test_log_of_zero_is_reported_with_the_op_and_the_line(digits_raw) -> None:
    x, y = digits_raw
    pixels = np.round(x * np.float32(255 / 16)) * 10  # logits in the thousands: softmax hits 0
    model = nn.MLP(64, [32], 10)
    found = doctor.quick_checks(model, pixels[:128], y[:128], hand_written_nll)
    nan = [f for f in found if f.code == "loss_nan"]
    assert nan and nan[0].severity == "error"
    msg = nan[0].message
    assert "Log" in msg and "test_doctor_classic_failures.py" in msg
    assert "return -picked.log().mean()" in msg and "(128,)" in msg
    assert "clamp" in nan[0].advice

    report = doctor.diagnose(model, pixels, y, hand_written_nll, steps=5)
    assert not report.ok and "loss_nan" in report.codes
    assert report.steps == 0  # the doctor does not train on a NaN loss


def test_nan_in_the_middle_of_training_names_the_step_and_the_op(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [128, 64], 10)
    opt = optim.SGD(model.parameters(), lr=5.0)
    with np.errstate(all="ignore"):
        report = doctor.diagnose(model, x, y, hand_written_nll, opt, steps=20)
    nan = report.by_code("loss_nan")
    assert nan, report.format()
    assert "at step" in nan[0].message and "detect_anomaly() traced it to: Log" in nan[0].message
    assert "lr_too_high" in report.codes
    assert report.steps == nan[0].value  # steps before the NaN were measured


@pytest.mark.parametrize("steps", [1, 3])
def test_short_runs_still_report(digits, steps: int) -> None:
    x, y = digits
    model = nn.MLP(64, [32], 10)
    report = doctor.diagnose(model, x, y, steps=steps)
    assert report.steps == steps and report.loss_after is not None
