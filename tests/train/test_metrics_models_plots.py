"""metrics (accuracy, confusion matrix), the model factory and the PNG plots."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.training.metrics import (
    accuracy,
    confusion_matrix,
    format_confusion_matrix,
    per_class_accuracy,
)
from tinygrad_digits.training.models import (
    MODELS,
    ModelUnavailableError,
    build_model,
    input_is_flat,
    make_config,
    parse_hidden,
    register_model,
)
from tinygrad_digits.training.plots import (
    matplotlib_available,
    save_confusion_matrix,
    save_digit_grid,
    save_training_curves,
)


def test_accuracy_from_logits_indices_and_devices(device):
    logits = tg.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0]], device=device)
    labels = tg.tensor([0, 1, 1], device=device)
    assert accuracy(logits, labels) == pytest.approx(2 / 3)
    assert isinstance(accuracy(logits, labels), float)
    assert accuracy([0, 1, 1], [0, 1, 1]) == 1.0
    with pytest.raises(ValueError):
        accuracy([0, 1], [0, 1, 1])


def test_confusion_matrix_rows_are_true_classes():
    cm = confusion_matrix([0, 2, 2, 1], [0, 1, 2, 1], num_classes=3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert cm.dtype == np.int64
    np.testing.assert_allclose(per_class_accuracy(cm), [1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="classes"):
        confusion_matrix([3], [0], num_classes=3)
    text = format_confusion_matrix(cm, ["a", "b", "c"])
    assert "true class" in text and "50.0%" in text and len(text.splitlines()) == 5


def test_parse_hidden():
    assert parse_hidden("128,64") == [128, 64]
    assert parse_hidden(" 32 ") == [32] and parse_hidden("") == []
    for bad in ("12,x", "0", "-4", "1.5"):
        with pytest.raises(ValueError):
            parse_hidden(bad)


def test_build_mlp_from_config():
    config = make_config("mlp", side=8, hidden=[16, 8], activation="tanh")
    assert config["in_features"] == 64 and input_is_flat(config)
    model = build_model(config)
    assert [tuple(p.shape) for p in model.parameters()] == [
        (16, 64),
        (16,),
        (8, 16),
        (8,),
        (10, 8),
        (10,),
    ]
    assert model(tg.zeros(3, 64)).shape == (3, 10)
    assert build_model(config, dtype=tg.float64)(tg.zeros(1, 64, dtype=tg.float64)).dtype == (
        tg.float64
    )


def test_unknown_model_and_activation():
    with pytest.raises(ModelUnavailableError, match="unknown model"):
        make_config("transformer", side=8)
    with pytest.raises(ModelUnavailableError, match="unknown model"):
        build_model({"model": "transformer"})
    with pytest.raises(ValueError, match="activation"):
        make_config("mlp", side=8, activation="swish")


def test_cnn_hook():
    config = make_config("cnn", side=8, hidden=[32])
    assert not input_is_flat(config)
    try:
        model = build_model(config)
    except ModelUnavailableError as exc:
        assert "mlp" in str(exc)
        return
    assert model(tg.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_register_model():
    from tinygrad_digits import nn

    register_model(
        "linear-test", lambda c, d, t: nn.Linear(c["in_features"], 10), flatten_input=True
    )
    try:
        model = build_model(make_config("linear-test", side=8))
        assert model(tg.zeros(1, 64)).shape == (1, 10)
    finally:
        MODELS.pop("linear-test")


@pytest.mark.skipif(not matplotlib_available(), reason="matplotlib not installed")
def test_plots_write_png(tmp_path):
    records = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "train_accuracy": 1 - 1 / (e + 1),
            "val_loss": None if e == 1 else 1.2 / e,
            "val_accuracy": 0.5,
        }
        for e in range(1, 4)
    ]
    for path in (
        save_training_curves(records, tmp_path / "curves.png"),
        save_confusion_matrix(np.eye(10, dtype=int) * 7, tmp_path / "cm.png", list("0123456789")),
        save_digit_grid(np.random.rand(5, 8, 8), tmp_path / "grid.png", titles=list("abcde")),
    ):
        assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_without_matplotlib(monkeypatch, tmp_path):
    import tinygrad_digits.training.plots as plots

    monkeypatch.setattr(plots, "matplotlib_available", lambda: False)
    assert plots.save_training_curves([], tmp_path / "x.png") is None
    assert plots.save_confusion_matrix(np.eye(2), tmp_path / "y.png") is None
    assert not (tmp_path / "x.png").exists()
