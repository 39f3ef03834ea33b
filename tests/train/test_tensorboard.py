"""TensorBoard logging: what fit(..., tensorboard=DIR) and `train --tensorboard DIR` write is read
back from the event file with TensorBoard's own reader -- scalars per epoch, a histogram of every
parameter's values and gradient."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.cli.entry import main
from tinygrad_digits.training import fit

pytest.importorskip("tensorboardX")
accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _read(log_dir):
    events = accumulator.EventAccumulator(str(log_dir), size_guidance={"histograms": 0})
    events.Reload()
    return events


def test_fit_logs_scalars_and_histograms(tmp_path):
    tg.manual_seed(0)
    x, y = tg.randn(16, 4), tg.tensor(np.arange(16) % 3)
    batches = [(x[:8], y[:8]), (x[8:], y[8:])]
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    history = fit(
        model,
        batches,
        batches,
        optim.SGD(model.parameters(), lr=0.1),
        epochs=3,
        progress=False,
        log=None,
        tensorboard=tmp_path / "tb",
    )
    events = _read(tmp_path / "tb")
    tags = events.Tags()
    assert set(tags["scalars"]) == {
        "loss/train",
        "loss/val",
        "accuracy/train",
        "accuracy/val",
        "lr",
    }
    loss = events.Scalars("loss/train")
    assert [e.step for e in loss] == [1, 2, 3]
    expected = [r["train_loss"] for r in history.epochs]
    assert [e.value for e in loss] == pytest.approx(expected, rel=1e-6)
    assert [e.value for e in events.Scalars("lr")] == pytest.approx([0.1] * 3)
    names = [name for name, _ in model.named_parameters()]
    assert sorted(tags["histograms"]) == sorted(
        [f"weights/{n}" for n in names] + [f"gradients/{n}" for n in names]
    )
    weights = events.Histograms("weights/0.weight")[-1].histogram_value
    assert weights.num == 20  # 5×4 values, the last epoch's
    assert weights.min == pytest.approx(float(model[0].weight.detach().numpy().min()), rel=1e-6)


def test_train_command_logs_tensorboard(tmp_path, capsys):
    code = main(
        [
            "train",
            "--epochs",
            "2",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
            "--no-plots",
            "--no-doctor",
            "--tensorboard",
            str(tmp_path / "tb"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    events = _read(tmp_path / "tb")
    assert [e.step for e in events.Scalars("accuracy/val")] == [1, 2]
    assert "gradients/layers.0.weight" in events.Tags()["histograms"]
