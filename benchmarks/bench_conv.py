"""conv2d forward + backward: tinygrad_digits against a hand-written NumPy im2col reference.

Both run in the same process on the same data, alternating (A B A B ...) so machine drift hits
both alike; the figure is the median of the paired time ratios (framework / reference).

    python benchmarks/bench_conv.py [--repeats 15] [--threads 2] [--float64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout


def _set_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


# --- the hand-written NumPy reference --------------------------------------------------------
def reference_step(np, x, w, b, g, pad, need_dx):
    """One forward and backward of a stride-1 conv with loss sum(out * g); returns the grads."""
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
    # backward of sum(out * g)
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


def framework_step(tg, conv2d, x, w, b, g, pad):
    w.grad = b.grad = x.grad = None
    out = conv2d(x, w, b, padding=pad)
    out.backward(g)
    return out, w.grad, b.grad, x.grad


def run_case(name, batch, c_in, c_out, size, need_dx, repeats, dtype_name):
    import numpy as np

    import tinygrad_digits as tg
    from tinygrad_digits.conv import conv2d

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

    ref = reference_step(np, x, w, b, g, 1, need_dx)
    got = framework_step(tg, conv2d, tx, tw, tb, tgrad, 1)
    tol = 1e-3 if dtype == np.float32 else 1e-9
    for r, t, what in zip(ref, got, ("out", "grad w", "grad b", "grad x")):
        if r is None:
            continue
        if t.dtype != dtype:
            raise SystemExit(f"{name}: {what} is {t.dtype}, expected {dtype}")
        err = float(np.max(np.abs(r - t.detach().numpy())) / (np.max(np.abs(r)) + 1e-12))
        if err > tol:
            raise SystemExit(f"{name}: {what} differs from the reference (rel. error {err:.2e})")

    def time_ref() -> float:
        t0 = time.perf_counter()
        reference_step(np, x, w, b, g, 1, need_dx)
        return time.perf_counter() - t0

    def time_fw() -> float:
        t0 = time.perf_counter()
        framework_step(tg, conv2d, tx, tw, tb, tgrad, 1)
        return time.perf_counter() - t0

    for _ in range(2):  # warm up caches and BLAS threads
        time_ref()
        time_fw()
    refs, fws, ratios = [], [], []
    for _ in range(repeats):
        r = time_ref()
        f = time_fw()
        refs.append(r)
        fws.append(f)
        ratios.append(f / r)
    print(
        f"{name:<38} reference {statistics.median(refs) * 1e3:7.2f} ms   "
        f"tinygrad_digits {statistics.median(fws) * 1e3:7.2f} ms   "
        f"median paired ratio {statistics.median(ratios):.3f}x"
    )
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--float64", action="store_true", help="time float64 instead of float32")
    args = parser.parse_args()
    _set_threads(args.threads)
    dtype = "float64" if args.float64 else "float32"
    print(f"conv2d 3x3, padding 1, forward + backward, {dtype}, {args.threads} threads")
    cases = [
        ("batch 64, 1->32 on 28x28 (no grad x)", 64, 1, 32, 28, False),
        ("batch 64, 32->64 on 14x14 (grad x)", 64, 32, 64, 14, True),
        ("batch 64, 32->32 on 28x28 (grad x)", 64, 32, 32, 28, True),
    ]
    ratios = [run_case(*case, args.repeats, dtype) for case in cases]
    print(f"worst median ratio {max(ratios):.3f}x (goal <= 1.15x)")


if __name__ == "__main__":
    main()
