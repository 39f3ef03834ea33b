"""Stop at the first non-finite loss or gradient, before it reaches the weights.

One NaN spreads to every weight in a step or two, and a NaN model trains, saves and predicts
without complaint (every prediction class 0). So fit checks each batch's loss and gradients
right after backward, before the optimizer step, and stops the run with a NonFiniteError that
names the epoch, the step and where the value appeared. The run saves nothing after that.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .callbacks import Callback

if TYPE_CHECKING:
    from .loop import TrainState

__all__ = ["NonFiniteError", "NonFiniteGuard"]


class NonFiniteError(FloatingPointError):
    """Training produced NaN or inf (the loss or a gradient); nothing after it was saved."""

    def __init__(self, message: str, epoch: int, step: int | None) -> None:
        super().__init__(message)
        self.epoch, self.step = epoch, step


class NonFiniteGuard(Callback):
    """Raise NonFiniteError at the first batch whose loss or gradient is NaN or inf, before the
    optimizer step. On the CPU this costs a few comparisons per batch. On an accelerator it
    would cost a host sync per batch, so there (unless ``every_batch=True``) fit's own check
    at the end of each epoch, before anything is saved, is what stops the run, naming the
    epoch. fit runs the guard after every other callback; one that already set
    ``stop_training`` has handled the batch (the doctor does)."""

    def __init__(self, every_batch: bool | None = None) -> None:
        self.every_batch = every_batch

    def on_after_backward(self, state: TrainState) -> None:
        if state.stop_training:
            return
        on_host = state.device.type == "cpu"
        if not (self.every_batch or (self.every_batch is None and on_host)):
            return
        where = f"epoch {state.epoch}, step {state.step}"
        loss = float(state.device.to_numpy(state.loss.data)) if state.loss is not None else 0.0
        if not math.isfinite(loss):
            raise NonFiniteError(
                f"{where}: the training loss is {loss}; training stopped, nothing new was saved",
                state.epoch,
                state.step,
            )
        for name, p in state.model.named_parameters():
            if p.grad is None:
                continue
            xp = p.grad.device.xp
            if not bool(p.grad.device.to_numpy(xp.all(xp.isfinite(p.grad.data)))):
                raise NonFiniteError(
                    f"{where}: the gradient of '{name}' holds NaN or inf (the loss is {loss:.4g});"
                    " training stopped, nothing new was saved",
                    state.epoch,
                    state.step,
                )
