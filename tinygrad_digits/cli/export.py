"""`tinygrad-digits export RUN -o FILE`: the trained model as ONNX or safetensors, by suffix.

The ONNX file takes raw pictures, (N, side, side) float32 pixels from 0 (background) to 255
(ink), already cropped and centred as `predict` does; the run's input normalisation is in the
graph as nodes, and it outputs class probabilities. The class names and normalisation are also
in the file's metadata, so onnxruntime alone can read a digit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..training.loading import load_model
from .errors import CLIError

SUFFIXES = (".onnx", ".safetensors")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `export` command to an argparse subparsers object; it sets `func=run`."""
    p = subparsers.add_parser(
        "export",
        help="write a trained model as ONNX (for onnxruntime) or safetensors (for PyTorch)",
        description="Write the model of a train --out folder (or model file) as FILE: .onnx "
        "takes raw 0–255 pictures and gives class probabilities; .safetensors holds the "
        "weights under PyTorch's names with the config in its metadata.",
    )
    p.add_argument("model", metavar="RUN", help="the --out folder of train, or a model file")
    p.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="FILE.onnx or .safetensors"
    )
    p.set_defaults(func=run)
    return p


def raw_image_model(model: Any, config: dict[str, Any]) -> Any:
    """`model` behind the run's preprocessing: raw (N, side, side) 0–255 pixels in, class
    probabilities out (the same scaling as `predict`)."""
    from ..nn.module import Module
    from ..training.models import input_is_flat

    side = int(config["side"])
    stats = config.get("normalization") or {}
    mean, std = float(stats.get("mean", 0.0)), float(stats.get("std", 1.0))
    shape = (side * side,) if input_is_flat(config) else (1, side, side)

    class RawImages(Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixels: Any) -> Any:
            x = (pixels * (1.0 / (255.0 * std)) - mean / std).reshape(-1, *shape)
            return self.model(x).softmax(1)

    return RawImages()


def run(args: argparse.Namespace) -> int:
    """Write the model to args.output in the format its suffix names."""
    out = Path(args.output)
    if out.suffix not in SUFFIXES:
        raise CLIError(f"{out}: the file name must end in .onnx or .safetensors")
    model, config = load_model(args.model, device="cpu")
    if out.suffix == ".safetensors":
        from ..training.checkpoints import save_checkpoint

        save_checkpoint(out, model, config)
        print(f"wrote {out} (load in PyTorch with safetensors.torch.load_file)")
        return 0
    import tinygrad_digits as tg

    from ..onnx import ExportError, export
    from ..training.models import takes_pictures

    if not takes_pictures(config):  # the ONNX file takes pictures; a gate's net takes 2 numbers
        raise CLIError(
            f"{out}: this model was trained on a logic gate's rows, not on pictures: export its "
            "weights as .safetensors",
            code=2,
        )
    side = int(config["side"])
    classes = [str(c) for c in config.get("classes") or range(config["num_classes"])]
    metadata = {
        "classes": json.dumps(classes),
        "normalization": json.dumps(config.get("normalization") or {}),
        "input": f"(N, {side}, {side}) float32 pixels, 0 = background, 255 = ink; "
        "cropped and centred as tinygrad-digits predict does",
        "output": "(N, classes) probabilities",
        "config": json.dumps(config),
    }
    try:
        export(
            raw_image_model(model, config),
            tg.zeros(2, side, side),
            out,
            input_name="image",
            output_names=["probabilities"],
            metadata=metadata,
        )
    except (ImportError, ExportError) as exc:
        raise CLIError(f"{out}: {exc}") from None
    print(f"wrote {out} (input 'image': raw 0–255 pixels; output 'probabilities')")
    return 0
