"""Array operations and host syncs per training step, counted on the CPU.

On a GPU every array operation is at least one kernel launch (5-15 us of host time each) and a
host sync stalls the pipeline, so these counts bound the GPU step time. They are counted on the
"strict" device (array-api-strict: each result array it makes, each fused kernel as one) and on
the CuPy stand-in of the
tests (tests/cupy_standin: each array it makes; its syncs), for an MLP 784-256-128-10 with
batch 128, with SGD+momentum and with Adam. Counts are deterministic; timings are printed beside
them and mean little (the stand-in's mean nothing).

    python benchmarks/launch_budget.py
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if importlib.util.find_spec("cupy") is None:  # the tests' CuPy stand-in, never a real GPU
    sys.path.insert(0, str(ROOT / "tests" / "cupy_standin"))

import tinygrad_digits as tg  # noqa: E402
from tinygrad_digits import nn, optim  # noqa: E402
from tinygrad_digits.nn import functional as F  # noqa: E402

OPTIMIZERS: dict[str, Callable] = {
    "sgd+momentum": lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9),
    "adam": lambda ps: optim.Adam(ps, lr=1e-3),
}


class Counts:
    arrays = 0  # every array made, views and promoted Python scalars included
    launches = 0  # what a GPU would launch: arrays in new memory, and in-place writes
    syncs = 0


IN_PLACE = ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__", "__setitem__")


@contextlib.contextmanager
def counting(device: str) -> Iterator[Counts]:
    """Count the arrays `device`'s library makes, the kernels they would take on a GPU, and the
    reads to the host, while inside."""
    counts = Counts()
    dev = tg.get_device(device)
    read = dev.to_numpy

    def counted_read(array):
        counts.syncs += 1
        return read(array)

    if dev.type == "strict":
        from array_api_strict._array_object import Array

        new = Array.__dict__["_new"]
        launch = type(dev)._launch
        originals = {name: Array.__dict__[name] for name in IN_PLACE}

        in_kernel = False

        def counted_new(cls, x, *args, **kwargs):
            counts.arrays += 1
            promoted = sys._getframe(1).f_code.co_name == "_promote_scalar"
            if getattr(x, "base", None) is None and not promoted and not in_kernel:
                counts.launches += 1
            return new.__func__(cls, x, *args, **kwargs)

        def counted_launch(self, run, args):  # a fused kernel: one launch, whatever it makes
            nonlocal in_kernel
            counts.launches += 1
            in_kernel = True
            try:
                return launch(self, run, args)
            finally:
                in_kernel = False

        def counted_in_place(original):
            def method(self, *args):
                counts.launches += 1
                return original(self, *args)

            return method

        Array._new = classmethod(counted_new)
        type(dev)._launch = counted_launch
        for name, original in originals.items():
            setattr(Array, name, counted_in_place(original))
        dev.to_numpy = counted_read
        try:
            yield counts
        finally:
            Array._new = new
            type(dev)._launch = launch
            for name, original in originals.items():
                setattr(Array, name, original)
            del dev.to_numpy
    else:
        from cupy import standin

        arrays, launches, syncs = standin.arrays, standin.launches, standin.syncs
        try:
            yield counts
        finally:
            counts.arrays = standin.arrays - arrays
            counts.launches = standin.launches - launches
            counts.syncs = standin.syncs - syncs


def per_step(device: str, optimizer: str, steps: int = 4) -> tuple[float, float, float, float]:
    """(kernel launches, arrays made, host syncs, ms) per training step, after two warm-up
    steps."""
    tg.manual_seed(0)
    model = nn.MLP(784, [256, 128], 10).to(device)
    opt = OPTIMIZERS[optimizer](model.parameters())
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((128, 784)).astype(np.float32), device=device)
    y = tg.tensor(rng.integers(0, 10, 128), device=device)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    with counting(device) as counts:
        for _ in range(steps):
            step()
    ms = (time.perf_counter() - start) * 1000 / steps
    return counts.launches / steps, counts.arrays / steps, counts.syncs / steps, ms


def fit_epoch_counts(batches: int = 8) -> tuple[int, int]:
    """(host-to-device uploads, host syncs) of one `fit` epoch of `batches` steps on the CuPy
    stand-in, once the data is on the device and the kernels are built."""
    from cupy import standin

    from tinygrad_digits.data import DataLoader, TensorDataset
    from tinygrad_digits.training import fit

    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    data = TensorDataset(
        rng.standard_normal((128 * batches, 784)).astype(np.float32),
        rng.integers(0, 10, 128 * batches),
    )
    loader = DataLoader(data, batch_size=128, shuffle=True, seed=0)
    model = nn.MLP(784, [256, 128], 10, dropout=0.1).to("cuda")
    opt = OPTIMIZERS["adam"](model.parameters())
    run = dict(optimizer=opt, epochs=1, plots=False, log=None)
    fit(model, loader, **run)  # uploads the dataset
    uploads, syncs = standin.uploads, standin.syncs
    fit(model, loader, **run)
    return standin.uploads - uploads, standin.syncs - syncs


def main() -> None:
    print(
        f"{'device':<16} {'optimizer':<14} {'launches/step':>14} {'arrays/step':>12} "
        f"{'syncs/step':>11} ms/step"
    )
    import cupy

    if not getattr(cupy, "STANDIN", False):
        print("(a real CuPy is installed: the cuda rows need the stand-in; see gpu_check.py)")
    rows = [("strict", "strict")]
    if getattr(cupy, "STANDIN", False):
        rows.append(("cuda", "cuda (stand-in)"))
    for device, label in rows:
        for optimizer in OPTIMIZERS:
            launches, arrays, syncs, ms = per_step(device, optimizer)
            print(
                f"{label:<16} {optimizer:<14} {launches:>14.0f} {arrays:>12.0f} {syncs:>11.0f} "
                f"{ms:>9.2f}"
            )
    if getattr(cupy, "STANDIN", False):
        uploads, syncs = fit_epoch_counts()
        print(
            f"fit on cuda (stand-in), an epoch of 8 steps: {uploads} host-to-device upload(s) "
            f"(the epoch's permutation), {syncs} host syncs (the deferred label checks, the "
            "epoch's mean loss and accuracy; the run's first seed for the GPU's random stream)"
        )


if __name__ == "__main__":
    main()
