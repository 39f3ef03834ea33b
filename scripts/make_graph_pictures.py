"""Make the pictures in docs/graphs.md: an MLP's forward and backward views, a folded 10-layer
MLP, and the gradient-health picture of a network with a dead layer and one with NaNs.

    python scripts/make_graph_pictures.py            # SVG into docs/images/
    python scripts/make_graph_pictures.py --png      # PNG too (to look at them locally)

Needs Graphviz's `dot`; without it the .dot files are written and the script says how to
install Graphviz. Seeded, so the pictures only change when the code does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import tinygrad_digits as tg  # noqa: E402
from tinygrad_digits import nn, viz  # noqa: E402


def digits_batch(n: int) -> tuple[tg.Tensor, tg.Tensor, str]:
    try:
        from tinygrad_digits.data import load_digits_arrays

        xs, ys = load_digits_arrays()
        return tg.tensor(xs[:n] / 16.0, dtype=tg.float32), tg.tensor(ys[:n]), "digits"
    except ImportError:  # no scikit-learn: the same shapes from noise
        rng = np.random.default_rng(0)
        x = rng.random((n, 64), dtype=np.float32)
        return tg.tensor(x), tg.tensor(rng.integers(0, 10, n)), "random input"


def pictures() -> dict[str, tuple[viz.Graph, dict]]:
    out: dict[str, tuple[viz.Graph, dict]] = {}
    x, y, source = digits_batch(32)

    tg.manual_seed(0)
    mlp = nn.MLP(64, [32, 16], 10)
    out["mlp_forward"] = (
        viz.as_graph(mlp, x, target=y, backward=False),
        {"title": f"MLP 64-32-16-10, forward, on a batch of 32 {source}"},
    )
    tg.manual_seed(0)
    mlp = nn.MLP(64, [32, 16], 10)
    out["mlp_backward"] = (
        viz.as_graph(mlp, x, target=y),
        {"view": "backward", "title": "the same MLP, backward view: gradient functions and saves"},
    )
    tg.manual_seed(0)
    deep = nn.MLP(64, [32] * 9, 10)
    out["mlp_collapsed"] = (
        viz.as_graph(deep, x, target=y),
        {"depth": 1, "title": "10-layer MLP, each module folded (depth=1), after backward"},
    )
    tg.manual_seed(0)
    sick = nn.MLP(64, [32, 32, 32], 10)
    with tg.no_grad():
        sick.layers[1].bias.fill_(-50.0)  # every unit of the second ReLU is off: a dead layer
    out["gradient_health"] = (
        viz.as_graph(sick, x, target=y),
        {"title": "gradient health: layers.1's bias is -50, so its ReLU is dead"},
    )

    w = tg.tensor([[0.5, -1.0], [1.5, 0.25]], requires_grad=True)
    b = tg.tensor([0.1, 0.5], requires_grad=True)
    xin = tg.tensor([[1.0, 2.0], [0.5, -1.0]])
    with viz.trace(params={"w": w, "b": b}, inputs={"x": xin}) as g, np.errstate(all="ignore"):
        # one entry of x @ w + b is exactly 0: sqrt'(0) = inf meets abs'(0) = 0, and inf * 0 = NaN
        loss = (xin @ w + b).abs().sqrt().sum()
        loss.backward()
    out["nan_gradient"] = (g, {"title": "a NaN gradient: sqrt'(0) = inf times abs'(0) = 0"})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--png", action="store_true", help="write PNG copies too")
    args = parser.parse_args(argv)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (graph, options) in pictures().items():
        for fmt in ("svg", "png") if args.png else ("svg",):
            try:
                path = viz.save(graph, folder / f"{name}.{fmt}", **options)
            except viz.GraphvizNotFoundError as exc:
                print(exc, file=sys.stderr)
                return 1
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        if name == "gradient_health":
            print(viz.health_report(graph))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
