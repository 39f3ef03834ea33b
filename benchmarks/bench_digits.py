"""Digits benchmarks: test accuracy on the 8×8 digits and Fashion-MNIST, and the speed of a
Fashion-MNIST training epoch against a hand-written NumPy MLP of the same shape.

    python benchmarks/bench_digits.py [--epochs 10] [--digits-seeds 5] [--no-torch]

1. sklearn digits: the MLP the CLI trains (128-64) and a wider 256-128 one, stratified 80/20
   split with a fixed seed; test accuracy per training seed, mean and minimum (goal >= 98%).
2. Fashion-MNIST, MLP 784-256-128-10, Adam lr 1e-3 with a cosine decay over the epochs,
   cross-entropy with label smoothing 0.1, batch 128: test accuracy after each of
   ``--epochs`` epochs (goal >= 89% within 10), and seconds per epoch of ``train.fit`` against a
   hand-written, fully vectorised NumPy MLP starting from the same weights and seeing the same
   batches. Epochs alternate (framework, NumPy, [PyTorch], framework, NumPy, ...) since these
   machines drift in speed; the figure is the median of the per-epoch paired ratios
   (goal <= 1.10x). The two models do the same arithmetic, so their accuracies agree closely.

Needs the Fashion-MNIST IDX files (../shared/data/fashion-mnist or --data-dir); skips part 2
with a note without them.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygrad_digits as tg  # noqa: E402
from tinygrad_digits import nn, optim  # noqa: E402
from tinygrad_digits.data import (
    DataLoader,
    DatasetNotFoundError,
    Digits,
    FashionMNIST,
    TensorDataset,
    split_dataset,
)
from tinygrad_digits.nn import functional as F  # noqa: E402
from tinygrad_digits.training import evaluate, fit  # noqa: E402

SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 1e-3
SMOOTHING = 0.1
BETAS = (0.9, 0.999)
EPS = 1e-8


# --- 1. digits accuracy ----------------------------------------------------------------------
def digits_accuracy(seed: int, hidden: list[int], epochs: int, val_fraction: float) -> float:
    """Test accuracy of one training run (CE with label smoothing 0.1, Adam 1e-3, batch 32)."""
    tg.manual_seed(seed)
    full, test = Digits(True, flatten=True), Digits(False, flatten=True)
    val_loader = None
    train_set = full
    if val_fraction:
        train_set, val_set = split_dataset(full, val_fraction, seed=seed)
        val_loader = DataLoader(val_set, 1000)
    model = nn.MLP(64, hidden, 10)
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def loss_fn(out: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(out, y, label_smoothing=0.1)

    loader = DataLoader(train_set, 32, shuffle=True, seed=seed)
    fit(model, loader, val_loader, opt, loss_fn, epochs=epochs, progress=False, log=None)
    return evaluate(model, DataLoader(test, 1000)).accuracy


def bench_digits(seeds: int) -> None:
    print("== sklearn 8×8 digits: stratified 80/20 split (split seed 0), 359 test images")
    runs = {
        "CLI default  64-128-64-10, 40 epochs, 10% validation": ([128, 64], 40, 0.1),
        "wide         64-256-128-10, 30 epochs, no validation": ([256, 128], 30, 0.0),
    }
    for name, (hidden, epochs, val) in runs.items():
        start = time.perf_counter()
        accs = [digits_accuracy(s, hidden, epochs, val) for s in range(seeds)]
        per_run = (time.perf_counter() - start) / seeds
        shown = " ".join(f"{a:.2%}" for a in accs)
        print(
            f"{name}: mean {np.mean(accs):.2%}, min {np.min(accs):.2%} over seeds 0-{seeds - 1} "
            f"[{shown}], {per_run:.1f}s per run"
        )


# --- 2. Fashion-MNIST: framework vs hand-written NumPy ---------------------------------------
class NumpyMLP:
    """784-256-128-10 ReLU MLP with softmax cross-entropy and Adam, written out by hand."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        self.params = [w.copy() for w in weights]  # W1 (out, in), b1, W2, b2, W3, b3
        self.m = [np.zeros_like(w) for w in self.params]
        self.v = [np.zeros_like(w) for w in self.params]
        self.t = 0
        self.lr = LR

    def logits(self, x: np.ndarray) -> np.ndarray:
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        return h2 @ w3.T + b3

    def step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        w1, b1, w2, b2, w3, b3 = self.params
        n = len(y)
        rows = np.arange(n)
        h1 = x @ w1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2.T + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ w3.T + b3
        # cross-entropy against the smoothed target q = (1 - s) onehot + s / C
        shifted = z - z.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        c = z.shape[1]
        picked = shifted[rows, y].sum()
        spread = shifted.sum() / c
        nll = np.log(total[:, 0]).sum()
        loss = float(nll - (1 - SMOOTHING) * picked - SMOOTHING * spread) / n
        correct = int((z.argmax(axis=1) == y).sum())
        dz = exp / total
        dz -= SMOOTHING / c
        dz[rows, y] -= 1 - SMOOTHING
        dz /= n
        grads = [None] * 6
        grads[4], grads[5] = dz.T @ a2, dz.sum(axis=0)
        da2 = dz @ w3
        da2 *= h2 > 0
        grads[2], grads[3] = da2.T @ a1, da2.sum(axis=0)
        da1 = da2 @ w2
        da1 *= h1 > 0
        grads[0], grads[1] = da1.T @ x, da1.sum(axis=0)
        self.t += 1
        b1_, b2_ = BETAS
        bc1, bc2 = 1 - b1_**self.t, 1 - b2_**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1_
            m += (1 - b1_) * g
            v *= b2_
            v += (1 - b2_) * (g * g)
            p -= (self.lr / bc1) * m / (np.sqrt(v / bc2) + EPS)
        return loss, correct

    def epoch(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
        order = rng.permutation(len(y))
        loss_sum, correct = 0.0, 0
        for start in range(0, len(y), BATCH):
            idx = order[start : start + BATCH]
            loss, right = self.step(x[idx], y[idx])
            loss_sum += loss * len(idx)
            correct += right
        return loss_sum / len(y), correct / len(y)

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.logits(x).argmax(axis=1) == y))


class TorchMLP:
    """The same model in PyTorch eager (CPU), when torch is installed."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        import torch

        self.torch = torch
        layers = []
        for k in range(3):
            lin = torch.nn.Linear(SIZES[k], SIZES[k + 1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(weights[2 * k]))
                lin.bias.copy_(torch.from_numpy(weights[2 * k + 1]))
            layers += [lin, torch.nn.ReLU()]
        self.model = torch.nn.Sequential(*layers[:-1])
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR, betas=BETAS, eps=EPS)
        self.lr = LR

    def epoch(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        torch = self.torch
        for group in self.opt.param_groups:
            group["lr"] = self.lr
        order = rng.permutation(len(y))
        for start in range(0, len(y), BATCH):
            idx = order[start : start + BATCH]
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
            loss = torch.nn.functional.cross_entropy(self.model(xb), yb, label_smoothing=SMOOTHING)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()


def _warm_up(xs: np.ndarray, ys: np.ndarray, weights: list[np.ndarray], torch: bool) -> None:
    """A few throwaway steps of each contestant, so first-call costs land in no timing."""
    n = 20 * BATCH
    model = nn.MLP(784, [256, 128], 10)
    opt = optim.Adam(model.parameters(), lr=LR)
    subset = TensorDataset(xs[:n], ys[:n])
    fit(model, DataLoader(subset, BATCH, shuffle=True), None, opt, progress=False, log=None)
    NumpyMLP(weights).epoch(xs[:n], ys[:n], np.random.default_rng(0))
    if torch:
        TorchMLP(weights).epoch(xs[:n], ys[:n], np.random.default_rng(0))


def bench_fashion(data_dir: str | None, epochs: int, use_torch: bool) -> None:
    try:
        train = FashionMNIST(data_dir, train=True, flatten=True, progress=False)
        test = FashionMNIST(data_dir, train=False, flatten=True, progress=False)
    except DatasetNotFoundError as exc:
        print(f"== Fashion-MNIST skipped: {str(exc).splitlines()[0]}")
        return
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(
        f"== Fashion-MNIST MLP {'-'.join(map(str, SIZES))}, Adam lr {LR}, batch {BATCH}, "
        f"{epochs} epochs, {os.cpu_count()} CPUs (OMP_NUM_THREADS={threads})"
    )
    tg.manual_seed(0)
    model = nn.MLP(784, [256, 128], 10)
    weights = [p.detach().numpy().copy() for p in model.parameters()]
    opt = optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, epochs)

    def loss_fn(out: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(out, y, label_smoothing=SMOOTHING)

    loader = DataLoader(train, BATCH, shuffle=True, seed=1)
    ref = NumpyMLP(weights)
    ref_rng = np.random.default_rng(1)  # the same batch order as the loader's
    peer = None
    if use_torch:
        try:
            import torch

            torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
            peer = TorchMLP(weights)
        except ImportError:
            pass
    peer_rng = np.random.default_rng(1)
    xs, ys = train.data, train.targets
    test_loader = DataLoader(test, 2000)
    ours_t, ref_t, peer_t = [], [], []
    _warm_up(xs, ys, weights, peer is not None)
    for epoch in range(1, epochs + 1):
        lr = LR * (1 + math.cos(math.pi * (epoch - 1) / epochs)) / 2  # what the scheduler sets
        ref.lr = lr
        if peer is not None:
            peer.lr = lr
        start = time.perf_counter()
        fit(
            model,
            loader,
            None,
            opt,
            loss_fn,
            epochs=1,
            progress=False,
            log=None,
            scheduler=schedule,
        )
        ours_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        ref.epoch(xs, ys, ref_rng)
        ref_t.append(time.perf_counter() - start)
        if peer is not None:
            start = time.perf_counter()
            peer.epoch(xs, ys, peer_rng)
            peer_t.append(time.perf_counter() - start)
        ours_acc = evaluate(model, test_loader).accuracy
        ref_acc = ref.accuracy(test.data, test.targets)
        line = (
            f"epoch {epoch:>2}: test accuracy {ours_acc:.2%} (hand NumPy {ref_acc:.2%}); "
            f"{ours_t[-1]:.2f}s vs NumPy {ref_t[-1]:.2f}s = {ours_t[-1] / ref_t[-1]:.3f}x"
        )
        if peer_t:
            line += f"; PyTorch {peer_t[-1]:.2f}s"
        print(line, flush=True)
    ratio = statistics.median(a / b for a, b in zip(ours_t, ref_t))
    print(
        f"seconds per epoch: tinygrad_digits {statistics.median(ours_t):.3f}, hand NumPy "
        f"{statistics.median(ref_t):.3f} (medians); median paired ratio {ratio:.3f}x "
        f"(goal <= 1.10x)"
    )
    if peer_t:
        peer_ratio = statistics.median(a / b for a, b in zip(ours_t, peer_t))
        print(
            f"PyTorch eager {statistics.median(peer_t):.3f} s/epoch; tinygrad_digits/PyTorch "
            f"median paired ratio {peer_ratio:.3f}x"
        )
    print(f"final test accuracy after {epochs} epochs: {ours_acc:.2%} (goal >= 89%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="Fashion-MNIST epochs (10)")
    parser.add_argument("--digits-seeds", type=int, default=5, help="training seeds (5)")
    parser.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--skip-fashion", action="store_true")
    args = parser.parse_args()
    if not args.skip_digits:
        bench_digits(args.digits_seeds)
    if not args.skip_fashion:
        bench_fashion(args.data_dir, args.epochs, not args.no_torch)


if __name__ == "__main__":
    main()
