"""Gradient health: a dead layer, NaN, vanishing and exploding gradients stand out in the
picture and in health_report's data."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, viz
from tinygrad_digits.viz import health as H


def node_line(dot: str, label: str, nth: int = 0) -> str:
    found = [line for line in dot.splitlines() if f"<B>{label}</B>" in line]
    return found[nth]


def dead_mlp():
    """Layer 1's ReLU gets a bias of -100: its outputs are all 0, so no gradient reaches
    layers 0 and 1 (nor the first ReLU)."""
    tg.manual_seed(0)
    model = nn.MLP(6, [5, 5], 3)
    with tg.no_grad():
        model.layers[1].bias.fill_(-100.0)
    x, y = tg.randn(8, 6), tg.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return model, viz.as_graph(model, x, target=y)


def test_dead_layer_is_marked_in_the_picture():
    _, g = dead_mlp()
    dot = viz.to_dot(g)
    zero = H.COLOR[H.ZERO]
    for name in ("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"):
        line = node_line(dot, name)
        assert f'color="{zero}"' in line and "dashed" in line, name
        assert f'fillcolor="{H.FILL[H.ZERO]}"' in line
    # the last layer's bias still learns; its weight sees only zeros from the dead ReLU
    assert f'color="{H.COLOR[H.OK]}"' in node_line(dot, "layers.2.bias")
    assert f'color="{zero}"' in node_line(dot, "layers.2.weight")
    # edges into the dead part are drawn dotted in the zero colour
    assert re.search(rf'-> n\d+ \[color="{zero}"[^]]*style="dotted"', dot)
    assert "gradient exactly 0 (dead)" in dot  # legend


def test_dead_layer_in_health_report():
    _, g = dead_mlp()
    report = viz.health_report(g)
    assert not report.ok
    dead = report.by_code(H.DEAD_RELU)
    assert len(dead) == 1 and dead[0].layer.endswith(" in act")  # the 2nd call of the shared ReLU
    relus = [n for n in g.nodes if n.label == "Relu"]
    assert dead[0].node == relus[1].id and dead[0].layer == f"Relu {relus[1].id} in act"
    zero = {f.layer for f in report.by_code(H.ZERO)}
    first_linear = next(n for n in g.nodes if n.label == "Linear")
    assert {"layers.0.weight", "layers.1.bias", f"Linear {first_linear.id} in layers.0"} <= zero
    assert "layers.2.bias" not in zero
    assert "dead: 100% of outputs are 0" in viz.to_dot(g)
    rows = {r["label"]: r for r in report.rows}
    assert rows["layers.0.weight"]["status"] == H.ZERO and rows["layers.0.weight"]["norm"] == 0
    assert "exactly zero" in str(report)


def test_nan_gradient_stands_out():
    tg.manual_seed(0)
    w = tg.randn(3, 2, requires_grad=True)
    x = tg.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])
    loss = ((x @ w) * float("nan")).sum()  # a NaN scale: NaN loss and NaN gradients
    g = viz.capture(loss, params={"w": w}, inputs={"x": x})
    g.backward()
    dot = viz.to_dot(g)
    red = H.COLOR[H.NONFINITE]
    assert f'color="{red}"' in node_line(dot, "w")
    assert "NaN x" in node_line(dot, "w")
    assert 'label="NaN/inf"' in dot
    report = viz.health_report(g)
    # worst first: the op whose backward turned a finite gradient into NaN, then the NaNs
    assert report.findings[0].code == H.NONFINITE_GRAD_BORN
    assert report.findings[0].layer.startswith("Mul")
    assert report.findings[1].code == H.NONFINITE
    assert "its backward makes NaN/inf" in node_line(dot, "Mul")
    assert "w" in {f.layer for f in report.by_code(H.NONFINITE)}


def test_the_op_where_a_nan_is_born_is_marked():
    w = tg.tensor([[0.5, -1.0], [1.5, 0.25]], requires_grad=True)
    x = tg.tensor([[1.0, 2.0], [0.5, -1.0]])
    with viz.trace(params={"w": w}, inputs={"x": x}) as g, np.errstate(invalid="ignore"):
        (x @ w).log().exp().sum()  # log of a negative entry: NaN, then carried on
    log = next(n for n in g.nodes if n.label == "Log")
    dot = viz.to_dot(g, values=True)
    assert "NaN/inf born here" in node_line(dot, "Log") and "NaN/inf born" not in node_line(
        dot, "Exp"
    )
    assert f'fillcolor="{H.FILL[H.NONFINITE]}"' in node_line(dot, "Log")
    born = viz.health_report(g).by_code(H.NONFINITE_VALUE)
    assert [f.node for f in born] == [log.id]


def test_vanishing_and_exploding_thresholds():
    w = tg.tensor([1e-9, -1e-9], requires_grad=True)
    v = tg.tensor([1e5, 2e5], requires_grad=True)
    loss = (w * tg.tensor([1e-9, 1e-9])).sum() + (v * v).sum()
    g = viz.capture(loss, params={"w": w, "v": v})
    g.backward()
    dot = viz.to_dot(g)
    assert f'color="{H.COLOR[H.VANISHING]}"' in node_line(dot, "w")
    assert f'color="{H.COLOR[H.EXPLODING]}"' in node_line(dot, "v")
    report = viz.health_report(g)
    assert [f.layer for f in report.by_code(H.VANISHING)] == ["w"]
    assert "v" in [f.layer for f in report.by_code(H.EXPLODING)]
    # thresholds are the caller's
    relaxed = viz.health_report(g, vanishing=1e-12, exploding=1e12)
    assert not relaxed.by_code(H.VANISHING) and not relaxed.by_code(H.EXPLODING)
    assert f'color="{H.COLOR[H.VANISHING]}"' not in viz.to_dot(g, vanishing=1e-12)


def test_classify():
    s = viz.Summary(numel=4, norm=0.5, mean=0.1, min=-1, max=1)
    assert H.classify(s) == H.OK
    assert H.classify(viz.Summary(4, 0.0, 0.0, 0.0, 0.0)) == H.ZERO
    assert H.classify(viz.Summary(4, 1e-9, 0.0, 0.0, 0.0)) == H.VANISHING
    assert H.classify(viz.Summary(4, 1e6, 0.0, 0.0, 0.0)) == H.EXPLODING
    assert H.classify(viz.Summary(4, 1.0, 0.0, 0.0, 0.0, nan=1)) == H.NONFINITE
    assert H.classify(None) is None


def test_summaries():
    t = tg.tensor([3.0, -4.0, float("nan"), 0.0])
    s = viz.summarize(t)
    assert s.norm == pytest.approx(5.0) and s.nan == 1 and s.inf == 0
    assert s.min == -4.0 and s.max == 3.0 and s.zero_frac == 0.25
    assert viz.summarize(tg.tensor(2.5)).value == 2.5
    assert math.isclose(viz.summarize(tg.tensor([1, 3])).mean, 2.0)
    assert viz.summarize(tg.tensor([1, 3])).integer


def test_healthy_model_reports_ok():
    tg.manual_seed(0)
    model = nn.MLP(6, [5], 3)
    report = viz.health_report(model, tg.randn(8, 6), target=tg.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
    assert report.ok and len(report) == 0
    assert "gradients look healthy" in str(report)
    assert {r["label"] for r in report.rows} >= {"layers.0.weight", "layers.1.bias"}


def test_folded_module_shows_its_worst_gradient():
    _, g = dead_mlp()
    dot = viz.to_dot(g, depth=1)
    box = next(line for line in dot.splitlines() if "<B>layers.0</B>" in line)
    assert f'color="{H.COLOR[H.ZERO]}"' in box and "gradient exactly 0" in box
