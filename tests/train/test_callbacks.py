"""fit's callbacks: the hooks come in order, early stopping stops at the right epoch, the best
epoch's weights are what Checkpoint saves and restores, a custom metric is used and reported."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.training import (
    CHECKPOINT_NAME,
    Callback,
    Checkpoint,
    EarlyStopping,
    TrainState,
    fit,
    load_checkpoint,
)


def _data(batches: int = 1):
    tg.manual_seed(0)
    x = tg.randn(4 * batches, 4)
    y = tg.tensor(np.arange(4 * batches) % 3)
    return [(x[4 * i : 4 * i + 4], y[4 * i : 4 * i + 4]) for i in range(batches)]


def _scripted(values: list[float], name: str = "score"):
    """A metric returning the next of ``values`` at each call (one call per batch)."""
    calls = iter(values)

    def metric(output, target):
        return next(calls)

    metric.__name__ = name
    return metric


class Snapshots(Callback):
    """The weights at the end of every epoch."""

    def __init__(self):
        self.weights = {}

    def on_epoch_end(self, state):
        self.weights[state.epoch] = {
            k: v.numpy().copy() for k, v in state.model.state_dict().items()
        }


def _train(epochs, metric, callbacks=(), val=None, **kw):
    tg.manual_seed(1)
    model = nn.Linear(4, 3)
    history = fit(
        model,
        _data(),
        val,
        optim.SGD(model.parameters(), lr=0.1),
        epochs=epochs,
        progress=False,
        metric=metric,
        callbacks=callbacks,
        **kw,
    )
    return model, history


def test_a_custom_callback_sees_the_events_in_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, state):
            events.append("train_begin")

        def on_epoch_begin(self, state):
            events.append(f"epoch_begin {state.epoch}")

        def on_batch_begin(self, state):
            events.append(f"batch_begin {state.step + 1}")

        def on_after_backward(self, state):
            assert all(p.grad is not None for p in state.model.parameters())
            events.append(f"after_backward {state.step}")

        def on_batch_end(self, state):
            events.append(f"batch_end {state.step}")

        def on_epoch_end(self, state):
            assert state.history.epochs[-1] is state.record
            events.append(f"epoch_end {state.record['epoch']}")

        def on_train_end(self, state):
            events.append(f"train_end {len(state.history.epochs)}")

    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, _data(2), None, opt, epochs=2, progress=False, log=None, callbacks=[Recorder()])
    batch = ["batch_begin {0}", "after_backward {0}", "batch_end {0}"]
    epoch = [e.format(i) for i in (1, 2) for e in batch]
    assert events == [
        "train_begin",
        "epoch_begin 1",
        *epoch,
        "epoch_end 1",
        "epoch_begin 2",
        *epoch,
        "epoch_end 2",
        "train_end 2",
    ]


def test_stopping_after_backward_skips_the_step():
    class StopAtOnce(Callback):
        def on_after_backward(self, state):
            state.stop_training = True

    tg.manual_seed(1)
    model = nn.Linear(4, 3)
    before = model.weight.detach().numpy().copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model, _data(2), None, opt, epochs=3, progress=False, log=None, callbacks=[StopAtOnce()]
    )
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)
    assert len(history.epochs) == 1


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    stop = EarlyStopping("train_score", patience=2)
    lines = []
    _, history = _train(
        10, _scripted([0.1, 0.5, 0.4, 0.45, 0.3, 0.9] + [1.0] * 4), [stop], log=lines.append
    )
    assert len(history.epochs) == 4 and stop.stopped_epoch == 4 and stop.best == 0.5
    assert any(line.startswith("early stopping: train_score") for line in lines)
    # lower is better for a loss; min_delta asks for a real improvement
    stop = EarlyStopping("train_score", mode="min", patience=1, min_delta=0.05)
    _, history = _train(10, _scripted([1.0, 0.5, 0.48, 0.2] + [0.1] * 6), [stop], log=None)
    assert len(history.epochs) == 3 and stop.best == 0.5


def test_early_stopping_without_the_monitored_value_says_so():
    with pytest.raises(ValueError, match="no 'val_loss'"):
        _train(3, None, [EarlyStopping()], log=None)


def test_checkpoint_saves_and_restores_the_best_epoch(tmp_path):
    snaps = Snapshots()
    lines = []
    checkpoint = Checkpoint(tmp_path, monitor="train_score", config={"model": "linear"})
    model, history = _train(
        4, _scripted([0.2, 0.9, 0.5, 0.1]), [snaps, checkpoint], log=lines.append
    )
    assert (history.best_epoch, history.monitor, history.best_value) == (2, "train_score", 0.9)
    best = snaps.weights[2]
    assert not np.array_equal(best["weight"], snaps.weights[4]["weight"])
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), best[key])
    config, saved = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert config == {"model": "linear"}
    for key, value in saved.items():
        np.testing.assert_array_equal(value.numpy(), best[key])
    assert "restored the best epoch (2, train_score 0.9000)" in lines


def test_a_custom_metric_is_used_reported_and_picks_the_best_epoch():
    def error(output, target):
        """1 - accuracy: lower is better."""
        return float((output.argmax(1) != target).float().mean().item())

    error.higher_is_better = False
    val = _data(1)
    lines = []
    model, history = _train(3, error, val=val, restore_best=False, log=lines.append)
    record = history.epochs[-1]
    assert {"train_error", "val_error"} <= set(record) and "train_accuracy" not in record
    assert record["val_error"] == pytest.approx(error(model(val[0][0]), val[0][1]))
    assert "  error " in lines[0] and "  val_error " in lines[0]
    assert history.monitor == "val_error"
    assert history.best_value == min(history.column("val_error"))

    # scripted: train and validation calls alternate, the best validation value is the lowest
    values = [0.0, 0.5, 0.0, 0.2, 0.0, 0.4]
    scripted = _scripted(values, "error")
    scripted.higher_is_better = False
    _, history = _train(3, scripted, val=val, log=None)
    assert history.column("val_error") == [0.5, 0.2, 0.4] and history.best_epoch == 2


def test_no_metric_records_only_the_loss():
    _, history = _train(2, None, log=None)
    assert set(history.epochs[0]) == {
        "epoch",
        "train_loss",
        "val_loss",
        "seconds",
        "samples_per_second",
        "lr",
    }


def test_train_state_running_means_match_a_hand_computation():
    seen = []

    class Watch(Callback):
        def on_batch_end(self, state: TrainState):
            seen.append(state.running())

    from tinygrad_digits.nn import functional as F
    from tinygrad_digits.training import accuracy

    model = nn.Linear(4, 3)
    data = _data(2)
    opt = optim.SGD(model.parameters(), lr=0.0)  # the model stays as it is
    fit(model, data, None, opt, epochs=1, progress=False, log=None, callbacks=[Watch()])
    losses = [F.cross_entropy(model(x), y).item() for x, y in data]
    accs = [accuracy(model(x), y) for x, y in data]
    assert seen[0]["loss"] == pytest.approx(losses[0], rel=1e-5)
    assert seen[1]["loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    assert seen[1]["accuracy"] == pytest.approx(np.mean(accs))
