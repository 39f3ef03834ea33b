"""conv2d (and max_pool2d) forward + backward: tinygrad_digits against hand-written NumPy.

Both run in the same process on the same data, alternating (A B A B ...) so machine drift hits
both alike; the figure is the median of the paired time ratios (framework / reference). The
unfused composite (Im2Col -> matmul -> reshape -> + bias as separate graph nodes) is timed
alongside, to show what the fused Conv2d node buys.

    python benchmarks/bench_conv.py [--repeats 15] [--threads 2] [--float64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout


def _set_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


# --- hand-written NumPy references -------------------------------------------------------------
def reference_conv(np, x, w, b, g, pad, need_dx):
    """Forward and backward of a stride-1 conv with loss sum(out * g); returns out and grads."""
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    oh, ow = xpad.shape[2] - kh + 1, xpad.shape[3] - kw + 1
    windows = np.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))
    cols = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)
    w2 = w.reshape(co, -1)
    out = w2 @ cols
    out += b[:, None]
    out = out.reshape(n, co, oh, ow)
    g3 = g.reshape(n, co, oh * ow)
    gb = g3.sum(axis=(0, 2))
    gw = (g3 @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    gx = None
    if need_dx:
        gcols = (w2.T @ g3).reshape(n, c, kh, kw, oh, ow)
        gpad = np.zeros_like(xpad)
        for i in range(kh):
            for j in range(kw):
                gpad[:, :, i : i + oh, j : j + ow] += gcols[:, :, i, j]
        gx = gpad[:, :, pad : pad + h, pad : pad + wd] if pad else gpad
    return out, gw, gb, gx


def reference_max_pool(np, x, g):
    """2x2 stride-2 max pool and its backward from the four strided quarter views (no ties)."""
    quarters = [(i, j, x[:, :, i::2, j::2]) for i in (0, 1) for j in (0, 1)]
    out = np.maximum(
        np.maximum(quarters[0][2], quarters[1][2]), np.maximum(quarters[2][2], quarters[3][2])
    )
    gx = np.empty_like(x)
    for i, j, view in quarters:
        gx[:, :, i::2, j::2] = g * (view == out)
    return out, gx


def reference_batch_norm(np, x, w, b, g, eps=1e-5):
    """Training-mode batch norm over (N, H, W) and its closed-form backward."""
    axes, shape = (0, 2, 3), (1, -1, 1, 1)
    centred = x - x.mean(axes, keepdims=True)
    inv = 1 / np.sqrt((centred * centred).mean(axes, keepdims=True) + eps)
    xhat = centred * inv
    out = xhat * w.reshape(shape) + b.reshape(shape)
    gb, gw = g.sum(axes), (g * xhat).sum(axes)
    gxhat = g * w.reshape(shape)
    spread = (gxhat * xhat).mean(axes, keepdims=True)
    gx = inv * (gxhat - gxhat.mean(axes, keepdims=True) - xhat * spread)
    return out, gx, gw, gb


def composite_batch_norm(x, w, b, eps=1e-5):
    """The same batch norm as separate Tensor ops (mean, var, rsqrt, ...)."""
    dims, shape = (0, 2, 3), (1, -1, 1, 1)
    centred = x - x.mean(dim=dims, keepdim=True)
    var = (centred * centred).mean(dim=dims, keepdim=True)
    return centred * ((var + eps).rsqrt() * w.reshape(shape)) + b.reshape(shape)


def composite_conv2d(x, w, b, padding):
    """The same conv as separate Tensor ops: Im2Col -> matmul -> reshape -> + bias."""
    from tinygrad_digits.backend.conv_kernels import Window
    from tinygrad_digits.ops.conv import Im2Col

    n, _, h, wd = x.shape
    co, _, kh, kw = w.shape
    win = Window((kh, kw), (1, 1), (1, 1), (padding,) * 4)
    cols = Im2Col.apply(x, win=win)
    out = (w.reshape((co, -1)) @ cols).reshape((n, co, *win.out_size(h, wd)))
    return out + b.reshape((1, co, 1, 1))


# --- timing ------------------------------------------------------------------------------------
def paired(name: str, reference: Callable, contenders: dict[str, Callable], repeats: int) -> float:
    """Alternate reference and contenders; print medians and median paired ratios."""

    def timed(fn: Callable) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    for _ in range(2):  # warm up caches and BLAS threads
        timed(reference)
        for fn in contenders.values():
            timed(fn)
    refs: list[float] = []
    ratios: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeats):
        r = timed(reference)
        refs.append(r)
        for key, fn in contenders.items():
            ratios[key].append(timed(fn) / r)
    medians = {k: statistics.median(v) for k, v in ratios.items()}
    first = next(iter(medians))
    others = "".join(f"   ({k} {v:.3f}x)" for k, v in medians.items() if k != first)
    print(
        f"{name:<40} reference {statistics.median(refs) * 1e3:7.2f} ms   "
        f"{first} median paired ratio {medians[first]:.3f}x{others}"
    )
    return medians[first]


def _check(name: str, np, pairs, dtype) -> None:
    tol = 1e-3 if dtype == np.float32 else 1e-9
    for what, want, got in pairs:
        if want is None:
            continue
        if got.dtype != dtype:
            raise SystemExit(f"{name}: {what} is {got.dtype}, expected {dtype}")
        have = got.detach().numpy()
        err = float(np.max(np.abs(want - have)) / (np.max(np.abs(want)) + 1e-12))
        if err > tol:
            raise SystemExit(f"{name}: {what} differs from the reference (rel. error {err:.2e})")


def conv_case(name, batch, c_in, c_out, size, need_dx, repeats, dtype_name) -> float:
    import numpy as np

    import tinygrad_digits as tg
    from tinygrad_digits.nn.functional_conv import conv2d

    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype_name)
    x = rng.standard_normal((batch, c_in, size, size)).astype(dtype)
    w = (rng.standard_normal((c_out, c_in, 3, 3)) * 0.1).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    g = rng.standard_normal((batch, c_out, size, size)).astype(dtype)
    tx = tg.tensor(x, requires_grad=need_dx)
    tw = tg.tensor(w, requires_grad=True)
    tb = tg.tensor(b, requires_grad=True)
    tgrad = tg.tensor(g)

    def step(fn: Callable) -> tuple:
        tw.grad = tb.grad = tx.grad = None
        out = fn(tx, tw, tb, padding=1)
        out.backward(tgrad)
        return out, tw.grad, tb.grad, tx.grad

    want = reference_conv(np, x, w, b, g, 1, need_dx)
    for fn in (conv2d, composite_conv2d):
        got = step(fn)
        _check(name, np, zip(("out", "grad w", "grad b", "grad x"), want, got), dtype)
    return paired(
        name,
        lambda: reference_conv(np, x, w, b, g, 1, need_dx),
        {"conv2d": lambda: step(conv2d), "unfused composite": lambda: step(composite_conv2d)},
        repeats,
    )


def pool_case(name, batch, channels, size, repeats, dtype_name) -> float:
    import numpy as np

    import tinygrad_digits as tg
    from tinygrad_digits.nn.functional_conv import max_pool2d

    rng = np.random.default_rng(1)
    dtype = np.dtype(dtype_name)
    x = rng.permutation(batch * channels * size * size).astype(dtype)
    x = x.reshape(batch, channels, size, size)
    g = rng.standard_normal((batch, channels, size // 2, size // 2)).astype(dtype)
    tx, tgrad = tg.tensor(x, requires_grad=True), tg.tensor(g)

    def step() -> tuple:
        tx.grad = None
        out = max_pool2d(tx, 2)
        out.backward(tgrad)
        return out, tx.grad

    _check(name, np, zip(("out", "grad x"), reference_max_pool(np, x, g), step()), dtype)
    return paired(name, lambda: reference_max_pool(np, x, g), {"max_pool2d": step}, repeats)


def batch_norm_case(name, batch, channels, size, repeats, dtype_name) -> float:
    import numpy as np

    import tinygrad_digits as tg
    from tinygrad_digits.nn.functional_conv import batch_norm

    rng = np.random.default_rng(2)
    dtype = np.dtype(dtype_name)
    x = rng.standard_normal((batch, channels, size, size)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    w = rng.standard_normal(channels).astype(dtype)
    b = rng.standard_normal(channels).astype(dtype)
    tx, tgrad = tg.tensor(x, requires_grad=True), tg.tensor(g)
    tw, tb = tg.tensor(w, requires_grad=True), tg.tensor(b, requires_grad=True)
    running_mean, running_var = tg.zeros(channels, dtype=dtype), tg.ones(channels, dtype=dtype)

    def fused(x, w, b):
        return batch_norm(x, running_mean, running_var, w, b, training=True)

    def step(fn: Callable) -> tuple:
        tx.grad = tw.grad = tb.grad = None
        out = fn(tx, tw, tb)
        out.backward(tgrad)
        return out, tx.grad, tw.grad, tb.grad

    want = reference_batch_norm(np, x, w, b, g)
    for fn in (fused, composite_batch_norm):
        _check(name, np, zip(("out", "grad x", "grad w", "grad b"), want, step(fn)), dtype)
    return paired(
        name,
        lambda: reference_batch_norm(np, x, w, b, g),
        {"batch_norm": lambda: step(fused), "composite": lambda: step(composite_batch_norm)},
        repeats,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--float64", action="store_true", help="time float64 instead of float32")
    args = parser.parse_args()
    _set_threads(args.threads)
    dtype = "float64" if args.float64 else "float32"
    print(f"forward + backward, {dtype}, {args.threads} BLAS thread(s), {args.repeats} pairs")
    ratios = [
        conv_case(
            "conv 3x3 p1, b64, 1->32 on 28x28 (no dx)", 64, 1, 32, 28, False, args.repeats, dtype
        ),
        conv_case("conv 3x3 p1, b64, 32->64 on 14x14", 64, 32, 64, 14, True, args.repeats, dtype),
        conv_case("conv 3x3 p1, b64, 32->32 on 28x28", 64, 32, 32, 28, True, args.repeats, dtype),
    ]
    print(f"conv2d: worst median ratio {max(ratios):.3f}x (goal <= 1.15x)")
    pool_case("max_pool 2x2, b64, 32 ch on 28x28", 64, 32, 28, args.repeats, dtype)
    batch_norm_case("batch_norm train, b64, 32 ch on 28x28", 64, 32, 28, args.repeats, dtype)


if __name__ == "__main__":
    main()
