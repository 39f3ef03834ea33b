"""Reports, histories and graphs show as HTML in a notebook cell (`_repr_html_`), not as a raw
repr: the doctor's report, viz's health report, training History and a viz.Graph."""

from __future__ import annotations

from html import escape

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim, viz
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training.history import History


def test_history_is_a_table_with_the_best_epoch_marked():
    history = History(
        epochs=[
            {"epoch": 1, "train_loss": 0.9, "val_loss": 0.8},
            {"epoch": 2, "train_loss": 0.5, "val_loss": 0.4},
        ],
        best_epoch=2,
        monitor="val_loss",
    )
    html = history._repr_html_()
    assert html.startswith("<table>") and "<th>val_loss</th>" in html
    assert "★ 2" in html and "best epoch 2 by val_loss" in html


def test_health_report_and_graph_show_as_html():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2))
    graph = viz.capture(F.cross_entropy(model(tg.randn(5, 4)), tg.tensor([0, 1, 0, 1, 1])),
                        model=model)  # fmt: skip
    graph.backward()
    html = graph.health()._repr_html_()
    assert "<th>grad norm</th>" in html and "0.weight" in html
    picture = graph._repr_html_()
    assert "<svg" in picture or "install Graphviz" in picture


def test_doctor_report_shows_as_text_in_html():
    tg.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    report = doctor.diagnose(model, x, y, F.cross_entropy, optim.Adam(model.parameters()), steps=5)
    html = report._repr_html_()
    assert html.startswith("<pre") and html.endswith("</pre>")
    assert escape(report.format().splitlines()[0]) in html
