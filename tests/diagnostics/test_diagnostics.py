"""The diagnostics core: one Finding type, one set of thresholds and one probe, shared by viz's
gradient health and the doctor."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, viz
from tinygrad_digits.autograd import hooks
from tinygrad_digits.diagnostics import thresholds as T
from tinygrad_digits.diagnostics.findings import CODES, ERROR, WARNING, Finding, sort_findings
from tinygrad_digits.diagnostics.probe import gradient_norms, layer_weights, run_probe
from tinygrad_digits.doctor.checks_training import LayerHistory, TrainingHistory, check_gradients
from tinygrad_digits.viz import health as H


def test_viz_and_the_doctor_report_one_finding_type() -> None:
    assert doctor.Finding is Finding
    w = tg.tensor([[0.5, -1.0], [1.5, 0.25]], requires_grad=True)
    with viz.trace(params={"w": w}) as g, np.errstate(all="ignore"):
        w.log().sum().backward()  # log of a negative entry: a NaN is born in forward
    report = viz.health_report(g)
    assert report.findings and all(isinstance(f, Finding) for f in report)
    for f in report:
        assert f.code in CODES and f.severity in (ERROR, WARNING) and f.advice
        assert f.node is not None and f.node.startswith("n")
    assert sort_findings(report.findings)[0].severity == ERROR


def test_one_gradient_factor_behind_both_checks() -> None:
    assert pytest.approx(T.HEALTHY_NORM_FLOOR / T.GRADIENT_FACTOR) == T.VANISHING_NORM
    assert pytest.approx(1 / T.GRADIENT_FACTOR) == T.VANISHING_RATIO
    assert T.EXPLODING_NORM == T.EXPLODING_RATIO == T.GRADIENT_FACTOR
    # viz: the default bound is VANISHING_NORM
    below, above = T.VANISHING_NORM / 2, T.VANISHING_NORM * 2
    assert H.classify(viz.Summary(4, below, 0.0, 0.0, 0.0)) == H.VANISHING
    assert H.classify(viz.Summary(4, above, 0.0, 0.0, 0.0)) == H.OK

    # the doctor: first layer's grad/weight ratio against the output layer's
    def history(first: float) -> TrainingHistory:
        layers = [LayerHistory(f"l{i}", (4, 4), [g], [1.0]) for i, g in enumerate([first, 1.0])]
        return TrainingHistory(layers, losses=[1.0])

    (found,) = check_gradients(history(T.VANISHING_RATIO / 2))
    assert found.code == "vanishing_gradients" and found.layer == "l0"
    assert check_gradients(history(T.VANISHING_RATIO * 2)) == []


def test_probe_records_layers_and_activations_and_removes_its_hook() -> None:
    assert not hooks.any_registered()
    model = nn.MLP(6, [5, 4], 3, activation="tanh")
    trace = run_probe(model, tg.randn(8, 6))
    assert [(layer.name, layer.in_features, layer.out_features) for layer in trace.layers] == [
        ("layers.0", 6, 5),
        ("layers.1", 5, 4),
        ("layers.2", 4, 3),
    ]
    assert [(a.kind, a.after) for a in trace.hidden_activations()] == [
        ("tanh", "layers.0"),
        ("tanh", "layers.1"),
    ]
    assert not hooks.any_registered()

    class Broken(nn.Module):
        def forward(self, x: tg.Tensor) -> tg.Tensor:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_probe(Broken(), tg.randn(2, 2))
    assert not hooks.any_registered()


def test_probe_measures_per_layer_gradients() -> None:
    model = nn.MLP(6, [5], 3)
    x = tg.randn(8, 6)
    trace = run_probe(model, x, grad=True)
    trace.output.square().sum().backward()
    weights = layer_weights(model, trace)
    assert [name for name, _ in weights] == ["layers.0", "layers.1"]
    grads, sizes = gradient_norms(weights)
    for (_, p), g, w in zip(weights, grads, sizes):
        assert g == pytest.approx(np.linalg.norm(p.grad.numpy()))
        assert w == pytest.approx(np.linalg.norm(p.detach().numpy()))
