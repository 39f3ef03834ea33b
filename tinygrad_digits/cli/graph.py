"""`tinygrad-digits graph`: build (or load) a model, run one batch, and draw its graph.

The CLI main wires this in with `add_parser(subparsers)`; `run(args)` returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..nn.layers import ACTIVATIONS
from .options import (
    add_device_arg,
    add_model_def_arg,
    add_seed_arg,
    hidden_sizes,
    make_loss,
    non_negative_int,
    positive_int,
)

DEFAULT_HIDDEN = [128, 64]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `graph` command to an argparse subparsers object."""
    p = subparsers.add_parser(
        "graph",
        help="draw the computation graph of an MLP on one batch (SVG/PNG/PDF/DOT)",
        description=(
            "Build an MLP (or load one saved as a .npz state dict), run one batch of the 8x8 "
            "digits (or random input), and draw the graph. With --grads the loss and backward "
            "run too, and the picture colours every gradient by its health."
        ),
    )
    p.add_argument(
        "model",
        nargs="?",
        help="a model saved by `train` (model file or --out folder), an MLP's state dict (.npz, "
        "or saved with tg.save(model.state_dict(), PATH)), or the weights for --model-def; "
        "default: a new MLP",
    )
    p.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=DEFAULT_HIDDEN,
        metavar="W1,W2,...",
        help="hidden layer sizes of a new MLP, comma-separated (default 128,64)",
    )
    p.add_argument(
        "--activation",
        default="relu",
        choices=ACTIVATIONS,
        help="activation of a new MLP (default relu)",
    )
    p.add_argument(
        "--backward", action="store_true", help="draw the backward view (what each op saved)"
    )
    p.add_argument(
        "--grads",
        action="store_true",
        help="run the loss and backward; colour by gradient health and print a health report",
    )
    p.add_argument(
        "--depth", type=non_negative_int, default=None, help="fold modules deeper than N levels"
    )
    p.add_argument(
        "--collapse", action="append", default=[], help="fold this module path or type (repeat)"
    )
    p.add_argument("--batch", type=positive_int, default=32, help="batch size (default 32)")
    p.add_argument(
        "--data",
        choices=("digits", "random"),
        default="digits",
        help="digits: a batch of sklearn's 8x8 digits; random: normal noise (default digits)",
    )
    add_device_arg(p, None)
    add_model_def_arg(p)
    add_seed_arg(p)
    p.add_argument("--no-legend", action="store_true", help="leave out the legend")
    p.add_argument("--title", default=None, help="a title above the picture")
    p.add_argument(
        "-o",
        "--output",
        default="graph.svg",
        help="output file; the suffix picks the format: .svg .png .pdf .dot (default graph.svg)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the command; 0 on success, 1 when the picture could not be drawn, 2 on bad input."""
    import tinygrad_digits as tg

    from ..training.models import takes_pictures
    from ..viz import save
    from ..viz.draw import GraphvizNotFoundError, as_graph
    from ..viz.health import health_report

    tg.manual_seed(args.seed)
    device = tg.get_device(args.device) if args.device else tg.get_default_device()
    try:
        model, config = _model(args, device)
    except (OSError, ValueError, KeyError) as exc:
        print(f"tinygrad-digits graph: {exc}", file=sys.stderr)
        return 2
    x, y, source = _batch(config, args.batch, args.data, device)
    with_loss = args.grads or args.backward
    loss_fn = None
    if with_loss and not takes_pictures(config):  # a logic gate's net: the run's own loss
        loss_fn = make_loss(config.get("training", {}).get("loss"), 1)
    graph = as_graph(
        model, x, target=y if with_loss else None, loss_fn=loss_fn, backward=bool(args.grads)
    )
    title = args.title or f"{_describe(model)} on {source}"
    options = {
        "view": "backward" if args.backward else "forward",
        "grads": bool(args.grads),
        "depth": args.depth,
        "collapse": args.collapse,
        "legend": not args.no_legend,
        "title": title,
    }
    out = Path(args.output)
    try:
        save(graph, out, **options)
    except GraphvizNotFoundError as exc:
        print(f"tinygrad-digits graph: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"tinygrad-digits graph: {exc}", file=sys.stderr)
        return 2
    ops = sum(n.kind == "op" for n in graph.nodes)
    print(f"wrote {out} ({ops} ops, {len(graph.nodes) - ops} tensors)")
    if args.grads:
        print(health_report(graph))
    return 0


def _describe(model: Any) -> str:
    from .. import nn

    if isinstance(model, nn.MLP):
        sizes = " -> ".join(str(layer.out_features) for layer in model.layers)
        return f"MLP {model.in_features} -> {sizes}"
    return type(model).__name__


def _model(args: argparse.Namespace, device: Any) -> tuple[Any, dict[str, Any]]:
    """(model, config: side and flatten_input at least) for the command's arguments."""
    from .. import nn
    from ..training.loading import load_custom_model

    if args.model_def:
        return load_custom_model(args.model_def, args.model, device=device)
    if args.model:
        return _load_saved(Path(args.model), args.activation, device)
    model = nn.MLP(64, args.hidden, 10, activation=args.activation, device=device)
    return model, {"side": 8, "flatten_input": True}


def load_mlp(path: str | Path, activation: str = "relu", device: Any = None) -> Any:
    """An MLP rebuilt from a state dict ('layers.0.weight', ...) saved as .npz or with
    ``tg.save(model.state_dict(), path)``, or a model saved by `train`: the sizes come from the
    weight shapes; a 'config' entry (JSON: hidden, activation) is used when present."""
    return _load_saved(Path(path), activation, device)[0]


def _load_saved(path: Path, activation: str, device: Any) -> tuple[Any, dict[str, Any]]:
    from ..serialization import ModelFileError, load, load_metadata
    from ..training.loading import load_model

    if not path.exists():
        raise OSError(f"no saved model at {path}")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        config = json.loads(str(arrays.pop("config"))) if "config" in arrays else {}
        return _mlp_from_state(path, arrays, config, activation, device)
    try:
        return load_model(str(path), device=device)
    except ModelFileError:  # a bare state dict, saved with tg.save(model.state_dict(), path)
        try:
            state = load(str(path), map_location="cpu")
            config = load_metadata(str(path)).get("config") or {}
        except (OSError, ModelFileError) as exc:
            raise ValueError(str(exc)) from None
        arrays = {k: v.numpy() for k, v in state.items()} if isinstance(state, dict) else {}
        return _mlp_from_state(path, arrays, config, activation, device)
    except OSError as exc:
        raise ValueError(str(exc)) from None


def _mlp_from_state(
    path: Path, arrays: dict[str, np.ndarray], config: dict[str, Any], activation: str, device: Any
) -> tuple[Any, dict[str, Any]]:
    from .. import nn

    weights = sorted(
        (int(k.split(".")[1]), v.shape)
        for k, v in arrays.items()
        if k.startswith("layers.") and k.endswith(".weight")
    )
    if not weights:
        raise KeyError(
            f"{path} holds no 'layers.N.weight' arrays, so it is not an nn.MLP state dict "
            f"(it has: {', '.join(sorted(arrays)[:8])}); for another model pass the code that "
            "builds it: --model-def FILE.py:FUNCTION"
        )
    sizes = [weights[0][1][1]] + [shape[0] for _, shape in weights]
    model = nn.MLP(
        sizes[0],
        sizes[1:-1],
        sizes[-1],
        activation=config.get("activation", activation),
        bias=any(k.endswith(".bias") for k in arrays),
        device=device,
    )
    model.load_state_dict(arrays)
    side = int(round(np.sqrt(sizes[0])))
    return model, {"side": side, "flatten_input": True, "num_classes": sizes[-1]}


def _batch(config: dict[str, Any], batch: int, data: str, device: Any) -> tuple[Any, Any, str]:
    """A batch the model takes: sklearn's digits (enlarged for 28×28 models) or noise."""
    import tinygrad_digits as tg

    from ..training.models import input_is_flat, takes_pictures

    if not takes_pictures(config):  # a logic gate's network: the gate's four rows
        from ..data import LogicGate

        gate = LogicGate(config["dataset"])
        x = tg.tensor(gate.data, dtype=tg.float32, device=device)
        return x, tg.tensor(gate.targets, device=device), f"the {gate.name} gate's 4 rows"
    side, classes = int(config["side"]), int(config.get("num_classes", 10))
    shape = (side * side,) if input_is_flat(config) else (1, side, side)
    if data == "digits" and side in (8, 28) and classes >= 10:
        try:
            from ..data import load_digits_arrays
            from ..data.arrays import upsample_digits

            xs, ys = load_digits_arrays()
            xs, ys = xs[:batch] / 16.0, ys[:batch]
            if side == 28:
                xs = upsample_digits(xs * 16.0) / 16.0
            x = tg.tensor(xs.reshape(len(xs), *shape), dtype=tg.float32, device=device)
            return x, tg.tensor(ys, device=device), f"{len(ys)} digits"
        except ImportError:
            pass  # no scikit-learn: random input, said in the title
    x = tg.randn(batch, *shape, device=device)
    y = tg.randint(0, classes, (batch,), device=device)
    return x, y, f"{batch} random inputs"
