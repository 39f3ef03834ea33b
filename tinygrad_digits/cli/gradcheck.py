"""`tinygrad-digits gradcheck [MODEL]`: backprop against finite differences on a real batch,
measured by the library's checker (autograd.gradcheck.directional_errors)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..training.loading import load_data, load_model
from .options import (
    add_cnn_args,
    add_device_arg,
    add_model_def_arg,
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
    add_model_def_arg(g)
    g.set_defaults(func=run)
    return g


def _custom_batch(config: dict[str, Any], size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardised 8×8 digits (enlarged for a 28×28 model) shaped as a custom model takes them."""
    from ..data import load_digits_arrays, normalize
    from ..data.arrays import upsample_digits
    from ..training.models import input_is_flat

    x, y = load_digits_arrays()
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(y), size=min(size, len(y)), replace=False))
    x, y = x[pick], y[pick]
    if config["side"] == 28:
        x = upsample_digits(x)
    x = normalize(x, max_value=16)[0]
    side = config["side"]
    return (x if input_is_flat(config) else x.reshape(len(x), 1, side, side)), y


def run(args: argparse.Namespace) -> int:
    """Print each parameter's worst relative error and PASS/FAIL; 1 on a mismatch."""
    import tinygrad_digits as tg

    from ..autograd.gradcheck import directional_errors
    from ..nn import functional as F
    from ..nn.utils import functional_call
    from ..training.models import build_model, describe, input_is_flat, make_config

    device = tg.get_device(args.device)
    tg.manual_seed(args.seed)
    if args.model or args.model_def:
        model, config = load_model(args.model, device=device, model_def=args.model_def)
        model.double()
        source = args.model_def or args.model
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
    if config["model"] == "custom" and "dataset" not in config:
        dataset = "digits" + (" enlarged to 28×28" if config["side"] == 28 else "")
        xs, ys = _custom_batch(config, args.batch_size, args.seed)
    else:
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
    params = list(model.named_parameters())
    width = max(len(name) for name, _ in params)
    passed = True
    for name, p in params:
        w = p.detach().clone().requires_grad_(True)

        def loss(w_: Any, name: str = name) -> Any:
            return F.cross_entropy(functional_call(model, {name: w_}, (x,)), y)

        (worst,) = directional_errors(loss, [w], directions=args.directions, seed=args.seed)
        ok = worst <= args.tolerance
        passed &= ok
        shape_text = "×".join(str(s) for s in p.shape)
        print(
            f"  {name:<{width}}  {shape_text:>8}  worst relative error {worst:.2e}  "
            f"{'ok' if ok else 'MISMATCH'}"
        )
    print("PASS" if passed else "FAIL: backprop disagrees with finite differences")
    return 0 if passed else 1
