"""Errors name the op (or layer) and the shapes, and say what to change."""

from __future__ import annotations

import pytest

import tinygrad_digits as tg
from tinygrad_digits.nn.conv_layers import Conv2d
from tinygrad_digits.nn.functional_conv import avg_pool2d, conv2d, max_pool2d


def test_channel_mismatch_names_both_counts() -> None:
    x = tg.randn(2, 3, 8, 8)
    w = tg.randn(4, 1, 3, 3)
    with pytest.raises(tg.ShapeError, match=r"conv2d: input has 3 channels .*expects 1"):
        conv2d(x, w)
    with pytest.raises(tg.ShapeError, match=r"Conv2d\(1, 4.*has 3 channels.*in_channels=1"):
        Conv2d(1, 4, 3)(x)


def test_kernel_larger_than_padded_input() -> None:
    with pytest.raises(
        tg.ShapeError, match=r"conv2d: kernel 5x5 is larger than the padded input 4x4"
    ):
        conv2d(tg.randn(1, 1, 2, 2), tg.randn(1, 1, 5, 5), padding=1)
    with pytest.raises(tg.ShapeError, match=r"kernel 3x3 \(dilated to 5x5\) is larger"):
        conv2d(tg.randn(1, 1, 4, 4), tg.randn(1, 1, 3, 3), dilation=2)
    with pytest.raises(
        tg.ShapeError, match=r"max_pool2d: kernel 3x3 is larger than the padded input 2x2"
    ):
        max_pool2d(tg.randn(1, 1, 2, 2), 3)


def test_flattened_input_gets_a_hint() -> None:
    with pytest.raises(tg.ShapeError, match=r"conv2d: expected a 4-D input .*\(2, 64\).*reshape"):
        conv2d(tg.randn(2, 64), tg.randn(1, 1, 3, 3))
    with pytest.raises(tg.ShapeError, match=r"Conv2d\(1, 2.*\(2, 64\).*reshape"):
        Conv2d(1, 2, 3)(tg.randn(2, 64))


def test_weight_bias_and_groups_shapes() -> None:
    x = tg.randn(1, 4, 5, 5)
    with pytest.raises(tg.ShapeError, match=r"weight must be 4-D"):
        conv2d(x, tg.randn(4, 4, 3))
    with pytest.raises(tg.ShapeError, match=r"bias must have shape \(2,\).*got \(3,\)"):
        conv2d(x, tg.randn(2, 4, 3, 3), tg.randn(3))
    with pytest.raises(
        tg.ShapeError, match=r"has 4 channels.*expects 2 \(1 per group x 2 groups\)"
    ):
        conv2d(x, tg.randn(2, 1, 3, 3), groups=2)
    with pytest.raises(tg.ShapeError, match=r"3 output channels .*groups=2"):
        conv2d(x, tg.randn(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"divisible by groups"):
        Conv2d(4, 3, 3, groups=2)


def test_bad_arguments() -> None:
    x, w = tg.randn(1, 1, 6, 6), tg.randn(1, 1, 3, 3)
    with pytest.raises(ValueError, match=r"padding='same' needs stride 1"):
        conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"'valid' or 'same', got 'full'"):
        conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match=r"stride must be >= 1"):
        conv2d(x, w, stride=0)
    with pytest.raises(TypeError, match=r"dilation must be an int or a pair"):
        conv2d(x, w, dilation=(1, 2, 3))
    with pytest.raises(ValueError, match=r"max_pool2d: padding 2 .* more than half the kernel"):
        max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"divisor_override must not be 0"):
        avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match=r"padding_mode must be .* not 'mirror'"):
        Conv2d(1, 1, 3, padding_mode="mirror")


def test_dtype_mismatch_and_integer_input() -> None:
    with pytest.raises(TypeError, match=r"conv2d: weight is float32 but input is float64"):
        conv2d(tg.randn(1, 1, 4, 4, dtype=tg.float64), tg.randn(1, 1, 3, 3))
    with pytest.raises(TypeError, match=r"conv2d: input must be floating point, got int64"):
        conv2d(tg.zeros(1, 1, 4, 4, dtype=tg.int64), tg.randn(1, 1, 3, 3))


def test_device_mismatch_names_the_op() -> None:
    try:
        tg.get_device("strict")
    except tg.DeviceUnavailableError as exc:
        pytest.skip(f"strict device unavailable: {exc}")
    with pytest.raises(tg.DeviceMismatchError, match=r"conv2d: .*'cpu'.*'strict'"):
        conv2d(tg.randn(1, 1, 4, 4), tg.randn(1, 1, 3, 3, device="strict"))
