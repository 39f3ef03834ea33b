"""examples/fashion_mnist_cnn.py runs start to finish on a few hundred images."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_example(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["OPENBLAS_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / "fashion_mnist_cnn.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_fashion_mnist_cnn_quick_run(tmp_path):
    result = run_example("--epochs", "2", "--limit", "400", "--out", str(tmp_path))
    if result.returncode == 1 and "not found" in result.stderr:
        pytest.skip("Fashion-MNIST files are not here (see the example's --download)")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Fashion-MNIST: 360 training, 40 validation, 400 test images" in out
    assert "1x28x28 -> conv-bn 32 -> conv-bn 64 -> 128 -> 10" in out
    assert "epoch 2/2" in out and "Ankle" in out  # per-epoch lines, confusion matrix by name
    accuracy = float(out.strip().splitlines()[-1].split()[2].rstrip("%"))
    assert accuracy > 40, out  # ten classes: chance is 10%
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "history.json").is_file()


def test_fashion_mnist_cnn_rejects_a_bad_limit():
    result = run_example("--limit", "3")
    assert result.returncode == 2 and "--limit" in result.stderr
