"""The last completed epoch, saved whole so that a run can go on exactly where it stopped.

After every epoch fit writes ``last.safetensors`` in its out_dir: the model, the optimizer and
scheduler state, both random generators (the device's, for dropout and init, and the training
loader's, for the shuffle order), the epoch and the History. ``resume_training`` puts all of it
back, so an interrupted run continued with ``fit(..., initial_epoch=epoch, history=history)``
ends with the same weights, bit for bit, as the same run never interrupted.

A device that draws its random numbers on the device (CuPy) can't hand its generator's state
to the host cheaply; there fit re-seeds the device's stream at each epoch's start from a host
NumPy generator (EpochSeeds) whose state is what gets saved, so a run resumed at an epoch
boundary draws the same masks from then on. On the CPU the device's generator is saved whole.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..serialization import ModelFileError, load, save
from .callbacks import Callback
from .history import History

if TYPE_CHECKING:
    from .loop import TrainState

__all__ = [
    "LAST_NAME",
    "EpochSeeds",
    "LastEpoch",
    "Resumed",
    "resume_training",
    "save_last_epoch",
]

LAST_NAME = "last.safetensors"


def _generator(obj: Any) -> Any:
    return getattr(obj, "generator", None)


def host_generator(device: Any) -> np.random.Generator | None:
    """The device's random generator when it is a host NumPy Generator whose state can be
    saved (cpu, strict); None where random numbers are drawn on the device (CuPy)."""
    source = device.random_source(np.dtype(np.float32))[0]
    return source if isinstance(source, np.random.Generator) else None


class EpochSeeds(Callback):
    """Where the device draws random numbers itself (CuPy), re-seed its stream at each epoch's
    start from a host generator carried in ``history.device_seeds``. The first one is seeded
    by a draw from the device's stream (one read per run), so manual_seed still decides every
    mask; a resumed History brings its generator's state. Nothing happens on the CPU."""

    def __init__(self) -> None:
        self._seeds: np.random.Generator | None = None

    def on_train_begin(self, state: TrainState) -> None:
        device = state.device
        if host_generator(device) is not None:
            self._seeds = None
            return
        if state.history.device_seeds is not None:
            self._seeds = np.random.default_rng()
            self._seeds.bit_generator.state = state.history.device_seeds
        else:
            first = device.random("integers", (1,), np.dtype(np.int64), low=0, high=2**31 - 1)
            self._seeds = np.random.default_rng(int(device.to_numpy(first)[0]))

    def on_epoch_begin(self, state: TrainState) -> None:
        if self._seeds is not None:
            state.device.seed(int(self._seeds.integers(2**63 - 1)))
            state.history.device_seeds = self._seeds.bit_generator.state


def save_last_epoch(path: str | os.PathLike, state: TrainState, scheduler: Any = None) -> Path:
    """Write everything needed to continue after ``state.epoch`` (one atomic file)."""
    loader_rng = _generator(state.train_loader)
    device_rng = host_generator(state.device)
    payload = {
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
    }
    meta = {
        "epoch": state.epoch,
        "history": state.history.to_dict(),
        "device_rng": device_rng.bit_generator.state if device_rng is not None else None,
        "device_seeds": state.history.device_seeds,
        "loader_rng": loader_rng.bit_generator.state if loader_rng is not None else None,
    }
    save(payload, path, metadata=meta)
    return Path(path)


class LastEpoch(Callback):
    """Save the last completed epoch (see save_last_epoch) at the end of every epoch."""

    def __init__(self, path: str | os.PathLike, scheduler: Any = None) -> None:
        self.path, self.scheduler = Path(path), scheduler

    def on_epoch_end(self, state: TrainState) -> None:
        save_last_epoch(self.path, state, self.scheduler)


@dataclass
class Resumed:
    """What resume_training restored: the epoch to continue after, and the History so far."""

    epoch: int
    history: History


def resume_training(
    path: str | os.PathLike,
    model: Any,
    optimizer: Any,
    train_loader: Any = None,
    scheduler: Any = None,
) -> Resumed:
    """Load a ``last.safetensors`` into the objects of a run built the same way as the one
    that wrote it (same config, data and options); returns where to continue."""
    from ..backend.registry import get_device
    from ..serialization import load_metadata

    path = Path(path)
    payload, meta = load(path), load_metadata(path)
    if not isinstance(payload, dict) or not {"model", "optimizer"} <= set(payload):
        raise ModelFileError(f"{path}: not a last-epoch file (no model and optimizer state)")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None and payload.get("scheduler") is not None:
        scheduler.load_state_dict(payload["scheduler"])
    device = next(iter(model.parameters())).device if list(model.parameters()) else get_device()
    device_rng = host_generator(device)
    if device_rng is not None and meta.get("device_rng"):
        device_rng.bit_generator.state = meta["device_rng"]
    loader_rng = _generator(train_loader)
    if loader_rng is not None and meta.get("loader_rng"):
        loader_rng.bit_generator.state = meta["loader_rng"]
    history = History.from_dict(meta.get("history") or {})
    history.device_seeds = meta.get("device_seeds")
    return Resumed(int(meta.get("epoch", 0)), history)
