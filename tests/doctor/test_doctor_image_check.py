"""The predict-time check: a picture against the training images' statistics."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tinygrad_digits import doctor


@pytest.fixture
def digit_and_config(digits_raw):
    x, _ = digits_raw
    unit = x / 16.0
    config = {"side": 8, "normalization": {"mean": float(unit.mean()), "std": float(unit.std())}}
    return x[0].reshape(8, 8).astype(np.float64), config


def codes(image, config) -> list[str]:
    return [f.code for f in doctor.check_image(image, config)]


def test_a_training_digit_passes(digit_and_config) -> None:
    image, config = digit_and_config
    assert codes(image, config) == []


def test_polarity_scale_and_ink_are_named(digit_and_config) -> None:
    image, config = digit_and_config
    assert codes(16 - image, config) == ["input_inverted"]
    assert codes(image * 16, config) == ["input_scale"]  # 0–255 pixels left unscaled
    small = np.pad(image[2:6, 2:6], 2)
    (ink,) = doctor.check_image(small, config, "small.png")
    assert ink.code == "input_ink" and "less than in the training images" in ink.message
    assert "--show-input" in ink.advice  # points to predict's preprocessing


def test_28x28_pictures_are_read_on_0_to_1(digit_and_config) -> None:
    _, config = digit_and_config
    config = {**config, "side": 28}
    blank = np.ones((28, 28))
    assert "input_inverted" in codes(blank, config)


def test_predict_prints_what_is_off(digit_and_config) -> None:
    image, config = digit_and_config
    out = io.StringIO()
    found = doctor.warn_about_images(config, np.stack([image, 16 - image]), ["a", "b"], out)
    assert [f.layer for f in found] == ["b"] and "[input_inverted]" in out.getvalue()
