"""fit / evaluate on a small digits subset: learning happens, files appear, the best epoch is
what gets saved and restored."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, Digits, Subset, TensorDataset
from tinygrad_digits.progress import ProgressBar
from tinygrad_digits.training import (
    CHECKPOINT_NAME,
    History,
    evaluate,
    fit,
    load_checkpoint,
    save_checkpoint,
)
from tinygrad_digits.training.plots import matplotlib_available


@pytest.fixture(scope="module")
def digits():
    train, test = Digits(True, flatten=True), Digits(False, flatten=True)
    return Subset(train, np.arange(400)), test


def _model(seed=0):
    tg.manual_seed(seed)
    return nn.MLP(64, [32], 10)


def test_fit_learns_and_writes_its_files(digits, tmp_path):
    train, test = digits
    model = _model()
    before = evaluate(model, DataLoader(test, 128)).accuracy
    config = {"model": "mlp", "in_features": 64, "hidden": [32], "num_classes": 10}
    history = fit(
        model,
        DataLoader(train, 32, shuffle=True, seed=0),
        DataLoader(test, 128),
        optim.Adam(model.parameters(), lr=3e-3),
        epochs=4,
        progress=False,
        out_dir=tmp_path,
        config=config,
        log=None,
    )
    assert len(history.epochs) == 4
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_accuracy[-1] > max(before, 0.6)
    saved = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in saved["epochs"]] == [1, 2, 3, 4]
    assert saved["best_epoch"] == history.best_epoch
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"} <= set(
        saved["epochs"][0]
    )
    assert json.loads((tmp_path / "config.json").read_text()) == config
    cfg, state = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert cfg == config
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(state[key].numpy(), value.numpy())
    if matplotlib_available():
        assert (tmp_path / "curves.png").stat().st_size > 1000


def test_best_epoch_is_restored(digits):
    train, test = digits
    model = _model(1)
    seen = {}

    class Spy:
        """An optimizer whose last step ruins the model: restore must undo it."""

        def __init__(self, params):
            self.inner = optim.Adam(params, lr=3e-3)
            self.param_groups = self.inner.param_groups
            self.steps = 0

        def zero_grad(self):
            self.inner.zero_grad()

        def step(self):
            self.steps += 1
            self.inner.step()
            if self.steps == 3 * len(loader):
                seen["good"] = {k: v.clone() for k, v in model.state_dict().items()}
            if self.steps > 3 * len(loader):
                with tg.no_grad():
                    for p in model.parameters():
                        p.mul_(0.0)

    loader = DataLoader(train, 50, shuffle=True, seed=0)
    history = fit(
        model,
        loader,
        DataLoader(test, 200),
        Spy(model.parameters()),
        epochs=4,
        progress=False,
        log=None,
    )
    assert history.best_epoch == 3 and history.val_accuracy[3] < 0.2
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), seen["good"][key].numpy())


def test_evaluate_returns_loss_accuracy_and_confusion():
    x = tg.tensor(np.eye(3, dtype=np.float32) * 5)
    y = np.array([0, 1, 1])
    model = nn.Linear(3, 3, bias=False)
    with tg.no_grad():
        model.weight.copy_(tg.eye(3))
    loss, acc, cm = evaluate(model, DataLoader(TensorDataset(x, y), 2))
    assert acc == pytest.approx(2 / 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    assert loss > 0 and model.training


def test_fit_on_an_accelerator(digits, accelerator):
    train, test = digits
    model = _model()
    history = fit(
        model,
        DataLoader(Subset(train, np.arange(128)), 32, shuffle=True, seed=0, device=accelerator),
        DataLoader(test, 256, device=accelerator),
        optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        device=accelerator,
        progress=False,
        log=None,
    )
    assert next(model.parameters()).device == tg.get_device(accelerator)
    assert np.isfinite(history.train_loss).all() and history.val_accuracy[-1] > 0.3


def test_fit_moves_cpu_batches_to_the_model_device(digits, accelerator):
    train, _ = digits
    model = _model()
    fit(
        model,
        DataLoader(Subset(train, np.arange(64)), 32),
        None,
        optim.SGD(model.parameters(), lr=0.1),
        epochs=1,
        device=accelerator,
        progress=False,
        log=None,
    )


def test_fit_argument_checks(digits):
    train, _ = digits
    with pytest.raises(ValueError, match="optimizer"):
        fit(_model(), DataLoader(train, 32), epochs=1, log=None)
    model = _model()
    with pytest.raises(ValueError, match="epochs"):
        fit(model, DataLoader(train, 32), optimizer=optim.SGD(model.parameters()), epochs=0)


def test_epoch_lines_and_progress_bar(digits):
    train, _ = digits
    model = _model()
    lines = []
    fit(
        model,
        DataLoader(train, 100),
        None,
        optim.SGD(model.parameters(), lr=0.1),
        epochs=2,
        progress=False,
        log=lines.append,
    )
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2") and "samples/s" in lines[0]
    stream = io.StringIO()
    bar = ProgressBar(10, "epoch 1/1", enabled="always", file=stream, interval=0.0)
    bar._tqdm = None  # the plain bar
    assert bar.update()
    bar.show("loss 0.5 acc 90%")
    bar.close()
    assert "epoch 1/1 [##" in stream.getvalue() and "1/10 10% loss 0.5" in stream.getvalue()
    assert stream.getvalue().endswith("\r")  # erased: the epoch line comes next
    quiet = io.StringIO()
    silent = ProgressBar(10, "x", enabled=True, file=quiet, interval=0.0)
    assert not silent.update()  # not a terminal: no bar, no stats asked for
    silent.close()
    assert quiet.getvalue() == ""


def test_history_round_trip(tmp_path):
    h = History(epochs=[{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5}], best_epoch=1)
    h.save(tmp_path / "h.json")
    back = History.load(tmp_path / "h.json")
    assert back.epochs == h.epochs and back.best_epoch == 1 and back.train_loss == [1.0]


def test_checkpoint_round_trip_and_bad_files(tmp_path):
    model = _model()
    path = save_checkpoint(tmp_path / "m.tgd", model, {"model": "mlp"})
    cfg, state = load_checkpoint(path)
    assert cfg == {"model": "mlp"} and set(state) == set(model.state_dict())
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.tgd")
    (tmp_path / "junk.tgd").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "junk.tgd")


def test_a_bad_label_stops_fit_by_the_end_of_the_epoch(device):
    """Accelerators check labels without a host sync per step: the error comes at the read of
    the epoch's loss, on cpu at once; either way fit stops with LabelError."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    y[37] = 10
    model = _model().to(device)
    with pytest.raises(nn.functional.LabelError, match="label 10"):
        fit(
            model,
            DataLoader(TensorDataset(x, y), 16, device=device),
            None,
            optim.SGD(model.parameters(), lr=0.1),
            epochs=1,
            device=device,
            progress=False,
            log=None,
        )
