"""Read your own handwritten digit: train a small model, then predict a picture.

    python examples/own_digit.py [IMAGE] [--model runs/digits-mlp] [--show-input seen.png]

Without IMAGE the script draws a digit itself with Pillow (a "3" in a font, off-centre, dark
ink on light paper, as a phone photo of a page would be). Without --model it trains the
default digits MLP first (about a second). Any PNG/JPEG/BMP works: colour or grey, any size,
dark ink on light paper or the reverse.

What happens to the picture (tinygrad_digits.data.preprocess_digit_image) is what was done to
the training images: greyscale, ink made light on a dark background, cropped to the ink,
scaled to fit keeping its shape, centred, and for the 8×8 digits shrunk to 8×8 pixels on a
0–16 scale. Then the same normalisation as in training: (pixels / 16 - mean) / std.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, Digits, preprocess_digit_image
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training import evaluate, fit


def draw_a_digit(path: Path, digit: str = "3") -> Path:
    """A digit in Pillow's built-in font on a light, slightly tinted page, away from the centre."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("RGB", (480, 360), (245, 240, 225))
    pen = ImageDraw.Draw(page)
    try:
        font = ImageFont.load_default(size=220)
    except TypeError:  # Pillow < 10.1 has only a tiny bitmap font: draw strokes instead
        pen.line([(300, 60), (380, 60), (330, 160), (390, 230), (300, 300)], (30, 30, 90), 22)
        page.save(path)
        return path
    pen.text((250, 40), digit, fill=(30, 30, 90), font=font)
    page.save(path)
    return path


def train_model() -> tuple[nn.Module, dict[str, float]]:
    """The CLI's default: MLP 64-128-64-10, Adam, cross-entropy with label smoothing 0.1."""
    tg.manual_seed(0)
    train, test = Digits(True, flatten=True), Digits(False, flatten=True)
    model = nn.MLP(64, [128, 64], 10)

    def loss_fn(logits: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(logits, labels, label_smoothing=0.1)

    fit(
        model,
        DataLoader(train, 32, shuffle=True, seed=0),
        None,
        optim.Adam(model.parameters(), lr=1e-3),
        loss_fn,
        epochs=40,
        progress=False,
        log=None,
    )
    accuracy = evaluate(model, DataLoader(test, 1000)).accuracy
    print(f"trained a digits MLP: {accuracy:.1%} on the 359 test images")
    return model, train.normalization


def load_model(path: str) -> tuple[nn.Module, dict[str, float]]:
    """A model saved by `tinygrad-digits train --out DIR` (8×8 digits MLPs)."""
    from tinygrad_digits.training.loading import load_model as load

    model, config = load(path)
    if config["side"] != 8:
        sys.exit(f"{path}: this example reads 8×8 digits models; use `tinygrad-digits predict`")
    return model, config["normalization"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", nargs="?", help="a picture of one digit (default: draw one)")
    parser.add_argument("--model", help="a saved model or train --out folder (default: train)")
    parser.add_argument("--show-input", help="save the 8×8 image the network sees as PNG")
    args = parser.parse_args()

    model, norm = load_model(args.model) if args.model else train_model()
    if args.image is None:
        image = draw_a_digit(Path(tempfile.mkdtemp()) / "my_digit.png")
        print(f"no image given: drew a '3' into {image}")
    else:
        image = Path(args.image)

    pixels = preprocess_digit_image(image, size=8, save_path=args.show_input)  # 8×8, 0–16
    print("what the network sees (0-16):")
    for row in pixels:
        print("   " + " ".join(f"{v:2.0f}" if v >= 0.5 else " ." for v in row))
    x = (pixels.reshape(1, 64) / 16.0 - norm["mean"]) / norm["std"]
    model.eval()
    with tg.no_grad():
        probs = model(tg.tensor(x.astype(np.float32))).softmax(1).numpy()[0]
    top = np.argsort(-probs)[:3]
    print(f"{image}: {top[0]}  (" + ", ".join(f"{k}: {probs[k]:.1%}" for k in top) + ")")
    if args.show_input:
        print(f"saved the network's view to {args.show_input}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
