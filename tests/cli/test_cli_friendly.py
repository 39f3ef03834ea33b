"""Friendly edges of the CLI: the device variable in every command, Kaggle's unlabelled
test.csv and submission file, what the losses include, and messages that name CLI flags."""

from __future__ import annotations

import numpy as np
import pytest

QUIET = ["--no-plots", "--no-progress", "--no-doctor"]


def test_train_honours_the_device_variable_and_says_what_losses_include(cli, tmp_path):
    pytest.importorskip("array_api_strict")
    result = cli("train", "--epochs", "1", "--out", "run", *QUIET, cwd=tmp_path,
                 TINYGRAD_DIGITS_DEVICE="strict")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "parameters) on strict" in result.stdout
    assert "include label smoothing 0.1" in result.stdout
    result = cli("train", "--epochs", "1", "--label-smoothing", "0", "--out", "r0", *QUIET,
                 cwd=tmp_path)  # fmt: skip
    assert "label smoothing" not in result.stdout


def test_predict_writes_a_kaggle_submission(cli, tmp_path):
    from tinygrad_digits.data import load_digits_arrays
    from tinygrad_digits.data.arrays import upsample_digits

    x, y = load_digits_arrays()
    pixels = np.round(upsample_digits(x[:300]) * (255 / 16)).astype(int)
    np.savetxt(tmp_path / "train.csv", np.column_stack([y[:300], pixels]), fmt="%d", delimiter=",")
    header = ",".join(f"pixel{i}" for i in range(784))
    np.savetxt(tmp_path / "test.csv", pixels[:20], fmt="%d", delimiter=",", header=header,
               comments="")  # fmt: skip
    result = cli("train", "--csv", "train.csv", "--epochs", "3", "--out", "run", *QUIET,
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = cli("predict", "run", "--csv", "test.csv", "--submission", "sub.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "sub.csv").read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 21
    ids, labels = zip(*(line.split(",") for line in lines[1:]))
    assert [int(i) for i in ids] == list(range(1, 21))
    assert np.mean([int(a) == b for a, b in zip(labels, y[:20])]) > 0.5
    result = cli("predict", "run", "--csv", "train.csv", cwd=tmp_path)  # labelled by mistake
    assert result.returncode == 1 and "with labels?" in result.stderr
    result = cli("predict", "run", cwd=tmp_path)
    assert result.returncode == 2 and "--csv PATH" in result.stderr


def test_errors_name_cli_flags():
    from tinygrad_digits.cli.entry import _one_line

    text = _one_line(RuntimeError("no CUDA GPU here, or use device='cpu'."))
    assert text == "no CUDA GPU here, or use --device cpu."
