"""Learn the OR, AND and XOR gates with a tiny network: the first thing people try.

One MLP with two inputs, a hidden layer of 8 tanh units and three outputs (one logit per gate)
is trained with BCEWithLogitsLoss and Adam on the four input pairs. XOR is the interesting one:
it is not linearly separable, so it needs the hidden layer.

    python examples/logic_gates.py [--device cpu|strict|cuda] [--steps 1500]

Prints a truth table of targets and predictions and exits with status 1 if any prediction is
more than 0.05 away from its target.
"""

from __future__ import annotations

import argparse
import sys
import time

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.training import fit

GATES = ("OR", "AND", "XOR")
INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TARGETS = [[a or b, a and b, a != b] for a, b in ((int(x), int(y)) for x, y in INPUTS)]
TOLERANCE = 0.05


def train(device: str, steps: int) -> tuple[list[list[float]], float]:
    """Train on the four pairs; returns the predicted probabilities and the final loss."""
    tg.manual_seed(0)
    x = tg.tensor(INPUTS, device=device)
    y = tg.tensor([[float(v) for v in row] for row in TARGETS], device=device)
    model = nn.MLP(2, [8], len(GATES), activation="tanh").to(device)
    loss_fn = nn.BCEWithLogitsLoss()
    opt = optim.Adam(model.parameters(), lr=0.05)
    # One batch (all four pairs) per epoch, so an epoch is one step; no accuracy for 3 outputs.
    history = fit(
        model, [(x, y)], None, opt, loss_fn, epochs=steps, progress=False, log=None, metric=None
    )
    model.eval()
    with tg.no_grad():
        probs = model(x).sigmoid().tolist()
    return probs, history.train_loss[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Learn OR, AND and XOR with a tiny MLP.")
    parser.add_argument("--device", default="cpu", help="cpu, strict or cuda (default cpu)")
    parser.add_argument("--steps", type=int, default=1500, help="Adam steps (default 1500)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    probs, loss = train(args.device, args.steps)
    seconds = time.perf_counter() - start

    header = " a  b | " + " | ".join(f"{g:>3} target  pred" for g in GATES)
    print(header)
    print("-" * len(header))
    worst = 0.0
    for (a, b), target, pred in zip(INPUTS, TARGETS, probs):
        cells = []
        for t, p in zip(target, pred):
            worst = max(worst, abs(p - t))
            cells.append(f"    {int(t)}     {p:.3f}")
        print(f" {int(a)}  {int(b)} | " + " | ".join(cells))
    print(f"\nfinal loss {loss:.4f}, largest error {worst:.4f}, {seconds:.2f} s on {args.device}")
    if worst > TOLERANCE:
        print(
            f"NOT LEARNED: a prediction is more than {TOLERANCE} from its target", file=sys.stderr
        )
        return 1
    print(f"learned: every prediction is within {TOLERANCE} of its target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
