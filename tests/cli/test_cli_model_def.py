"""Custom models in every command: --model-def FILE.py:FUNCTION with weights saved by tg.save,
and `graph FILE` on a state dict saved the documented way."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinygrad_digits as tg

MODEL_CODE = """
import tinygrad_digits as tg
from tinygrad_digits import nn


class Mish(nn.Module):
    def forward(self, x):
        return x * x.exp().log1p().tanh()


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.inner = nn.Linear(width, width)
        self.act = Mish()

    def forward(self, x):
        return x + self.act(self.inner(x))


def make_model():
    return nn.Sequential(nn.Linear(64, 32), Mish(), Residual(32), nn.Linear(32, 10))


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 14 * 14, 10),
    )


not_a_model = 3
"""


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    """(folder, weights path) of a trained residual mish MLP defined in my_net.py."""
    folder = tmp_path_factory.mktemp("custom")
    (folder / "my_net.py").write_text(MODEL_CODE)
    from tinygrad_digits import nn, optim
    from tinygrad_digits.data import load_digits_arrays
    from tinygrad_digits.training.loading import load_custom_model

    tg.manual_seed(0)
    model, _ = load_custom_model(f"{folder}/my_net.py:make_model")
    model.train()
    x, y = load_digits_arrays()
    x = (x / 16).astype(np.float32)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = nn.functional.cross_entropy(model(tg.tensor(x)), tg.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    tg.save(model.state_dict(), folder / "weights.safetensors")
    return folder, folder / "weights.safetensors"


def test_predict_evaluate_gradcheck_with_a_custom_model(cli, custom):
    folder, weights = custom
    spec = "my_net.py:make_model"
    from PIL import Image, ImageDraw

    picture = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(picture).line([(100, 30), (100, 170)], fill=0, width=16)
    picture.save(folder / "one.png")
    result = cli("predict", str(weights), "one.png", "--model-def", spec, "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["prediction"] == 1
    result = cli("evaluate", str(weights), "--model-def", spec, cwd=folder)
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("accuracy")[1].split("%")[0].strip(" :"))
    assert accuracy > 80
    result = cli("gradcheck", str(weights), "--model-def", spec, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "inner.weight" in result.stdout and "PASS" in result.stdout


def test_graph_draws_any_model(cli, custom):
    folder, weights = custom
    result = cli(
        "graph", str(weights), "--model-def", "my_net.py:make_model", "-o", "g.dot", cwd=folder
    )
    assert result.returncode == 0, result.stderr
    dot = (folder / "g.dot").read_text()
    assert "Sequential" in dot and "inner" in dot and "Tanh" in dot
    result = cli("graph", "--model-def", "my_net.py:make_cnn", "-o", "cnn.dot", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "Conv2d" in (folder / "cnn.dot").read_text()


def test_graph_file_takes_a_state_dict_saved_with_tg_save(cli, tmp_path):
    from tinygrad_digits import nn

    tg.save(nn.MLP(64, [16], 10).state_dict(), tmp_path / "mlp.safetensors")
    result = cli("graph", "mlp.safetensors", "-o", "mlp.dot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MLP 64 -> 16 -> 10" in (tmp_path / "mlp.dot").read_text()


def test_doctor_on_a_custom_model(cli, custom):
    folder, weights = custom
    result = cli("doctor", "--model-def", "my_net.py:make_model", "--steps", "5", cwd=folder)
    assert result.returncode in (0, 1), result.stderr
    assert "inner" in result.stdout


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("my_net.py", "FILE.py:FUNCTION"),
        ("nope.py:make_model", "no such Python file"),
        ("my_net.py:make_modle", "has no function 'make_modle'"),
        ("my_net.py:not_a_model", "has no function"),
    ],
)
def test_model_def_mistakes_are_explained(cli, custom, spec, message):
    folder, weights = custom
    result = cli("predict", str(weights), "x.png", "--model-def", spec, cwd=folder)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
