"""The hook `tinygrad-digits train` calls: run_doctor_checks(model, loader, loss_fn=...,
optimizer=..., config=..., log=...)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim
from tinygrad_digits.data import DataLoader, TensorDataset
from tinygrad_digits.nn import functional as F


def _loader(x, y, shuffle: bool = True) -> DataLoader:
    return DataLoader(TensorDataset(x, y), 64, shuffle=shuffle, seed=0)


def test_warnings_are_logged_once_and_findings_returned(digits) -> None:
    x, y = digits
    lines: list[str] = []
    model = nn.MLP(64, [4, 4], 10, activation="sigmoid")
    opt = optim.SGD(model.parameters(), lr=2.0, momentum=0.9, weight_decay=0.1)
    found = doctor.run_doctor_checks(
        model,
        _loader(x, y),
        loss_fn=F.cross_entropy,
        optimizer=opt,
        config={"num_classes": 10},
        log=lines.append,
    )
    assert {"bottleneck", "lr_too_high"} <= {f.code for f in found}
    text = "\n".join(lines)
    assert text.startswith("doctor (before training):") and text.count("[bottleneck]") == 1
    assert "on one batch" in text and "--no-doctor" in text


def test_nothing_is_logged_for_a_healthy_set_up(digits) -> None:
    x, y = digits
    lines: list[str] = []
    model = nn.MLP(64, [128, 64], 10)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    doctor.run_doctor_checks(
        model, _loader(x, y), loss_fn=F.cross_entropy, optimizer=opt, log=lines.append
    )
    assert lines == []


def test_the_loader_and_the_training_run_are_untouched(digits) -> None:
    x, y = digits

    def first_epoch(check: bool) -> list[np.ndarray]:
        tg.manual_seed(3)
        model = nn.MLP(64, [32], 10, dropout=0.1)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        loader = _loader(x[:512], y[:512])
        if check:
            doctor.run_doctor_checks(
                model, loader, loss_fn=F.cross_entropy, optimizer=opt, log=lambda s: None
            )
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]

    for a, b in zip(first_epoch(False), first_epoch(True)):
        np.testing.assert_array_equal(a, b)


def test_an_unshuffled_loader_is_checked_on_what_training_sees_first(digits) -> None:
    x, y = digits
    order = np.argsort(y, kind="stable")  # sorted by label: the first batches are all zeros
    lines: list[str] = []
    found = doctor.run_doctor_checks(
        nn.MLP(64, [64], 10),
        _loader(x[order], y[order], shuffle=False),
        loss_fn=F.cross_entropy,
        log=lines.append,
    )
    assert "class_imbalance" in {f.code for f in found}
    shuffled = doctor.run_doctor_checks(
        nn.MLP(64, [64], 10), _loader(x[order], y[order]), log=lines.append
    )
    assert "class_imbalance" not in {f.code for f in shuffled}  # a random sample: balanced


def test_train_command_prints_the_findings_and_no_doctor_silences_them(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = pytest.importorskip("tinygrad_digits.cli")
    common = ["train", "--epochs", "1", "--no-progress", "--no-plots", "--hidden", "4"]
    assert cli.main([*common, "--out", str(tmp_path / "a")]) == 0
    assert "[bottleneck]" in capsys.readouterr().out
    assert cli.main([*common, "--out", str(tmp_path / "b"), "--no-doctor"]) == 0
    assert "doctor" not in capsys.readouterr().out
