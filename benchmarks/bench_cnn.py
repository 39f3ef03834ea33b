"""Fashion-MNIST CNN: test accuracy after each epoch, seconds per epoch, and the time of one
training step against a hand-written NumPy version of the same network (and PyTorch, when
installed), alternating A B A B so machine drift hits all alike.

    python benchmarks/bench_cnn.py [--epochs 5] [--threads 1] [--channels 32,64]
                                   [--limit N] [--steps 30] [--skip-train] [--skip-steps]

The model is `--model cnn` of the CLI (models.CNN): conv3x3-BN-pool-ReLU blocks, dropout,
a 128 dense layer, trained with Adam (cosine decay over the epochs) and label smoothing 0.1 on
all 60,000 training images; the test accuracy is measured on the 10,000 test images after
every epoch. Data: --data-dir, TINYGRAD_DIGITS_DATA, the cache or ../shared/data/fashion-mnist.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout


def _set_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


# --- the same network in hand-written NumPy ---------------------------------------------------
class NumpyCNN:
    """conv3x3 (no bias) -> BN -> 2x2 max pool -> ReLU per block, dropout, Linear-ReLU-dropout-
    Linear, cross-entropy with label smoothing, Adam: forward, backward and update by hand."""

    def __init__(self, np: Any, params: dict[str, Any], dropout: float, lr: float) -> None:
        self.np, self.p, self.dropout, self.lr = np, params, dropout, lr
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0
        self.rng = np.random.default_rng(0)

    def _conv(self, x: Any, w: Any) -> tuple[Any, Any]:
        """3x3 'same' convolution by im2col and one batched matmul; returns the columns too."""
        np = self.np
        n, c, h, wd = x.shape
        xp = np.zeros((n, c, h + 2, wd + 2), x.dtype)
        xp[:, :, 1:-1, 1:-1] = x
        win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
        cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * 9, h * wd)
        out = (w.reshape(w.shape[0], -1) @ cols).reshape(n, w.shape[0], h, wd)
        return out, cols

    def _conv_back(self, g: Any, w: Any, cols: Any, x_shape: Any, need_dx: bool) -> Any:
        """dW = g cols^T; dx = g convolved with the flipped kernel, C_in and C_out swapped."""
        n, c, h, wd = x_shape
        g3 = g.reshape(n, w.shape[0], h * wd)
        gw = (g3 @ cols.transpose(0, 2, 1)).sum(0).reshape(w.shape)
        if not need_dx:
            return gw, None
        w_t = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        return gw, self._conv(g, w_t)[0]

    def _bn(self, x: Any, gamma: Any, beta: Any) -> tuple[Any, Any]:
        np = self.np
        axes, shape = (0, 2, 3), (1, -1, 1, 1)
        centred = x - x.mean(axes, keepdims=True)
        inv = 1 / np.sqrt((centred * centred).mean(axes, keepdims=True) + 1e-5)
        xhat = centred * inv
        return xhat * gamma.reshape(shape) + beta.reshape(shape), (xhat, inv)

    def _bn_back(self, g: Any, gamma: Any, cache: Any) -> tuple[Any, Any, Any]:
        xhat, inv = cache
        axes, shape = (0, 2, 3), (1, -1, 1, 1)
        m = g.size // g.shape[1]
        gb, gg = g.sum(axes), (g * xhat).sum(axes)
        scale = inv * gamma.reshape(shape)
        gx = scale * (g - (gb.reshape(shape) + xhat * gg.reshape(shape)) / m)
        return gx, gg, gb

    def _pool(self, x: Any) -> tuple[Any, Any]:
        n, c, h, w = x.shape
        q = [x[:, :, i::2, j::2] for i in (0, 1) for j in (0, 1)]
        out = self.np.maximum(self.np.maximum(q[0], q[1]), self.np.maximum(q[2], q[3]))
        return out, out

    def _pool_back(self, g: Any, x: Any, out: Any) -> Any:
        np = self.np
        gx = np.zeros_like(x)
        taken = np.zeros(out.shape, bool)
        for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)):
            hit = (x[:, :, i::2, j::2] == out) & ~taken
            taken |= hit
            gx[:, :, i::2, j::2] = g * hit
        return gx

    def _drop(self, x: Any) -> tuple[Any, Any]:
        if not self.dropout:
            return x, None
        keep = (self.rng.random(x.shape, dtype=x.dtype) >= self.dropout) / x.dtype.type(
            1 - self.dropout
        )
        return x * keep, keep

    def step(self, x: Any, y: Any, smoothing: float = 0.1) -> float:
        np, p = self.np, self.p
        acts = []
        h = x
        blocks = sorted({k.split(".")[0] for k in p if k.startswith("conv")})
        for b in blocks:
            z, cols = self._conv(h, p[f"{b}.w"])
            zn, bn_cache = self._bn(z, p[f"{b}.gamma"], p[f"{b}.beta"])
            pooled, pmax = self._pool(zn)
            r = np.maximum(pooled, 0)
            acts.append((h.shape, cols, bn_cache, zn, pmax, pooled > 0))
            h = r
        h, keep0 = self._drop(h)
        n = h.shape[0]
        flat = h.reshape(n, -1)
        a1 = flat @ p["fc1.w"].T + p["fc1.b"]
        r1 = np.maximum(a1, 0)
        d1, keep1 = self._drop(r1)
        logits = d1 @ p["fc2.w"].T + p["fc2.b"]
        shifted = logits - logits.max(1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        k = logits.shape[1]
        target = np.full(logits.shape, smoothing / k, logits.dtype)
        target[np.arange(n), y] += 1 - smoothing
        loss = -(target * logp).sum() / n
        # backward
        g = (np.exp(logp) - target) / n
        grads = {"fc2.w": g.T @ d1, "fc2.b": g.sum(0)}
        g = g @ p["fc2.w"]
        if keep1 is not None:
            g = g * keep1
        g = g * (a1 > 0)
        grads["fc1.w"], grads["fc1.b"] = g.T @ flat, g.sum(0)
        g = (g @ p["fc1.w"]).reshape(h.shape)
        if keep0 is not None:
            g = g * keep0
        for i, b in reversed(list(enumerate(blocks))):
            x_shape, cols, bn_cache, zn, pmax, positive = acts[i]
            g = self._pool_back(g * positive, zn, pmax)
            g, grads[f"{b}.gamma"], grads[f"{b}.beta"] = self._bn_back(g, p[f"{b}.gamma"], bn_cache)
            grads[f"{b}.w"], g = self._conv_back(g, p[f"{b}.w"], cols, x_shape, i > 0)
        self._adam(grads)
        return float(loss)

    def _adam(self, grads: dict[str, Any], b1: float = 0.9, b2: float = 0.999) -> None:
        np = self.np
        self.t += 1
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            self.p[k] -= self.lr * (m / c1) / (np.sqrt(v / c2) + 1e-8)


def numpy_params(model: Any) -> dict[str, Any]:
    """The framework model's parameters as float32 arrays under the reference's names."""
    params: dict[str, Any] = {}
    convs = [m for m in model.features if type(m).__name__ == "Conv2d"]
    norms = [m for m in model.features if type(m).__name__ == "BatchNorm2d"]
    for i, (conv, bn) in enumerate(zip(convs, norms)):
        params[f"conv{i}.w"] = conv.weight.detach().numpy().copy()
        params[f"conv{i}.gamma"] = bn.weight.detach().numpy().copy()
        params[f"conv{i}.beta"] = bn.bias.detach().numpy().copy()
    fc1, fc2 = model.classifier.layers
    for name, layer in (("fc1", fc1), ("fc2", fc2)):
        params[f"{name}.w"] = layer.weight.detach().numpy().copy()
        params[f"{name}.b"] = layer.bias.detach().numpy().copy()
    return params


def torch_model(torch: Any, params: dict[str, Any], dropout: float) -> Any:
    nn = torch.nn
    layers: list[Any] = []
    blocks = sorted({k.split(".")[0] for k in params if k.startswith("conv")})
    for b in blocks:
        w = torch.from_numpy(params[f"{b}.w"].copy())
        conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1, bias=False)
        conv.weight.data.copy_(w)
        layers += [conv, nn.BatchNorm2d(w.shape[0]), nn.MaxPool2d(2), nn.ReLU()]
    fc1 = nn.Linear(*params["fc1.w"].shape[::-1])
    fc2 = nn.Linear(*params["fc2.w"].shape[::-1])
    layers += [nn.Dropout(dropout), nn.Flatten(), fc1, nn.ReLU(), nn.Dropout(dropout), fc2]
    return nn.Sequential(*layers)


# --- the benchmark ---------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--channels", default="32,64")
    parser.add_argument("--hidden", default="128")
    parser.add_argument("--dropout", type=float, default=0.25)
    parser.add_argument("--no-batch-norm", action="store_true")
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--no-cosine", action="store_true", help="constant learning rate")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--limit", type=int, default=None, help="use the first N training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per implementation")
    parser.add_argument("--skip-train", action="store_true", help="only the step comparison")
    parser.add_argument("--skip-steps", action="store_true", help="only the training run")
    args = parser.parse_args()
    _set_threads(args.threads)

    import numpy as np

    import tinygrad_digits as tg
    from tinygrad_digits import optim
    from tinygrad_digits.data import DataLoader, FashionMNIST
    from tinygrad_digits.nn import functional as F
    from tinygrad_digits.training import evaluate
    from tinygrad_digits.training.models import build_model, describe, make_config, parse_hidden

    train = FashionMNIST(args.data_dir, train=True)
    test = FashionMNIST(args.data_dir, train=False)
    config = make_config(
        "cnn",
        side=28,
        channels=parse_hidden(args.channels),
        hidden=parse_hidden(args.hidden),
        dropout=args.dropout,
        batch_norm=not args.no_batch_norm,
    )
    tg.manual_seed(args.seed)
    model = build_model(config)
    n_params = sum(p.numel() for p in model.parameters())
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    print(
        f"Fashion-MNIST CNN {describe(config)} ({n_params:,} parameters), batch "
        f"{args.batch_size}, Adam lr {args.lr:g}{'' if args.no_cosine else ' cosine'}, "
        f"{args.threads} thread(s){', ' + str(malloc) if malloc else ''}"
    )
    if not args.skip_train:
        data = train if args.limit is None else _first(train, args.limit)
        loader = DataLoader(data, args.batch_size, shuffle=True, seed=args.seed)
        test_loader = DataLoader(test, 1000)
        opt = optim.Adam(model.parameters(), lr=args.lr)
        steps = args.epochs * len(loader)
        schedule = None
        if not args.no_cosine:
            schedule = optim.lr_scheduler.LambdaLR(
                opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))
            )
        smoothing = args.label_smoothing
        seconds = []
        for epoch in range(1, args.epochs + 1):
            model.train()
            start = time.perf_counter()
            total = 0.0
            for x, y in loader:
                loss = F.cross_entropy(model(x), y, label_smoothing=smoothing)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if schedule is not None:
                    schedule.step()
                total += float(loss.data)
            seconds.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = evaluate(model, test_loader)
            print(
                f"epoch {epoch}/{args.epochs}  train loss {total / len(loader):.4f}  test "
                f"accuracy {result.accuracy:.2%}  {seconds[-1]:.1f} s/epoch (+ "
                f"{time.perf_counter() - start:.1f} s test)",
                flush=True,
            )
        print(
            f"median {statistics.median(seconds):.1f} s/epoch over {len(data)} images "
            f"({1e3 * statistics.median(seconds) / len(loader):.1f} ms/step)"
        )
    if not args.skip_steps and not args.no_batch_norm:
        compare_steps(args, model, train, np)
    return 0


def _first(dataset: Any, n: int) -> Any:
    from tinygrad_digits.data import Subset

    return Subset(dataset, list(range(min(n, len(dataset)))))


def compare_steps(args: argparse.Namespace, model: Any, data: Any, np: Any) -> None:
    """Time training steps of the framework, hand NumPy and PyTorch, alternating."""
    import tinygrad_digits as tg
    from tinygrad_digits import optim
    from tinygrad_digits.nn import functional as F

    b = args.batch_size
    xs, ys = data.__getitems__(np.arange(8 * b))
    model.train()
    opt = optim.Adam(model.parameters(), lr=1e-4)
    ref = NumpyCNN(np, numpy_params(model), args.dropout, 1e-4)

    def ours(i: int) -> None:
        x, y = tg.tensor(xs[i * b : (i + 1) * b]), tg.tensor(ys[i * b : (i + 1) * b])
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def numpy(i: int) -> None:
        ref.step(xs[i * b : (i + 1) * b], ys[i * b : (i + 1) * b])

    runners = {"tinygrad_digits": ours, "hand NumPy": numpy}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(args.threads)
        net = torch_model(torch, numpy_params(model), args.dropout)
        topt = torch.optim.Adam(net.parameters(), lr=1e-4)
        tx, ty = torch.from_numpy(xs), torch.from_numpy(ys)

        def pytorch(i: int) -> None:
            loss = torch.nn.functional.cross_entropy(
                net(tx[i * b : (i + 1) * b]), ty[i * b : (i + 1) * b], label_smoothing=0.1
            )
            topt.zero_grad()
            loss.backward()
            topt.step()

        runners["PyTorch"] = pytorch
    times: dict[str, list[float]] = {k: [] for k in runners}
    names = list(runners)
    for rep in range(args.steps + 3):
        # Rotate the order: whoever runs right after PyTorch shares the cores with its
        # spinning worker threads for a while, so each contender must take that turn equally.
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            start = time.perf_counter()
            runners[name](rep % 8)
            if rep >= 3:  # warm-up
                times[name].append(time.perf_counter() - start)
    base = times["hand NumPy"]
    print(f"one training step, batch {b}, {args.threads} thread(s), median of {args.steps}:")
    for name, ts in times.items():
        ratio = statistics.median(t / r for t, r in zip(ts, base))
        print(
            f"  {name:<16} {1e3 * statistics.median(ts):6.1f} ms/step  "
            f"{ratio:5.2f}x hand NumPy (median of paired ratios)"
        )


if __name__ == "__main__":
    sys.exit(main())
