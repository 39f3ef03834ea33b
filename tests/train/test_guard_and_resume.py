"""fit's NaN guard, data refused where it enters, and resume_training's exact continuation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, TensorDataset
from tinygrad_digits.nn import functional as F
from tinygrad_digits.serialization import load_metadata
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


def _nan_at(step: int):
    """A cross-entropy whose ``step``-th call (counted over the whole run) is NaN."""
    calls = [0]

    def loss_fn(output, target):
        calls[0] += 1
        loss = F.cross_entropy(output, target)
        return loss * float("nan") if calls[0] == step else loss

    return loss_fn


def test_an_accelerator_names_the_first_bad_step_and_keeps_the_epoch_before(
    tmp_path: Path, host_syncs
) -> None:
    x, y = _data()  # 6 batches an epoch: the 10th call is epoch 2, step 4
    model = nn.MLP(8, [16], 3).to("cuda")
    loader = DataLoader(TensorDataset(x, y), 16, shuffle=True, seed=0)
    opt = optim.Adam(model.parameters())
    with pytest.raises(NonFiniteError, match=r"^epoch 2, step 4: the training loss is nan") as e:
        fit(
            model, loader, None, opt, loss_fn=_nan_at(10), epochs=3, progress=False, log=None,
            out_dir=tmp_path, plots=False,
        )  # fmt: skip
    assert (e.value.epoch, e.value.step) == (2, 4)
    assert load_metadata(tmp_path / LAST_NAME)["epoch"] == 1  # nothing of epoch 2 was saved
    for array in tg.load(tmp_path / "model.safetensors").values():
        assert np.isfinite(array.cpu().numpy()).all()


def test_the_accelerator_guard_adds_no_host_sync_per_step(host_syncs) -> None:
    def syncs(batches: int) -> int:
        x, y = _data(16 * batches)
        model = nn.MLP(8, [16], 3).to("cuda")
        loader = DataLoader(TensorDataset(x, y), 16, shuffle=True, seed=0)
        before = host_syncs()
        fit(model, loader, None, optim.Adam(model.parameters()), epochs=1, progress=False,
            log=None)  # fmt: skip
        return host_syncs() - before

    assert syncs(3) == syncs(12)


def _run(tmp_path: Path, epochs: int, resume: bool = False, device: str = "cpu") -> nn.Module:
    """A small run with dropout (the device's random generator) and a shuffling loader."""
    x, y = _data()
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    model.to(device)
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


def test_resume_training_continues_exactly(tmp_path: Path, device: str) -> None:
    whole = _run(tmp_path / "whole", 5, device=device)
    _run(tmp_path / "part", 2, device=device)
    resumed = _run(tmp_path / "part", 5, resume=True, device=device)
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy(), err_msg=name)
