"""`tinygrad-digits gradcheck [MODEL]`: backprop against finite differences on a real batch."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..training.loading import load_data, load_model
from .options import (
    add_cnn_args,
    add_device_arg,
    add_seed_arg,
    cnn_extra,
    hidden_sizes,
    positive_float,
    positive_int,
)
from .train import DEFAULTS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `gradcheck` command to an argparse subparsers object; it sets `func=run`."""
    from ..training.models import ACTIVATIONS, MODELS

    g = subparsers.add_parser(
        "gradcheck",
        help="check backprop against finite differences on a real batch",
        description="Build the default MLP (or a saved one) in float64, take a real batch, and "
        "compare each parameter's backprop gradient with central finite differences along "
        "random directions. Prints the worst relative error per parameter and PASS/FAIL.",
    )
    g.add_argument("model", metavar="MODEL", nargs="?", help="a saved model (default: a new MLP)")
    g.add_argument(
        "--model",
        dest="new_model",
        default="mlp",
        choices=sorted(MODELS),
        help="architecture of the new model checked when no MODEL file is given",
    )
    g.add_argument("--hidden", type=hidden_sizes, default=None, metavar="SIZES")
    add_cnn_args(g)
    g.add_argument("--activation", default=DEFAULTS["activation"], choices=ACTIVATIONS)
    g.add_argument("--batch-size", type=positive_int, default=32)
    g.add_argument("--directions", type=positive_int, default=3, help="per parameter")
    g.add_argument("--tolerance", type=positive_float, default=1e-5, help="max relative error")
    add_seed_arg(g)
    add_device_arg(g, "cpu")
    g.set_defaults(func=run)
    return g


def _directional_errors(
    model: Any, x: Any, y: Any, directions: int, seed: int, eps: float = 1e-6
) -> list[tuple[str, tuple[int, ...], float]]:
    """(name, shape, worst relative error) per parameter: backprop's <grad, u> against the
    central difference (L(p + eps u) - L(p - eps u)) / 2 eps along random unit directions u.

    A direction whose difference disagrees is retried with eps / 10 and eps / 100 and keeps
    its best agreement: a kink (a ReLU at 0, a max-pool window whose top two values are
    within the step) inside the step spoils one eps but not all, while a wrong backward
    disagrees at every eps. CNNs on 28×28 images need this: quantised pixels give near-ties.
    """
    import tinygrad_digits as tg

    from ..autograd.engine import no_grad
    from ..nn import functional as F

    def loss_at(p: Any, value: Any) -> float:
        with no_grad():
            p.copy_(value)
            return F.cross_entropy(model(x), y).item()

    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    rng = np.random.default_rng(seed)
    rows = []
    for name, p in model.named_parameters():
        grad = p.grad.cpu().numpy() if p.grad is not None else np.zeros(p.shape)
        original = p.detach().clone()
        worst = 0.0
        for _ in range(directions):
            u = rng.standard_normal(p.shape)
            u /= np.linalg.norm(u)
            analytic = float(np.sum(grad * u))
            best = float("inf")
            for step_size in (eps, eps / 10, eps / 100):
                step = tg.tensor(u * step_size, dtype=p.dtype, device=p.device)
                plus, minus = loss_at(p, original + step), loss_at(p, original - step)
                numeric = (plus - minus) / (2 * step_size)
                scale = max(abs(numeric), abs(analytic), 1e-7)
                best = min(best, abs(numeric - analytic) / scale)
                if best <= 1e-7:
                    break
            with no_grad():
                p.copy_(original)
            worst = max(worst, best)
        rows.append((name, tuple(p.shape), worst))
    return rows


def run(args: argparse.Namespace) -> int:
    """Print each parameter's worst relative error and PASS/FAIL; 1 on a mismatch."""
    import tinygrad_digits as tg

    from ..nn import functional as F
    from ..nn.utils import functional_call
    from ..training.models import build_model, describe, input_is_flat, make_config

    device = tg.get_device(args.device)
    tg.manual_seed(args.seed)
    if args.model:
        model, config = load_model(args.model, device=device)
        model.double()
        source = args.model
    else:
        config = make_config(
            args.new_model,
            side=8,
            hidden=args.hidden,
            activation=args.activation,
            **cnn_extra(args, args.new_model),
        )
        model = build_model(config, device=device, dtype=tg.float64)
        source = f"a new {args.new_model.upper()}"
    model.eval()
    dataset = config.get("dataset", "digits")
    if dataset == "csv":
        dataset = "digits" if config["side"] == 8 else "mnist"
    _, test_set = load_data(
        dataset,
        flatten=input_is_flat(config),
        data_dir=config.get("data_dir"),
        train=False,
        normalization=config.get("normalization"),
    )
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(test_set), size=min(args.batch_size, len(test_set)), replace=False)
    xs, ys = test_set.__getitems__(np.sort(pick))
    x = tg.tensor(xs.astype(np.float64), device=device)
    y = tg.tensor(ys, device=device)
    sizes = describe(config)
    print(
        f"gradcheck of {source} ({config['model']} {sizes}, {config.get('activation')}) in "
        f"float64 on {len(ys)} {dataset} test images, {args.directions} random directions per "
        f"parameter; tolerance {args.tolerance:g} relative"
    )
    rows = _directional_errors(model, x, y, args.directions, args.seed)
    passed = True
    width = max(len(name) for name, _, _ in rows)
    for (name, shape, worst), p in zip(rows, [p for _, p in model.named_parameters()]):
        w = p.detach().clone().requires_grad_(True)

        def loss(w_: Any, name: str = name) -> Any:
            return F.cross_entropy(functional_call(model, {name: w_}, (x,)), y)

        # The library's own directional check too (small eps: stays clear of ReLU kinks;
        # once more with a smaller one if a kink still falls inside the step).
        ok_fast = any(
            tg.gradcheck(loss, [w], eps=step, fast_mode=True, seed=args.seed, raise_exception=False)
            for step in (1e-7, 1e-8)
        )
        ok = worst <= args.tolerance and ok_fast
        passed &= ok
        shape_text = "×".join(str(s) for s in shape)
        print(
            f"  {name:<{width}}  {shape_text:>8}  worst relative error {worst:.2e}  "
            f"{'ok' if ok else 'MISMATCH'}"
        )
    print("PASS" if passed else "FAIL: backprop disagrees with finite differences")
    return 0 if passed else 1
