"""`tinygrad-digits export`: ONNX that classifies raw 0–255 pictures with onnxruntime alone,
and safetensors that PyTorch loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tests.cli.test_cli import assert_clean_failure, run
from tinygrad_digits.data import load_digits_arrays
from tinygrad_digits.training.loading import load_model
from tinygrad_digits.training.prediction import model_input


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "run"
    result = run("train", "--out", str(out), "--epochs", "2", "--no-plots")
    assert result.returncode == 0, result.stderr
    return out


def test_onnx_classifies_raw_pictures_like_the_framework(run_dir: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = run_dir / "digits.onnx"
    result = run("export", str(run_dir), "-o", str(path))
    assert result.returncode == 0, result.stderr

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == [str(d) for d in range(10)]
    assert set(json.loads(meta["normalization"])) >= {"mean", "std"}
    xs, ys = load_digits_arrays()
    pictures = xs[:50].reshape(-1, 8, 8)  # 0–16 ink
    raw = (pictures * (255.0 / 16.0)).astype(np.float32)
    (probs,) = session.run(None, {"image": raw})

    model, config = load_model(str(run_dir))
    with tg.no_grad():
        want = model(tg.tensor(model_input(pictures, config))).softmax(1).numpy()
    np.testing.assert_allclose(probs, want, atol=1e-5)
    assert (probs.argmax(1) == ys[:50]).mean() > 0.8


def test_safetensors_holds_pytorch_names_and_the_config(run_dir: Path) -> None:
    from safetensors import safe_open

    path = run_dir / "weights.safetensors"
    assert run("export", str(run_dir), "-o", str(path)).returncode == 0
    with safe_open(path, framework="numpy") as f:
        names = set(f.keys())
        config = json.loads(f.metadata()["metadata"])["config"]
    assert names == {f"layers.{i}.{p}" for i in range(3) for p in ("weight", "bias")}
    assert config["model"] == "mlp" and config["side"] == 8


def test_export_refuses_an_unknown_suffix(run_dir: Path, tmp_path: Path) -> None:
    assert_clean_failure(run("export", str(run_dir), "-o", str(tmp_path / "m.pt")), ".onnx")
