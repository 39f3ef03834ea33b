"""Core overhead benchmarks: tiny-op forward+backward and one MLP training step.

Each figure is a ratio against a hand-written NumPy version of the same computation, measured
in the same run with alternating rounds (A B A B ...); the median of the paired ratios is printed,
since these machines drift in speed. PyTorch CPU is measured too when it is installed.

    python benchmarks/bench_core.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

# PyTorch's OpenMP workers otherwise keep spinning after each call and steal a core from
# whoever runs next (set before torch is imported, which happens lazily below).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import tinygrad_digits as tg
from tinygrad_digits.ops.loss import CrossEntropy


def per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


# --- (a) tiny op: (a*b + c).sum() forward and backward -------------------------------------
def tiny_framework() -> Callable[[], object]:
    a, b, c = (tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True) for _ in range(3))

    def step() -> None:
        a.grad = b.grad = c.grad = None
        (a * b + c).sum().backward()

    return step


def tiny_numpy() -> Callable[[], object]:
    a, b, c = (np.array([1.0, 2.0, 3.0, 4.0], np.float32) for _ in range(3))

    def step() -> tuple:
        out = (a * b + c).sum()
        g = np.ones_like(a) * np.float32(1.0)
        return out, g * b, g * a, g.copy()

    return step


def tiny_torch() -> Callable[[], object] | None:
    try:
        import torch
    except ImportError:
        return None
    a, b, c = (torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True) for _ in range(3))

    def step() -> None:
        a.grad = b.grad = c.grad = None
        (a * b + c).sum().backward()

    return step


# --- (b) MLP 784-256-128-10, batch 128, SGD step ---------------------------------------------
SIZES = (784, 256, 128, 10)
BATCH = 128
LR = 0.01


def init_weights(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        out.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        out.append(np.zeros(fan_out, np.float32))
    return out


def batch(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, SIZES[0]), dtype=np.float32), rng.integers(0, 10, BATCH)


def mlp_numpy() -> Callable[[], object]:
    params = init_weights()
    x, y = batch()

    def step() -> float:
        w1, b1, w2, b2, w3, b3 = params
        h1 = x @ w1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2 + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ w3 + b3
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(BATCH), y].mean()
        dz = np.exp(logp)
        dz[np.arange(BATCH), y] -= 1
        dz /= BATCH
        grads = [None] * 6
        grads[4], grads[5] = a2.T @ dz, dz.sum(axis=0)
        da2 = (dz @ w3.T) * (h2 > 0)
        grads[2], grads[3] = a1.T @ da2, da2.sum(axis=0)
        da1 = (da2 @ w2.T) * (h1 > 0)
        grads[0], grads[1] = x.T @ da1, da1.sum(axis=0)
        for p, g in zip(params, grads):
            p -= LR * g
        return float(loss)

    return step


def mlp_nn(device: str = "cpu") -> Callable[[], object]:
    """What a user writes: nn.MLP, optim.SGD and F.cross_entropy."""
    import tinygrad_digits.nn.functional as F
    from tinygrad_digits import nn, optim

    model = nn.MLP(SIZES[0], list(SIZES[1:-1]), SIZES[-1], device=device)
    with tg.no_grad():
        for layer, (w, b) in zip(model.layers, zip(*[iter(init_weights())] * 2)):
            layer.weight.copy_(tg.tensor(w.T.copy(), device=device))
            layer.bias.copy_(tg.tensor(b, device=device))
    opt = optim.SGD(model.parameters(), lr=LR)
    xv, yv = batch()
    x, y = tg.tensor(xv, device=device), tg.tensor(yv, device=device)

    def step() -> float:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def mlp_tensor_ops(device: str = "cpu") -> Callable[[], object]:
    """The same step from raw Tensor ops (matmul, +, relu, the fused cross-entropy)."""
    params = [tg.tensor(p, device=device, requires_grad=True) for p in init_weights()]
    xv, yv = batch()
    x, y = tg.tensor(xv, device=device), tg.tensor(yv, device=device)

    def step() -> float:
        w1, b1, w2, b2, w3, b3 = params
        h = (x @ w1 + b1).relu()
        h = (h @ w2 + b2).relu()
        loss = CrossEntropy.apply(h @ w3 + b3, y, reduction="mean", smoothing=0.0)
        for p in params:
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p in params:
                p.sub_(p.grad * LR)
        return loss.item()

    return step


def mlp_torch() -> Callable[[], object] | None:
    try:
        import torch
    except ImportError:
        return None
    params = [torch.tensor(p, requires_grad=True) for p in init_weights()]
    xv, yv = batch()
    x, y = torch.tensor(xv), torch.tensor(yv)

    def step() -> float:
        w1, b1, w2, b2, w3, b3 = params
        h = torch.relu(x @ w1 + b1)
        h = torch.relu(h @ w2 + b2)
        loss = torch.nn.functional.cross_entropy(h @ w3 + b3, y)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss.item()

    return step


def compare(
    name: str, ours: Callable, reference: Callable, peer: Callable | None, calls: int, rounds: int
) -> None:
    """Alternate the contenders, rotating who goes first each round (PyTorch's worker threads
    keep spinning after it returns and slow whoever runs next)."""
    contenders = {"ours": ours, "numpy": reference}
    if peer:
        contenders["torch"] = peer
    for fn in contenders.values():
        per_call(fn, max(calls // 10, 1))  # warm up
    names = list(contenders)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        for key in names[r % len(names) :] + names[: r % len(names)]:
            times[key].append(per_call(contenders[key], calls))
    ratio = statistics.median(o / n for o, n in zip(times["ours"], times["numpy"]))
    med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
    line = (
        f"{name}: tinygrad_digits {med['ours']:.1f} us, hand NumPy {med['numpy']:.1f} us, "
        f"ratio {ratio:.3f}x (median of {rounds} paired rounds)"
    )
    if peer:
        vs_torch = statistics.median(o / t for o, t in zip(times["ours"], times["torch"]))
        line += f"; PyTorch {med['torch']:.1f} us, ours/torch {vs_torch:.3f}x"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (default 2)")
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        print("threadpoolctl is not installed: BLAS uses its default thread count")
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    compare(
        "tiny op (a*b+c).sum() fwd+bwd",
        tiny_framework(),
        tiny_numpy(),
        tiny_torch(),
        calls=3000,
        rounds=args.rounds,
    )
    compare(
        "MLP 784-256-128-10 step, batch 128 (nn.MLP + SGD)",
        mlp_nn(),
        mlp_numpy(),
        mlp_torch(),
        calls=40,
        rounds=args.rounds,
    )
    compare(
        "the same step from raw Tensor ops",
        mlp_tensor_ops(),
        mlp_numpy(),
        None,
        calls=40,
        rounds=args.rounds,
    )


if __name__ == "__main__":
    main()
