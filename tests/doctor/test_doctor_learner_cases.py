"""Issue 18's five learner networks (learner_cases.py), and issue 14's learning rates: the
doctor's first-listed fix, applied, improves accuracy; no advice it gives makes a case worse.

sklearn's digits (1797 samples, 64 inputs) stand in for MNIST where a post used 784 inputs,
and the runs are short, so the whole file stays fast."""

from __future__ import annotations

import json
import math

import pytest
from learner_cases import CASES, Case, accuracy, setup, train

from tinygrad_digits import doctor
from tinygrad_digits.cli import doctor as cli_doctor
from tinygrad_digits.data import DatasetNotFoundError


def diagnose(name: str | Case) -> doctor.Report:
    case = CASES[name] if isinstance(name, str) else name
    s = setup(case)
    return doctor.diagnose(
        s["model"],
        s["x"],
        s["y"],
        s["loss_fn"],
        s["optimizer"],
        steps=case.steps,
        batch_size=s["batch_size"],
    )


def lr_advice(report: doctor.Report) -> list[float]:
    return [f.value for f in report.findings if f.code in ("lr_too_high", "lr_too_low")]


def test_case1_the_bottleneck_comes_first_and_widening_fixes_it() -> None:
    """64-4-4-4-10 sigmoid, no bias, U(-1, 1), raw 0-16 pixels, summed BCE, GD lr 1e-3 m 0.9."""
    case = CASES["bottleneck_bce"]
    report = diagnose("bottleneck_bce")
    assert report.first_fix.code == "bottleneck", report.format()
    assert (
        report.first_fix.gain > 0.05 and "measured: every hidden layer" in report.first_fix.advice
    )
    assert {"inputs_not_normalised", "no_bias"} <= report.codes
    assert not lr_advice(report)  # no rate did better: none is advised
    as_posted = train(case)
    assert train(case.with_(hidden=(32, 32, 32))) > as_posted + 0.1
    assert train(case.with_(raw=False)) >= as_posted - 0.02  # normalising does no harm


def test_case2_five_steps_are_too_few_and_lambda_is_cleared() -> None:
    """784-5-5-10 sigmoid, W and b ~ U(0, 0.01), summed BCE + λ/(2N)·ΣW², GD lr 2, 5 steps."""
    case = CASES["ng_5_steps"]
    report = diagnose("ng_5_steps")
    first = report.first_fix
    assert first.code == "too_few_steps", report.format()
    assert "you ran 5 steps; this loss leaves its plateau after about" in first.message
    # 3.25 explained, λ cleared, lr 2 not blamed, weight decay not blamed at the start
    assert "−ln 0.1 − 9·ln 0.9" in report.cost_words
    (penalty,) = report.by_code("weight_penalty")
    assert penalty.severity == "info" and "plays no part" in penalty.message
    assert "not the batch size" in penalty.advice
    assert "lr_too_high" not in report.codes
    assert all("weight_decay" not in f.advice for f in report.findings)
    weights = report.by_code("weight_scale")[0]
    assert "all are positive" in weights.message
    leave = int(first.value)
    as_posted = train(case)
    assert train(case, steps=2 * leave) > as_posted + 0.1  # the advice: at least 2x that
    assert train(case.with_(init=None, bias_init=False), steps=2 * leave) > as_posted
    if "bottleneck" in report.codes:  # widening, applied, does no harm either
        assert train(case.with_(hidden=(32, 32)), steps=2 * leave) >= as_posted


def test_case3_weights_200x_too_large_are_named_first() -> None:
    """784-200-10 sigmoid, no bias, N(0, 14.1), squared error, SGD lr 0.1, batch 1."""
    case = CASES["big_weights"]
    report = diagnose("big_weights")
    first = report.first_fix
    assert first.code == "weight_scale", report.format()
    assert "layers.0's weights have std 14" in first.message and "× Xavier's" in first.message
    assert "output_saturated" in report.codes
    advice = " ".join(f.advice for f in report.findings)
    assert not ("raise the learning rate" in advice and "lower the learning rate" in advice)
    # a larger rate only pushes the saturated outputs to the class shares (loss down, no more
    # right answers; applied on MNIST-sized data it made the net worse): not advised
    assert not lr_advice(report) and "lr_not_the_cause" in report.codes
    as_posted = train(case, steps=2000)
    assert train(case.with_(init=None), steps=2000) > as_posted + 0.1
    assert train(case.with_(loss="ce"), steps=2000) > as_posted + 0.1  # sigmoid_mse's fix


def test_case3_on_fashion_mnist_784_inputs_gets_no_rate_advice() -> None:
    """Case 3 with its own 784 inputs (a Fashion-MNIST subset): lr 10's trial only reaches the
    constant-output loss, and applied for 30,000 steps it leaves the net at chance level
    (benchmarks/bench_doctor_case3.py: 12.7% / 10.9% as posted, 18.1% / 10.9% at lr 10; the
    default init 82.5% / 83.4%): no rate is advised, the init comes first."""
    case = CASES["big_weights"].with_(data="fashion", rows=2000)
    try:
        report = diagnose(case)
    except DatasetNotFoundError:
        pytest.skip("no Fashion-MNIST copy at hand (../shared/data/fashion-mnist)")
    assert report.first_fix.code == "weight_scale", report.format()
    assert not lr_advice(report) and "lr_not_the_cause" in report.codes
    assert train(case.with_(init=None), steps=3000) > train(case, steps=3000) + 0.1


def test_case4_or_gate_gets_a_measured_rate_and_a_bias_note() -> None:
    """OR gate, 2-6-1 sigmoid, no bias, N(0, 0.01), ½Σ(ŷ−y)², GD lr 1e-6."""
    case = CASES["or_gate"]
    report = diagnose("or_gate")
    first = report.first_fix
    assert first.code == "lr_too_low" and first.value >= 0.1, report.format()
    assert f"lr {first.value:g} → loss" in first.message  # the trial, reported
    assert report.by_code("no_bias")[0].severity == "info"
    as_posted = train(case, steps=2000)
    assert train(case.with_(lr=first.value), steps=2000) == 1.0 > as_posted
    assert train(case.with_(lr=first.value, bias=True), steps=2000) == 1.0


def test_case5_network_py_learns_and_gets_notes_only() -> None:
    """network.py: 784-30-10 sigmoid, N(0, 1) weights and biases, quadratic cost, lr 3, batch 10."""
    report = diagnose("network_py")
    assert report.ok and not report.warnings, report.format()
    (note,) = report.by_code("sigmoid_mse")
    assert note.severity == "info" and "learns here" in note.advice
    assert "try a third of the learning rate" in note.advice
    assert not lr_advice(report)
    case = CASES["network_py"]  # the note, applied for 10 epochs, does no harm
    as_posted = train(case, steps=1400)
    assert train(case.with_(loss="ce", lr=case.lr / 3), steps=1400) >= as_posted - 0.005


def test_case5_relu_on_the_output_before_cross_entropy_is_named() -> None:
    case = CASES["network_py"].with_(loss="ce_relu", lr=0.5)
    s = setup(case)
    found = doctor.quick_checks(s["model"], s["x"][:256], s["y"][:256], s["loss_fn"])
    (squash,) = [f for f in found if f.code == "squashed_logits"]
    assert "ReLU" in squash.message and "dead" in squash.message
    assert accuracy(s["model"], s["x_test"], s["y_test"]) < 0.5  # the set-up as it is


@pytest.mark.parametrize("lr", ["2", "2e-3", "1e10"])
def test_sgd_rates_on_the_sigmoid_128_64_net(lr: str, capsys) -> None:
    """Issue 14: lr 2 (96% in a full run) is not called too high; 2e-3 gets a measured raise;
    1e10 gets a sane rate, not 1e7."""
    argv = ["--hidden", "128,64", "--activation", "sigmoid", "--optimizer", "sgd", "--lr", lr]
    status = cli_doctor.main([*argv, "--json"])
    data = json.loads(capsys.readouterr().out)
    found = {f["code"]: f for f in data["findings"]}
    if lr == "2":
        assert status == 0 and "lr_too_high" not in found, found
        return
    code = "lr_too_low" if lr == "2e-3" else "lr_too_high"
    advised = found[code]["value"]
    assert f"lr {advised:g} → loss" in found[code]["message"]
    if lr == "2e-3":
        assert advised >= 0.1
    else:
        assert advised <= 20 and not math.isclose(advised, 1e7)
