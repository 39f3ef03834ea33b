"""A person's digit picture -> MNIST-style 28×28 (or sklearn-style 8×8) input."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tinygrad_digits.data import BlankImageError, DataFormatError, preprocess_digit_image

Image = pytest.importorskip("PIL.Image", reason="reading pictures needs pillow")
ImageDraw = pytest.importorskip("PIL.ImageDraw", reason="reading pictures needs pillow")


def _draw_seven(size=(200, 200), at=(20, 30), scale=1.0, ink=0, paper=255, width=8, mode="L"):
    """A '7' with a crossbar, drawn with Pillow: dark ink on light paper by default."""
    image = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(image)
    x, y = at
    s = scale
    pen.line([(x, y), (x + 60 * s, y), (x + 25 * s, y + 100 * s)], fill=ink, width=width)
    pen.line([(x + 15 * s, y + 50 * s), (x + 55 * s, y + 50 * s)], fill=ink, width=width)
    return image


def _centre_of_mass(out: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(out.shape)
    return float((out * ys).sum() / out.sum()), float((out * xs).sum() / out.sum())


def _check_mnist_like(out: np.ndarray) -> None:
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() == pytest.approx(1.0)
    assert out[0].max() == 0 and out[:, 0].max() == 0  # a clear margin, like MNIST's
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_off_centre_digit_is_centred():
    out = preprocess_digit_image(_draw_seven(at=(120, 80), scale=0.6, width=5))
    _check_mnist_like(out)
    rows = np.flatnonzero(out.max(axis=1) > 0.1)
    assert 18 <= rows[-1] - rows[0] + 1 <= 22  # fitted into the 20-pixel box


def test_inverted_image_gives_same_result():
    dark_on_light = preprocess_digit_image(_draw_seven())
    light_on_dark = preprocess_digit_image(_draw_seven(ink=255, paper=0))
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=1e-6)
    forced = preprocess_digit_image(_draw_seven(ink=255, paper=0), invert=False)
    np.testing.assert_allclose(forced, light_on_dark, atol=1e-6)


def test_large_photo_with_thin_pen():
    big = _draw_seven(size=(1000, 800), at=(500, 150), scale=5.0, width=3)
    out = preprocess_digit_image(big)
    _check_mnist_like(out)
    bold = preprocess_digit_image(_draw_seven())
    # thin strokes are thickened to MNIST-like width instead of vanishing when shrunk 30×
    assert 0.6 < out.mean() / bold.mean() < 1.6


def test_colour_image_with_tinted_paper():
    colour = _draw_seven(ink=(30, 40, 160), paper=(235, 225, 200), mode="RGB")
    out = preprocess_digit_image(colour)
    _check_mnist_like(out)
    grey = preprocess_digit_image(_draw_seven())
    assert np.abs(out - grey).mean() < 0.02


def test_transparent_background_png(tmp_path):
    image = Image.new("RGBA", (120, 150), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(60, 20), (60, 130)], fill=(0, 0, 0, 255), width=10)
    path = tmp_path / "one.png"
    image.save(path)
    out = preprocess_digit_image(path)
    _check_mnist_like(out)
    cols = np.flatnonzero(out.max(axis=0) > 0.1)
    assert cols.size <= 6  # a '1' keeps its aspect ratio: tall and narrow


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP"])
def test_files_in_common_formats(tmp_path, fmt):
    path = tmp_path / f"seven.{fmt.lower()}"
    _draw_seven(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255)).save(path, format=fmt)
    out = preprocess_digit_image(path)
    _check_mnist_like(out)
    reference = preprocess_digit_image(_draw_seven())
    assert np.abs(out - reference).mean() < 0.03


def test_numpy_arrays_are_accepted():
    grey = np.asarray(_draw_seven())
    out = preprocess_digit_image(grey)
    np.testing.assert_allclose(out, preprocess_digit_image(_draw_seven()), atol=1e-6)
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.float64) / 255
    np.testing.assert_allclose(preprocess_digit_image(rgb), out, atol=1e-6)
    np.testing.assert_allclose(preprocess_digit_image(grey.astype(np.int64)), out, atol=1e-6)


@pytest.mark.parametrize("mode", ["I", "F", "P", "LA", "1"])
def test_other_pillow_modes(mode):
    out = preprocess_digit_image(_draw_seven().convert(mode))
    _check_mnist_like(out)
    assert np.abs(out - preprocess_digit_image(_draw_seven())).mean() < 0.02


def test_8x8_mode_is_like_sklearn_digits(tmp_path):
    out = preprocess_digit_image(_draw_seven(at=(100, 60), scale=0.8), size=8)
    assert out.shape == (8, 8) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() == pytest.approx(16.0)
    assert out[:, 0].max() < 8 and out[0].max() > 8  # the 7's bar along the top


def test_save_path_writes_enlarged_view(tmp_path):
    path = tmp_path / "seen.png"
    out = preprocess_digit_image(_draw_seven(), save_path=path)
    with Image.open(path) as seen:
        assert seen.size == (280, 280) and seen.mode == "L"
        pixels = np.asarray(seen)
    np.testing.assert_array_equal(pixels[::10, ::10], np.round(out * 255).astype(np.uint8))
    preprocess_digit_image(_draw_seven(), size=8, save_path=tmp_path / "seen8.png")
    with Image.open(tmp_path / "seen8.png") as seen8:
        assert seen8.size == (280, 280)


@pytest.mark.parametrize("paper", [0, 255, 128])
def test_blank_image_names_the_file(tmp_path, paper):
    path = tmp_path / "blank.png"
    noise = np.random.default_rng(0).integers(-3, 4, (60, 80))
    Image.fromarray(np.clip(paper + noise, 0, 255).astype(np.uint8)).save(path)
    with pytest.raises(BlankImageError, match=str(path)):
        preprocess_digit_image(path)


def test_unreadable_and_missing_files(tmp_path):
    path = tmp_path / "digit.png"
    path.write_bytes(b"this is not a picture")
    with pytest.raises(DataFormatError, match=str(path)):
        preprocess_digit_image(path)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        preprocess_digit_image(tmp_path / "nope.png")


def test_bad_size():
    with pytest.raises(ValueError, match="28"):
        preprocess_digit_image(_draw_seven(), size=16)


def test_missing_pillow_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-digits\[images\]"'):
        preprocess_digit_image(tmp_path / "x.png")
