"""load_model checks a file's config against its weights before building anything, and refuses
weights that are not finite or not real numbers: evaluate/predict never run a broken model."""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.serialization import ModelFileError, load_metadata
from tinygrad_digits.training import build_model, make_config, save_checkpoint
from tinygrad_digits.training.loading import load_model
from tinygrad_digits.training.models import MODELS

REPO = Path(__file__).resolve().parents[2]


def _saved(tmp_path: Path, **changes) -> Path:
    config = make_config("mlp", side=8, num_classes=10, hidden=[16], dataset="digits")
    model = build_model(config)
    path = save_checkpoint(tmp_path / "model.safetensors", model, config)
    if changes:
        state = tg.load(path)
        config = {**load_metadata(path)["config"], **changes.pop("config", {})}
        for key, value in changes.items():
            state[key] = value
        tg.save(state, path, metadata={"config": config})
    return path


def test_a_config_far_larger_than_its_weights_allocates_nothing(tmp_path: Path) -> None:
    path = _saved(tmp_path, config={"hidden": [30000, 30000]})
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    with pytest.raises(ModelFileError, match=r"hidden\[0\]=30000.*does not belong"):
        load_model(str(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20  # the model would take 3.6 GB


def test_bias_vectors_of_the_claimed_size_are_not_enough(tmp_path: Path) -> None:
    path = _saved(
        tmp_path, config={"hidden": [30000, 30000]}, extra=tg.zeros(30000), extra2=tg.zeros(30000)
    )
    with pytest.raises(ModelFileError, match="a model of 902,280,010 parameters"):
        load_model(str(path))


def test_a_cnn_claiming_huge_images_allocates_nothing(tmp_path: Path) -> None:
    config = make_config("cnn", side=8, num_classes=10, hidden=[8], channels=[4], dropout=0.0)
    path = save_checkpoint(tmp_path / "model.safetensors", build_model(config), config)
    tg.save(tg.load(path), path, metadata={"config": {**config, "side": 100_000}})
    tracemalloc.start()  # the head alone would be Linear(4 * 50,000², 8): 320 GB
    refused = r"a model of 80,000,000,142 parameters.*holds 663 values"
    with pytest.raises(ModelFileError, match=refused):
        load_model(str(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20


@pytest.mark.parametrize(
    "change, words",
    [
        ({"side": -8}, "side=-8: not a size"),
        ({"in_features": "64"}, "in_features='64': not a size"),
        ({"hidden": "16"}, "hidden is not a list"),
        ({"hidden": [True]}, "hidden[0]=True: not a size"),
        ({"kernel_size": 2.5}, "kernel_size=2.5: not a size"),
    ],
)
def test_every_declared_size_must_be_a_positive_int(tmp_path: Path, change, words: str) -> None:
    with pytest.raises(ModelFileError, match=re.escape(words)):
        load_model(str(_saved(tmp_path, config=change)))


@pytest.mark.parametrize(
    "kind, options",
    [
        ("mlp", {"hidden": [16, 8]}),
        ("mlp", {"hidden": [], "bias": False}),
        ("cnn", {"channels": [4, 6], "hidden": [8], "batch_norm": True}),
        ("cnn", {"channels": [3, 3, 3, 3], "hidden": [], "batch_norm": False, "side": 28}),
    ],
)
def test_each_kind_counts_its_parameters_without_building(kind: str, options) -> None:
    config = make_config(kind, side=options.pop("side", 8), num_classes=10, **options)
    model = build_model(config)
    assert MODELS[kind].parameters(config) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_are_refused(tmp_path: Path, bad: float) -> None:
    weight = np.zeros((16, 64), np.float32)
    weight[3, 4] = bad
    path = _saved(tmp_path, **{"layers.0.weight": tg.tensor(weight)})
    with pytest.raises(ModelFileError, match="holds NaN or inf.*diverged"):
        load_model(str(path))
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", "evaluate", str(path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 1 and "NaN or inf" in result.stderr


def test_short_class_lists_are_named(tmp_path: Path) -> None:
    path = _saved(tmp_path, config={"classes": ["a", "b"]})
    with pytest.raises(ModelFileError, match="lists 2 class names for 10 classes"):
        load_model(str(path))


def test_a_zero_std_normalization_is_named() -> None:
    from tinygrad_digits.data.datasets import normalize_images

    with pytest.raises(ValueError, match="std must be a finite number > 0, got 0"):
        normalize_images(np.zeros((1, 8, 8)), 16.0, 0.5, 0.0)
