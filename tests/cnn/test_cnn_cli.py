"""`--model cnn` through the command line as a user runs it: train, evaluate, predict, gradcheck."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TINYGRAD_DIGITS_DEBUG", None)
    env["OPENBLAS_NUM_THREADS"] = "1"  # small matmuls: threads only add waiting on a busy box
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


def draw(kind: int, path: Path, size: tuple[int, int] = (200, 200)) -> Path:
    """A dark 0 (a ring) or 1 (a bar) on white paper, as a user would draw it."""
    from PIL import Image, ImageDraw

    image = Image.new("L", size, 255)
    pen = ImageDraw.Draw(image)
    if kind == 1:
        pen.line([(100, 30), (100, 170)], fill=0, width=14)
    else:
        pen.ellipse((60, 30, 140, 170), outline=0, width=14)
    image.save(path)
    return path


def accuracy_of(stdout: str) -> float:
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy:"), stdout
    return float(last.split()[2].rstrip("%")) / 100


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnnrun") / "digits-cnn"
    result = run("train", "--model", "cnn", "--epochs", "2", "--out", str(out), "--no-plots")
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_cnn_on_digits(trained):
    out, result = trained
    assert "cnn 1x8x8 -> conv-bn 32 -> conv-bn 64 -> 128 -> 10, dropout 0.25" in result.stdout
    assert "epoch 2/2" in result.stdout
    assert accuracy_of(result.stdout) >= 0.9, result.stdout  # ~96% after two epochs
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "cnn" and config["channels"] == [32, 64]
    assert config["batch_norm"] is True and config["hidden"] == [128]
    assert (out / "model.safetensors").is_file() and (out / "results.json").is_file()


def test_evaluate_cnn_matches_train(trained):
    out, train_result = trained
    result = run("evaluate", str(out))
    assert result.returncode == 0, result.stderr
    trained_accuracy = train_result.stdout.strip().splitlines()[-1].split()[2]  # e.g. 96.38%
    assert f"test accuracy {trained_accuracy}" in result.stdout


def test_predict_drawn_digits_with_cnn(trained, tmp_path):
    pytest.importorskip("PIL")
    out, _ = trained
    zero, one = draw(0, tmp_path / "zero.png"), draw(1, tmp_path / "one.png")
    seen = tmp_path / "seen"
    result = run("predict", str(out), str(zero), str(one), "--json", "--show-input", str(seen))
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert [a["prediction"] for a in answers] == [0, 1], answers
    for answer in answers:
        probs = [t["probability"] for t in answer["top"]]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        assert Path(answer["input_image"]).is_file()


def test_gradcheck_saved_and_new_cnn(trained):
    out, _ = trained
    result = run("gradcheck", str(out), "--batch-size", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "PASS" and "cnn 1x8x8" in lines[0]
    # conv, batch-norm weight and bias per block (bias-free convs), 2 Linear weights and biases
    assert sum("worst relative error" in line for line in lines) == 3 + 3 + 4
    result = run("gradcheck", "--model", "cnn", "--channels", "4,8", "--no-batch-norm")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("PASS") and "conv 4 -> conv 8" in result.stdout


def test_cnn_options_and_28x28_images(tmp_path):
    """--channels/--no-batch-norm/--dropout on MNIST-style files; predict at 28x28."""
    from tinygrad_digits.data import write_idx

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    out = tmp_path / "mnist-cnn"
    args = ("--dataset", "mnist", "--data-dir", str(tmp_path), "--epochs", "1")
    cnn = ("--channels", "4,8", "--no-batch-norm", "--dropout", "0", "--hidden", "16")
    result = run("train", "--model", "cnn", *args, *cnn, "--out", str(out), "--no-plots")
    assert result.returncode == 0, result.stderr
    assert "cnn 1x28x28 -> conv 4 -> conv 8 -> 16 -> 10 (relu" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert config["channels"] == [4, 8] and config["batch_norm"] is False
    assert config["dropout"] == 0.0
    result = run("evaluate", str(out))
    assert result.returncode == 0 and "test accuracy" in result.stdout, result.stderr
    if pytest.importorskip("PIL"):
        seen = tmp_path / "seen.png"
        picture = draw(1, tmp_path / "one.png")
        result = run("predict", str(out), str(picture), "--json", "--show-input", str(seen))
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert 0 <= answer["prediction"] <= 9 and len(answer["top"]) == 3
        from PIL import Image

        assert Image.open(seen).size == (280, 280)  # what a 28x28 model sees, enlarged


@pytest.mark.parametrize(
    ("option", "value"), [("--channels", "0"), ("--channels", ","), ("--dropout", "1.5")]
)
def test_bad_cnn_options_are_one_line_errors(option, value):
    result = run("train", "--model", "cnn", option, value)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in result.stderr


def test_gradcheck_still_catches_a_wrong_conv_backward(monkeypatch, capsys):
    """The retries at smaller steps forgive kinks, not a wrong gradient (1% off here)."""
    from tinygrad_digits import cli
    from tinygrad_digits.ops import conv

    right = conv.Conv2d.backward

    def wrong(self, g):
        gx, gw, *rest = right(self, g)
        return (gx, gw * 1.01, *rest)

    monkeypatch.setattr(conv.Conv2d, "backward", wrong)
    code = cli.main(["gradcheck", "--model", "cnn", "--channels", "2,4", "--batch-size", "4"])
    out = capsys.readouterr().out
    assert code == 1 and out.strip().endswith("FAIL: backprop disagrees with finite differences")
    assert "features.0.weight" in out and "MISMATCH" in out
