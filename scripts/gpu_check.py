"""The one-shot GPU check: run it the first time a GPU is at hand (needs the repo and CuPy).

    python scripts/gpu_check.py          # or: make gpu-check

It prints the versions and the Array API namespace in use, which GPU this is, whether a
training step makes host syncs (CuPy itself watches, through cupyx.allow_synchronize),
milliseconds per step for an MLP and a CNN on cuda and on cpu, and the largest difference
between the cpu and cuda loss curves over identical steps. It exits non-zero if anything is
wrong. On the CuPy stand-in of the tests it runs end to end, but its timings mean nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygrad_digits as tg  # noqa: E402
from tinygrad_digits import nn, optim  # noqa: E402
from tinygrad_digits.nn import functional as F  # noqa: E402

# Largest |loss_cpu - loss_cuda| allowed after the agreement run, relative to the first loss:
# float32 sums in another order drift by about 1e-6 per step.
TOLERANCE = 1e-3


def _mlp() -> nn.Module:
    return nn.MLP(784, [256, 128], 10)


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], int]] = {
    "mlp": (_mlp, (784,), 128),
    "cnn": (_cnn, (1, 28, 28), 64),
}


def _data(shape: tuple[int, ...], batch: int, device: str) -> tuple[tg.Tensor, tg.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return tg.tensor(x, device=device), tg.tensor(y, device=device)


# The optimizers of the agreement run: each update rule is one fused kernel on a GPU
# (Device.fuse), so each is compared with its op-by-op run on the CPU.
OPTIMIZERS: dict[str, Callable] = {
    "adam": lambda ps: optim.Adam(ps, lr=1e-3),
    "sgd+momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
}


def _trainer(name: str, device: str, state: dict | None = None, optimizer: str = "adam"):
    make, shape, batch = MODELS[name]
    tg.manual_seed(0)
    model = make()
    if state is not None:
        model.load_state_dict(state)
    model.to(device)
    opt = OPTIMIZERS[optimizer](model.parameters())
    x, y = _data(shape, batch, device)

    def step() -> tg.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    return model, step


def _versions(cupy, dev) -> list[str]:
    xp = getattr(dev.xp, "_xp", dev.xp)
    rt = cupy.cuda.runtime
    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}, cupy {cupy.__version__}",
        f"namespace: {xp.__name__}"
        + (" (through array-api-compat)" if xp.__name__.startswith("array_api_compat") else ""),
        f"CUDA runtime {rt.runtimeGetVersion()}, driver {rt.driverGetVersion()}",
    ]
    props = rt.getDeviceProperties(dev.index)
    gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    lines.append(f"device: {dev} = {gpu}, {rt.getDeviceCount()} GPU(s) visible")
    return lines


def _syncs_in_a_step(cupy, name: str, device: str) -> str | None:
    """None when a training step runs without a host sync, else what CuPy reported."""
    import cupyx

    _, step = _trainer(name, device)
    step()  # warm up: first-use allocations and kernel compilation
    cupy.cuda.Device().synchronize()
    try:
        with cupyx.allow_synchronize(False):
            step()
    except cupyx.DeviceSynchronized as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _ms_per_step(cupy, name: str, device: str, steps: int) -> float:
    _, step = _trainer(name, device)
    step()
    cupy.cuda.Device().synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    cupy.cuda.Device().synchronize()
    return (time.perf_counter() - start) * 1000 / steps


def _largest_difference(name: str, device: str, steps: int, optimizer: str) -> tuple[float, float]:
    """Train the same model from the same weights on cpu and on `device`; returns the largest
    difference between the loss curves and the first loss."""
    model, _ = _trainer(name, "cpu")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    curves = []
    for where in ("cpu", device):
        _, step = _trainer(name, where, state, optimizer)
        losses = [step() for _ in range(steps)]
        curves.append(tg.stack(losses).cpu().numpy())  # one transfer at the end
    return float(np.max(np.abs(curves[0] - curves[1]))), float(curves[0][0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="the GPU to check (default cuda:0)")
    parser.add_argument("--steps", type=int, default=50, help="steps of the agreement run")
    parser.add_argument("--timed-steps", type=int, default=20, help="steps timed per model")
    args = parser.parse_args(argv)
    problems: list[str] = []
    try:
        import cupy
    except ImportError:
        print("CuPy is not installed: pip install -e '.[cuda12]' (or [cuda13])")
        return 1
    standin = getattr(cupy, "STANDIN", False)
    if standin:
        print("NOTE: running on the CuPy STAND-IN (a NumPy test double): timings mean nothing")
    print(f"tinygrad_digits {tg.__version__}")
    try:
        dev = tg.get_device(args.device)
    except tg.DeviceUnavailableError as exc:
        print(f"FAIL: {exc}")
        return 1
    for line in _versions(cupy, dev):
        print(line)
    for name in MODELS:
        sync = _syncs_in_a_step(cupy, name, str(dev))
        print(f"{name}: host syncs in a training step: " + ("0" if sync is None else sync))
        if sync is not None:
            problems.append(f"{name}: a training step synchronizes with the host ({sync})")
        timings = {d: _ms_per_step(cupy, name, d, args.timed_steps) for d in (str(dev), "cpu")}
        print(
            f"{name}: ms per step: {dev} {timings[str(dev)]:.2f}, cpu {timings['cpu']:.2f}"
            + (" (stand-in: meaningless)" if standin else "")
        )
        for optimizer in OPTIMIZERS:
            diff, first = _largest_difference(name, str(dev), args.steps, optimizer)
            print(
                f"{name}, {optimizer}: largest |loss cpu - loss {dev}| over {args.steps} "
                f"steps: {diff:.2e}"
            )
            if not diff <= TOLERANCE * max(1.0, abs(first)):
                problems.append(
                    f"{name}, {optimizer}: cpu and {dev} loss curves differ by {diff:.2e}"
                )
    for problem in problems:
        print(f"FAIL: {problem}")
    print("gpu check: " + ("FAILED" if problems else "all good"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
