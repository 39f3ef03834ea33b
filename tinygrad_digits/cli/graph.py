"""`tinygrad-digits graph`: build (or load) an MLP, run one batch, and draw its graph.

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
from .options import add_device_arg, add_seed_arg, hidden_sizes, non_negative_int, positive_int

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
        help="a model saved by `train` (model file or --out folder) or a .npz state dict; "
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

    from ..viz import save
    from ..viz.draw import GraphvizNotFoundError, as_graph
    from ..viz.health import health_report

    tg.manual_seed(args.seed)
    device = tg.get_device(args.device) if args.device else tg.get_default_device()
    try:
        model = _model(args, device)
    except (OSError, ValueError, KeyError) as exc:
        print(f"tinygrad-digits graph: {exc}", file=sys.stderr)
        return 2
    x, y, source = _batch(model.in_features, model.out_features, args.batch, args.data, device)
    with_loss = args.grads or args.backward
    graph = as_graph(model, x, target=y if with_loss else None, backward=bool(args.grads))
    sizes = " -> ".join(str(layer.out_features) for layer in model.layers)
    title = args.title or f"MLP {model.in_features} -> {sizes} on {source}"
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


def _model(args: argparse.Namespace, device: Any) -> Any:
    from .. import nn

    if args.model:
        return load_mlp(args.model, args.activation, device)
    return nn.MLP(64, args.hidden, 10, activation=args.activation, device=device)


def load_mlp(path: str | Path, activation: str = "relu", device: Any = None) -> Any:
    """An MLP rebuilt from a .npz state dict ('layers.0.weight', ...): the sizes come from the
    weight shapes; a 'config' entry (JSON: hidden, activation) is used when present."""
    from .. import nn

    path = Path(path)
    if not path.exists():
        raise OSError(f"no saved model at {path}")
    if path.suffix != ".npz":
        return _load_trained(path, device)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    config = {}
    if "config" in arrays:
        config = json.loads(str(arrays.pop("config")))
    weights = sorted(
        (int(k.split(".")[1]), v.shape)
        for k, v in arrays.items()
        if k.startswith("layers.") and k.endswith(".weight")
    )
    if not weights:
        raise KeyError(
            f"{path} holds no 'layers.N.weight' arrays, so it is not an nn.MLP state dict "
            f"(it has: {', '.join(sorted(arrays)[:8])})"
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
    return model


def _load_trained(path: Path, device: Any) -> Any:
    """An MLP saved by `tinygrad-digits train` (its model file or --out folder)."""
    from .. import nn
    from ..serialization import ModelFileError
    from ..training.loading import load_model

    try:
        model, config = load_model(str(path), device=device)
    except (OSError, ModelFileError) as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(model, nn.MLP):
        raise ValueError(
            f"{path} holds a {config.get('model', type(model).__name__)} model; `graph` draws "
            "MLPs (draw other models from Python with tinygrad_digits.viz.draw(model, x))"
        )
    return model


def _batch(n_in: int, n_out: int, batch: int, data: str, device: Any) -> tuple[Any, Any, str]:
    import tinygrad_digits as tg

    if data == "digits" and n_in == 64 and n_out >= 10:
        try:
            from ..data import load_digits_arrays

            xs, ys = load_digits_arrays()
            x = tg.tensor(xs[:batch] / 16.0, dtype=tg.float32, device=device)
            return x, tg.tensor(ys[:batch], device=device), f"{min(batch, len(xs))} digits"
        except ImportError:
            pass  # no scikit-learn: random input, said in the title
    x = tg.randn(batch, n_in, device=device)
    y = tg.randint(0, n_out, (batch,), device=device)
    return x, y, f"{batch} random inputs"
