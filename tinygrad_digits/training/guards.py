"""Stop at the first non-finite loss or gradient, before it reaches the weights.

One NaN spreads to every weight in a step or two, and a NaN model trains, saves and predicts
without complaint (every prediction class 0). So fit checks each batch's loss and gradients
right after backward, before the optimizer step, and stops the run with a NonFiniteError that
names the epoch, the step and where the value appeared. The run saves nothing after that.

On an accelerator a check per batch would cost a host sync per step; there the guard keeps a
reference to each step's loss (no kernel, no sync) and, when the epoch's mean loss read at its
end is not finite, reads them once to name the first bad step, before anything of that epoch
is saved.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

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
    would cost a host sync per batch, so there (unless ``every_batch=True``) the guard keeps
    each step's loss on the device and fit calls ``check_epoch`` at the end of each epoch,
    before anything is saved: the run stops naming the epoch and the first step whose loss was
    not finite. fit runs the guard after every other callback; one that already set
    ``stop_training`` has handled the batch (the doctor does)."""

    def __init__(self, every_batch: bool | None = None) -> None:
        self.every_batch = every_batch
        self._losses: list[Any] = []  # this epoch's, on the device (when not checked per batch)

    def _per_batch(self, state: TrainState) -> bool:
        return bool(self.every_batch or (self.every_batch is None and state.device.type == "cpu"))

    def on_epoch_begin(self, state: TrainState) -> None:
        self._losses = []

    def check_epoch(self, state: TrainState, mean_loss: float) -> None:
        """Raise NonFiniteError when the epoch's mean loss is not finite, naming the first step
        whose loss was NaN or inf (one read of the losses kept, only then)."""
        if math.isfinite(mean_loss) or state.stop_training:
            return
        step, loss = None, mean_loss
        if self._losses:
            xp = state.device.xp
            losses = state.device.to_numpy(xp.stack(self._losses))
            bad = [i for i, value in enumerate(losses.tolist()) if not math.isfinite(value)]
            if bad:
                step, loss = bad[0] + 1, losses[bad[0]]
        where = f"epoch {state.epoch}" + (f", step {step}" if step is not None else "")
        raise NonFiniteError(
            f"{where}: the training loss is {loss}; training stopped, nothing new was saved",
            state.epoch,
            step,
        )

    def on_after_backward(self, state: TrainState) -> None:
        if state.stop_training:
            return
        if not self._per_batch(state):
            if state.loss is not None:
                self._losses.append(state.loss.data)
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
