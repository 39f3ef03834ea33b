"""fit's NaN guard, data refused where it enters, and resume_training's exact continuation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, TensorDataset
from tinygrad_digits.training import fit
from tinygrad_digits.training.guards import NonFiniteError
from tinygrad_digits.training.resume import LAST_NAME, resume_training


def _data(n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 8)).astype(np.float32), rng.integers(0, 3, n)


def test_a_nan_pixel_is_refused_where_the_data_enters() -> None:
    x, y = _data()
    x[5, 3] = np.nan
    with pytest.raises(ValueError, match="1 sample.*NaN or inf.*row 5"):
        TensorDataset(x, y)


def test_the_first_non_finite_loss_stops_fit_naming_epoch_and_step(tmp_path: Path) -> None:
    x, y = _data()
    tg.manual_seed(0)
    model = nn.MLP(8, [16], 3)
    loader = DataLoader(TensorDataset(x, y), 16, shuffle=True, seed=0)
    opt = optim.SGD(model.parameters(), lr=1e12)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteError, match=r"epoch \d+, step \d+"):
        fit(model, loader, None, opt, epochs=5, progress=False, log=None, out_dir=tmp_path)
    assert (
        not (tmp_path / "history.json").exists()
        or "nan" not in (tmp_path / "history.json").read_text().lower()
    )


def _run(tmp_path: Path, epochs: int, resume: bool = False) -> nn.Module:
    """A small run with dropout (the device's random generator) and a shuffling loader."""
    x, y = _data()
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    loader = DataLoader(TensorDataset(x, y), 16, shuffle=True, seed=3)
    val = DataLoader(TensorDataset(x[:32], y[:32]), 32)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)
    start, history = 0, None
    if resume:
        resumed = resume_training(tmp_path / LAST_NAME, model, opt, loader, sched)
        start, history = resumed.epoch, resumed.history
    fit(
        model, loader, val, opt, epochs=epochs, progress=False, log=None, out_dir=tmp_path,
        scheduler=sched, plots=False, initial_epoch=start, history=history,
    )  # fmt: skip
    return model


def test_resume_training_continues_exactly(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole", 5)
    _run(tmp_path / "part", 2)
    resumed = _run(tmp_path / "part", 5, resume=True)
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
