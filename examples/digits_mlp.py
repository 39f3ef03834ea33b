"""The classic first-network trap on the 8×8 digits, and its fix.

    python examples/digits_mlp.py [--epochs 30] [--device cpu|strict|cuda]

(The trap gets three times the epochs, to show that waiting does not help.)

1. The trap: a 64-4-4-10 network of sigmoids, sigmoid outputs scored with mean squared error
   against one-hot targets, plain SGD. It "trains" (the loss falls from 0.25 to 0.09) and
   learns nothing: the cheapest way to lower the MSE is to answer 0.1 for every class on every
   image, and sigmoid units squeezed through a 4-unit bottleneck pass back gradients too small
   to find anything better. Accuracy stays at chance.
2. Half a fix: the same tiny network with cross-entropy and Adam. The loss now punishes a wrong
   answer in proportion to how confident it was, so the gradient no longer vanishes near 0.1.
3. The fix: a wider ReLU network (64-128-64-10), cross-entropy (with label smoothing 0.1) and
   Adam: ≥ 97% test accuracy in about a second.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, Digits
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training import evaluate, fit


def mse_on_sigmoid(logits: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
    """The trap's loss: squash the outputs with a sigmoid, compare with one-hot targets."""
    return F.mse_loss(logits.sigmoid(), F.one_hot(labels, 10).float())


def smoothed_cross_entropy(logits: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
    return F.cross_entropy(logits, labels, label_smoothing=0.1)


def train_and_test(
    title: str,
    model: nn.Module,
    optimizer: optim.Optimizer,
    loss_fn,
    epochs: int,
    device: str,
    squash: bool = False,
) -> float:
    train, test = Digits(True, flatten=True), Digits(False, flatten=True)
    loader = DataLoader(train, 32, shuffle=True, seed=0, device=device)
    start = time.perf_counter()
    history = fit(model, loader, None, optimizer, loss_fn, epochs, device, progress=False, log=None)
    seconds = time.perf_counter() - start
    accuracy = evaluate(model, DataLoader(test, 1000, device=device), loss_fn).accuracy
    with tg.no_grad():
        out = model(tg.tensor(test.data, device=device))
        out = out.sigmoid() if squash else out.softmax(1)
        outputs = out.cpu().numpy()
    losses = history.train_loss[:: max(1, epochs // 6)]
    print(f"\n{title}")
    print(f"  training loss every few epochs: {' '.join(f'{v:.3f}' for v in losses)}")
    print(f"  test accuracy {accuracy:.1%} after {epochs} epochs ({seconds:.1f}s)")
    if squash:
        mean = np.array2string(outputs.mean(axis=0), precision=2)
        print(f"  average output per class over the test images: {mean}")
        print(
            f"  how much each output varies from image to image: {outputs.std(axis=0).mean():.4f}"
        )
    else:
        print(f"  average confidence (top probability): {outputs.max(axis=1).mean():.1%}")
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    tg.manual_seed(0)
    trap = nn.MLP(64, [4, 4], 10, activation="sigmoid", device=args.device)
    trap_acc = train_and_test(
        "1. TRAP: 64-4-4-10 sigmoid, MSE on sigmoid outputs, SGD lr 0.1",
        trap,
        optim.SGD(trap.parameters(), lr=0.1),
        mse_on_sigmoid,
        3 * args.epochs,
        args.device,
        squash=True,
    )
    print("  -> every output sits near the same value (~0.1) for every image: the network")
    print("     has learnt the average target, not the digits.")

    tg.manual_seed(0)
    half = nn.MLP(64, [4, 4], 10, activation="sigmoid", device=args.device)
    half_acc = train_and_test(
        "2. HALF FIX: the same 64-4-4-10 sigmoid network, cross-entropy, Adam lr 1e-2",
        half,
        optim.Adam(half.parameters(), lr=1e-2),
        F.cross_entropy,
        args.epochs,
        args.device,
    )

    tg.manual_seed(0)
    good = nn.MLP(64, [128, 64], 10, activation="relu", device=args.device)
    good_acc = train_and_test(
        "3. FIX: 64-128-64-10 ReLU, cross-entropy (label smoothing 0.1), Adam lr 1e-3",
        good,
        optim.Adam(good.parameters(), lr=1e-3),
        smoothed_cross_entropy,
        args.epochs,
        args.device,
    )

    print("\nsummary (359 test images, chance is 10%):")
    print(f"  trap      {trap_acc:6.1%}")
    print(f"  half fix  {half_acc:6.1%}")
    print(f"  fix       {good_acc:6.1%}  {'(>= 97%: fixed)' if good_acc >= 0.97 else ''}")


if __name__ == "__main__":
    main()
