"""Each check on its own: the number it measures, its threshold, and its words."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim
from tinygrad_digits.diagnostics.findings import (
    CODES,
    Finding,
    format_findings,
    merge,
    sort_findings,
)
from tinygrad_digits.doctor.checks_data import check_inputs, check_labels, class_labels
from tinygrad_digits.doctor.checks_model import check_initial_loss
from tinygrad_digits.doctor.checks_training import (
    LayerHistory,
    TrainingHistory,
    check_gradients,
    check_loss_curve,
    check_predictions,
    check_updates,
    check_weight_norms,
    prediction_probs,
)
from tinygrad_digits.nn import functional as F


def codes(findings) -> list[str]:
    return [f.code for f in findings]


# --- data ----------------------------------------------------------------------------------------
def test_standardised_and_unit_range_inputs_pass() -> None:
    rng = np.random.default_rng(0)
    assert check_inputs(rng.standard_normal((100, 8))) == []
    assert check_inputs(rng.random((100, 8))) == []


def test_nan_inputs_are_an_error() -> None:
    x = np.ones((10, 3))
    x[2, 1] = np.nan
    (f,) = check_inputs(x)
    assert f.code == "nonfinite_inputs" and f.severity == "error" and "1 input values" in f.message


def test_constant_and_tiny_inputs() -> None:
    assert "carry no information" in check_inputs(np.full((5, 4), 3.0))[0].message
    tiny = np.random.default_rng(0).random((50, 4)) / 255 / 255
    (f,) = check_inputs(tiny)
    assert f.code == "inputs_not_normalised" and "scaled twice" in f.advice


def test_shifted_inputs_get_the_standardise_advice() -> None:
    x = np.random.default_rng(0).standard_normal((100, 4)) + 50
    (f,) = check_inputs(x)
    assert "mean 50" in f.message and "x = (x - mean) / std" in f.advice


def test_labels_out_of_range_are_an_error_naming_both_ranges() -> None:
    (f,) = check_labels(np.array([1, 2, 10, 3]), 10)
    assert f.code == "labels_out_of_range" and f.severity == "error"
    assert "from 1 to 10" in f.message and "10 outputs" in f.message and "11 units" in f.advice
    (g,) = check_labels(np.array([-1, 0, 1]), 3)
    assert "from -1 to 1" in g.message


def test_labels_out_of_range_stop_the_doctor_before_the_loss_raises() -> None:
    x = np.random.default_rng(0).standard_normal((40, 8)).astype(np.float32)
    y = np.arange(40) % 12  # classes 10 and 11 do not exist in a 10-output model
    found = doctor.quick_checks(nn.MLP(8, [16], 10), x, y)
    assert codes(found) == ["labels_out_of_range"]
    report = doctor.diagnose(nn.MLP(8, [16], 10), x, y)
    assert codes(report.findings) == ["labels_out_of_range"] and report.steps == 0


def test_one_class_dominating_and_sorted_batches() -> None:
    y = np.array([3] * 30 + [1] * 10)
    (f,) = check_labels(y, 10)
    assert f.code == "class_imbalance" and "class 3 makes up 75%" in f.message
    assert "shuffle" in f.advice
    assert check_labels(np.arange(100) % 10, 10) == []
    assert check_labels(np.array([0, 1, 1, 1] * 10), 2) == []  # 75% in a 2-class problem is fine
    assert check_labels(np.array([3, 3, 3]), 10) == []  # too few labels to judge


def test_one_hot_targets_are_read_as_labels() -> None:
    onehot = np.eye(4)[[0, 3, 2, 1]]
    np.testing.assert_array_equal(class_labels(onehot), [0, 3, 2, 1])
    assert class_labels(np.array([0.5, 1.2])) is None  # regression targets: no label checks


# --- model and loss ------------------------------------------------------------------------------
def test_initial_loss_check_only_for_cross_entropy_and_only_when_far_off() -> None:
    assert check_initial_loss(2.4, "cross_entropy", 10, 0.1, False) == []
    assert check_initial_loss(30.0, "mse", 10, 0.1, False) == []
    (f,) = check_initial_loss(9.0, "cross_entropy", 10, 12.0, False)
    assert "initial loss 9 is far above ln(10) = 2.3" in f.message and "spread 12" in f.message
    assert "small weights" in f.advice


def test_large_output_init_gives_a_high_initial_loss(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [64], 10)
    with tg.no_grad():
        model.layers[1].weight.mul_(100.0)
    found = doctor.quick_checks(model, x[:128], y[:128])
    (f,) = [f for f in found if f.code == "initial_loss_high"]
    assert "start the output layer with small weights" in f.advice


@pytest.mark.parametrize("squash", [nn.Softmax, nn.Sigmoid])
def test_softmax_or_sigmoid_before_cross_entropy(digits, squash) -> None:
    x, y = digits
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), squash())
    (f,) = [f for f in doctor.quick_checks(model, x[:64], y[:64]) if f.code == "squashed_logits"]
    assert squash.__name__.lower() in f.message and "raw logits" in f.advice
    assert f.layer == "2"  # named as its parameters are: 2.weight


def test_log_softmax_with_nll_is_cross_entropy_and_fine(digits) -> None:
    x, y = digits
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), nn.LogSoftmax(1))
    assert doctor.quick_checks(model, x[:64], y[:64], F.nll_loss) == []


def test_plain_mse_on_a_classifier_is_only_a_note(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [64], 10)

    def mse(out, labels):
        return F.mse_loss(out, F.one_hot(labels, 10).to(out.dtype))

    found = doctor.quick_checks(model, x[:64], y[:64], mse)
    assert codes(found) == ["mse_classification"] and found[0].severity == "info"


def test_dead_relus_are_counted_per_layer(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [40, 20], 10)
    with tg.no_grad():
        model.layers[0].bias[:30].fill_(-100.0)  # 30 of 40 units can never fire
    found = doctor.quick_checks(model, x[:128], y[:128])
    (f,) = [f for f in found if f.code == "dead_relus"]
    assert f.layer == "layers.0" and f.value == pytest.approx(0.75)
    assert "layers.0 → relu: 30 of 40 units (75%) are dead at initialisation" in f.message
    assert f.severity == "warning"


def test_a_few_dead_relus_are_only_a_note(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [40], 10)
    with tg.no_grad():
        model.layers[0].bias[:12].fill_(-100.0)
    (f,) = doctor.quick_checks(model, x[:128], y[:128])
    assert f.code == "dead_relus" and f.severity == "info"


def test_saturated_tanh_units(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [20], 10, activation="tanh")
    with tg.no_grad():
        model.layers[0].weight.mul_(50.0)
    (f,) = [f for f in doctor.quick_checks(model, x[:128], y[:128]) if f.code == "saturated_units"]
    assert "tanh" in f.message and "-1 or 1" in f.message and "xavier" in f.advice


def test_functional_activations_in_a_custom_module_are_found(digits) -> None:
    x, y = digits

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(64, 3)
            self.fc2 = nn.Linear(3, 10)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    net = Net()
    with tg.no_grad():
        net.fc1.bias.fill_(-1000.0)
    found = {f.code: f for f in doctor.quick_checks(net, x[:64], y[:64])}
    assert found["dead_relus"].layer == "fc1" and found["bottleneck"].layer == "fc1"
    assert "fc1 (Linear 64→3)" in found["bottleneck"].message


def test_vanishing_gradients_in_a_deep_sigmoid_net(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [32] * 8, 10, activation="sigmoid")
    found = {f.code: f for f in doctor.quick_checks(model, x[:128], y[:128])}
    f = found["vanishing_gradients"]
    assert f.layer == "layers.0" and f.value < 1e-3
    assert "layers.8" in f.message and "ReLU" in f.advice
    assert "constant_units" in found  # the signal has faded by the middle layers


def test_exploding_gradients_in_a_deep_net_with_big_weights(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [32] * 6, 10, activation="identity")
    with tg.no_grad():
        for layer in model.layers:
            layer.weight.mul_(6.0)
    found = {f.code: f for f in doctor.quick_checks(model, x[:64], y[:64])}
    assert "clip_grad_norm_" in found["exploding_gradients"].advice


# --- training ------------------------------------------------------------------------------------
def _history(ratios: list[float], grads=None, lr=0.1, wd=0.0, weights=None) -> TrainingHistory:
    layers = []
    for i, r in enumerate(ratios):
        w = weights[i] if weights else [1.0] * 10
        g = grads[i] if grads else 0.1
        layers.append(LayerHistory(f"l{i}", (4, 4), [g] * len(w), list(w), [r * v for v in w]))
    return TrainingHistory(layers, losses=[1.0] * len(layers[0].weight), lr=lr, weight_decay=wd)


def test_update_ratio_thresholds() -> None:
    assert check_updates(_history([1e-3, 3e-3]), 0.2) == []
    (high,) = check_updates(_history([1e-3, 0.5]), 0.2)
    assert high.code == "lr_too_high" and high.layer == "l1" and "lr=0.1" in high.message
    # step sizes alone give no rate (that would be extrapolated): the trials measure one
    assert "tries a few rates" in high.advice and "about" not in high.advice
    (low,) = check_updates(_history([1e-7, 2e-6]), 0.5)
    assert low.code == "lr_too_low" and low.layer == "l1" and "tries a few rates" in low.advice
    # slowish updates only count as too low when the loss is not moving either
    assert check_updates(_history([5e-5, 5e-5]), 0.2) == []
    assert codes(check_updates(_history([5e-5, 5e-5]), 0.001)) == ["lr_too_low"]


def test_a_single_huge_step_is_too_high() -> None:
    h = _history([1e-3])
    h.layers[0].update[3] = 5.0
    (f,) = check_updates(h, 0.2)
    assert f.code == "lr_too_high" and "in a single step" in f.message


def test_weights_shrinking_names_weight_decay() -> None:
    h = _history([1e-2], lr=2.0, wd=0.1, weights=[[1.0 * 0.8**i for i in range(10)]])
    (f,) = check_weight_norms(h)
    assert f.code == "weights_shrinking" and "0.8 every step" in f.advice
    assert check_weight_norms(_history([1e-2])) == []


def test_gradient_profile() -> None:
    assert check_gradients(_history([1e-3] * 3, grads=[0.1, 0.2, 0.3])) == []
    (v,) = check_gradients(_history([1e-3] * 3, grads=[1e-6, 1e-3, 0.5]))
    assert v.code == "vanishing_gradients" and v.layer == "l0"
    (e,) = check_gradients(_history([1e-3] * 3, grads=[500.0, 1.0, 0.1]))
    assert e.code == "exploding_gradients" and e.layer == "l0"
    (cut,) = check_gradients(_history([1e-3] * 3, grads=[0.0, 0.1, 0.1]))
    assert cut.code == "vanishing_gradients" and "no gradient at all" in cut.message
    (flat,) = check_gradients(_history([1e-3] * 2, grads=[1e-12, 1e-12]))
    assert flat.code == "vanishing_gradients" and flat.layer is None


def test_loss_curve() -> None:
    assert check_loss_curve(2.3, 1.5, 2.3, 20, "cross_entropy", 10, []) == []
    (d,) = check_loss_curve(2.3, 9.0, 9.5, 20, "cross_entropy", 10, [])
    assert d.code == "loss_diverging"
    (n,) = check_loss_curve(2.3, 2.299, 2.3, 20, "cross_entropy", 10, ["lr_too_low"])
    assert n.code == "loss_not_moving" and "lr_too_low" in n.advice
    (s,) = check_loss_curve(2.6, 2.31, 2.305, 20, "cross_entropy", 10, [])
    assert s.code == "loss_stuck" and "ln(10)" in s.message
    (m,) = check_loss_curve(0.25, 0.09, 0.09, 20, "mse", 10, [])
    assert m.code == "loss_stuck" and "ignores its input" in m.message


def test_predictions() -> None:
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 10
    good = prediction_probs(rng.standard_normal((200, 10)) * 3, False)
    assert check_predictions(good, labels, 20, []) == []
    uniform = prediction_probs(np.zeros((200, 10)) + rng.standard_normal((200, 10)) * 1e-4, False)
    (u,) = check_predictions(uniform, labels, 20, [])
    assert u.code == "predictions_uniform" and "1/10" in u.message
    logits = rng.standard_normal((200, 10))
    logits[:, 7] += 10
    (o,) = check_predictions(prediction_probs(logits, False), labels, 20, ["lr_too_high"])
    assert o.code == "predictions_one_class" and "class 7 for 100%" in o.message
    assert "lr_too_high" in o.advice
    sig = prediction_probs(np.full((200, 10), 0.3) + rng.random((200, 10)) * 1e-5, True)
    assert codes(check_predictions(sig, labels, 20, [])) == ["predictions_uniform"]


# --- findings and reports as data ----------------------------------------------------------------
def test_findings_are_data_and_sort_causes_first() -> None:
    a = Finding("loss_stuck", "warning", None, "m", "a")
    b = Finding("bottleneck", "warning", "l0", "m", "a", 4.0)
    c = Finding("mse_classification", "info", None, "m", "a")
    d = Finding("loss_nan", "error", None, "m", "a")
    assert sort_findings([c, a, b, d]) == [d, b, a, c]
    assert merge([a, b], [Finding("bottleneck", "warning", "l0", "x", "y")]) == [a, b]
    assert set(CODES) >= {f.code for f in (a, b, c, d)}
    assert b.to_dict() == {
        "code": "bottleneck",
        "severity": "warning",
        "layer": "l0",
        "message": "m",
        "advice": "a",
        "value": 4.0,
        "node": None,
        "gain": None,
        "category": "model",
    }
    text = format_findings([c, b])
    assert text.splitlines()[0].endswith("1 warning, 1 info")
    assert "WARNING [bottleneck] m" in text and "fix: a" in text
    assert format_findings([]).endswith("no problems found")


def test_report_round_trips_through_json(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [4], 10)
    report = doctor.diagnose(model, x, y, steps=3, batch_size=32)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["steps"] == 3 and len(data["losses"]) == 3
    assert {f["code"] for f in data["findings"]} == report.codes
    assert data["layers"][0]["name"] == "layers.0" and data["num_classes"] == 10
    assert math.isclose(data["loss_before"], report.loss_before)
    text = report.format()
    assert "64-4-10 MLP (relu), cross_entropy loss, Adam(lr=0.001), 3 steps of 32" in text
    assert "update/weight" in text and "[bottleneck]" in text
    assert report.warnings and not report.errors and not report.ok


def test_default_optimizer_and_loss(digits) -> None:
    x, y = digits
    report = doctor.diagnose(nn.MLP(64, [32], 10), x, y, steps=2)
    assert report.loss_kind == "cross_entropy" and "Adam(lr=0.001)" in report.summary


def test_sgd_optimizer_is_described(digits) -> None:
    x, y = digits
    model = nn.MLP(64, [32], 10)
    opt = optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)
    report = doctor.diagnose(model, x, y, F.cross_entropy, opt, steps=2)
    assert "SGD(lr=0.05, weight_decay=0.0001)" in report.summary


def test_conv_layers_are_named_and_checked(digits) -> None:
    x, y = digits
    images = x.reshape(-1, 1, 8, 8)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 16, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )
    assert doctor.quick_checks(model, images[:128], y[:128]) == []
    with tg.no_grad():
        model[0].bias.fill_(-100.0)  # every channel dead: nothing flows back to the conv
    found = {f.code: f for f in doctor.quick_checks(model, images[:128], y[:128])}
    assert found["dead_relus"].layer == "0" and found["dead_relus"].value == 1.0
    assert "gets no gradient at all" in found["vanishing_gradients"].message
    report = doctor.diagnose(model, images, y, steps=3)
    assert report.layers[0].shape == (8, 1, 3, 3) and report.layers[0].activation == "relu"


def test_a_weight_penalty_with_m_the_batch_size_is_blamed(digits) -> None:
    """Ng's λ/(2m)·ΣW² with m taken as the batch size: the penalty dominates the gradient."""
    x, y = digits
    tg.manual_seed(0)
    model = nn.MLP(64, [32], 10)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]

    def cost(out, labels):
        return F.cross_entropy(out, labels) + sum((w * w).sum() for w in weights) * (200 / 128)

    opt = optim.SGD(model.parameters(), lr=0.1)
    report = doctor.diagnose(model, x, y, cost, opt, steps=5, batch_size=64)
    (penalty,) = report.by_code("weight_penalty")
    assert penalty.severity == "warning", report.format()
    assert "λ/m = 3.12" in penalty.advice and "not the batch size (64)" in penalty.advice
    assert "28.1x too strong" in penalty.advice  # 1797 / 64
