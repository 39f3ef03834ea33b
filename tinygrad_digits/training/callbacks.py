"""Callbacks: everything fit does besides training, each a small object with hooks.

fit's loop only trains (forward, loss, backward, step), validates and keeps the History; it
calls each hook below at its moment with the loop's TrainState. What fit's keyword arguments
ask for (a progress bar, the best epoch kept and saved, history.json, curves.png) are the
standard callbacks here (so is TensorBoard logging), and ``fit(..., callbacks=[...])`` adds
more:

    fit(model, train, val, opt, callbacks=[EarlyStopping(patience=5)])

A hook may set ``state.stop_training = True``: the loop then takes no further optimizer step
and ends after the current epoch (the epoch is still recorded and validated).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..progress import ProgressBar
from .checkpoints import CHECKPOINT_NAME, save_checkpoint
from .metrics import higher_is_better
from .run_folder import write_json

if TYPE_CHECKING:
    from .loop import TrainState

__all__ = [
    "HOOKS",
    "Callback",
    "CallbackList",
    "Checkpoint",
    "EarlyStopping",
    "Plots",
    "Progress",
    "SaveHistory",
    "TensorBoard",
    "format_metric",
]

HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "on_after_backward",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
)


class Callback:
    """Base class: override the hooks you need; each receives the loop's TrainState.

    on_batch_begin sees ``state.inputs``/``state.target``; on_after_backward also
    ``state.output``, ``state.loss`` and the gradients (before the optimizer step);
    on_batch_end runs after the step; on_epoch_end sees ``state.record``, already appended to
    ``state.history``. on_train_end runs also after Ctrl-C (``state.history.interrupted``).
    """

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_epoch_begin(self, state: TrainState) -> None: ...

    def on_batch_begin(self, state: TrainState) -> None: ...

    def on_after_backward(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


def _overrides(callback: Any, hook: str) -> bool:
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)


class CallbackList:
    """Callbacks in order. A hook calls only the callbacks that define it, so per-batch hooks
    cost nothing for the callbacks that only watch epochs. Duck-typed objects work too."""

    def __init__(self, callbacks: Iterable[Any]) -> None:
        self.callbacks = list(callbacks)
        self._hooks = {
            hook: [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)]
            for hook in HOOKS
        }

    def call(self, hook: str, state: TrainState) -> None:
        for method in self._hooks[hook]:
            method(state)


def format_metric(name: str, value: float, prefix: str = "") -> str:
    """``acc 97.50%`` for accuracy, ``mae 0.1234`` for any other metric."""
    if name == "accuracy":
        return f"{prefix}acc {value:.2%}"
    return f"{prefix}{name} {value:.4f}"


def _monitored(state: TrainState, monitor: str | None, mode: str | None) -> tuple[str, float]:
    """(record key, +1 if higher is better else -1). By default the validation metric (as
    the metric says: higher_is_better), else the validation loss (lower is better)."""
    name = state.metric_name
    if monitor is None:
        monitor = f"val_{name}" if name else "val_loss"
    if mode is None:
        lower = monitor.endswith("loss")
        if name and monitor.endswith(name):
            lower = not higher_is_better(state.metric)
        mode = "min" if lower else "max"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    return monitor, 1.0 if mode == "max" else -1.0


# --- the standard callbacks --------------------------------------------------------------------
class Progress(Callback):
    """A bar per epoch (see ProgressBar: ``bar=True`` on a terminal only, "always", False), then
    one summary line per epoch through fit's ``log``."""

    def __init__(self, bar: bool | str = True) -> None:
        self.bar_enabled = bar
        self._bar: ProgressBar | None = None

    def on_epoch_begin(self, state: TrainState) -> None:
        desc = f"epoch {state.epoch}/{state.epochs}"
        self._bar = ProgressBar(state.batches, desc, unit="batch", enabled=self.bar_enabled)

    def on_batch_end(self, state: TrainState) -> None:
        if self._bar is not None and self._bar.update():
            means = state.running()
            text = f"loss {means['loss']:.4f}"
            if state.metric_name:
                text += " " + format_metric(state.metric_name, means[state.metric_name])
            self._bar.show(f"{text} {means['samples_per_second']:,.0f} samples/s")

    def on_epoch_end(self, state: TrainState) -> None:
        self._close()
        r, name = state.record or {}, state.metric_name
        width = len(str(state.epochs))
        text = f"epoch {r['epoch']:>{width}}/{state.epochs}  loss {r['train_loss']:.4f}"
        if name:
            text += "  " + format_metric(name, r[f"train_{name}"])
        if r.get("val_loss") is not None:
            text += f"  val_loss {r['val_loss']:.4f}"
            if name:
                text += "  " + format_metric(name, r[f"val_{name}"], "val_")
        state.log(text + f"  {r['seconds']:.2f}s ({r['samples_per_second']:,.0f} samples/s)")

    def on_train_end(self, state: TrainState) -> None:
        self._close()  # an interrupted epoch leaves its bar open

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Checkpoint(Callback):
    """Keep the best epoch: save it (with ``config``) as ``directory/name`` each time it
    improves and, with ``restore_best``, load it back into the model at the end.

    The best epoch has the best ``monitor`` value (default: the validation metric, highest
    unless the metric says ``higher_is_better = False``; without a metric, the lowest
    validation loss); ties go to the lower validation loss. It is written to the History
    (``best_epoch``, ``monitor``, ``best_value``). When no epoch has the value (no validation
    loader) there is nothing to choose by: the last completed epoch is saved. ``directory``
    receives config.json first; saves are atomic, so a run killed at any moment leaves the
    previous best epoch or the new one. ``directory=None`` keeps the best epoch in memory only.
    """

    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        *,
        name: str = CHECKPOINT_NAME,
        config: dict[str, Any] | None = None,
        monitor: str | None = None,
        mode: str | None = None,
        restore_best: bool = True,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.name, self.config, self.restore_best = name, config, restore_best
        self.monitor, self.mode = monitor, mode
        self._best_key: tuple[float, float] | None = None
        self._best_state: dict[str, Any] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self._key, self._sign = _monitored(state, self.monitor, self.mode)
        self._best_key, self._best_state = None, None
        state.history.monitor = self._key
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            if self.config is not None:  # first, so every later file has its config beside it
                write_json(self.directory / "config.json", self.config)
        self._resume_best(state)

    def _resume_best(self, state: TrainState) -> None:
        """A resumed run (fit's ``history``) goes on comparing with its best epoch so far."""
        best = state.history.best_epoch
        if best is None or not 1 <= best <= len(state.history.epochs):
            return
        record = state.history.epochs[best - 1]
        val_loss = record.get("val_loss")
        self._best_key = (self._sign * record[self._key], -val_loss if val_loss else 0.0)
        saved = self.directory / self.name if self.directory is not None else None
        if self.restore_best and saved is not None and saved.is_file():
            from .checkpoints import load_checkpoint

            self._best_state = load_checkpoint(saved, map_location=state.device)[1]

    def on_epoch_end(self, state: TrainState) -> None:
        record = state.record or {}
        value = record.get(self._key)
        if value is None:  # nothing to choose by: keep the last completed epoch
            if self.directory is not None:
                save_checkpoint(self.directory / self.name, state.model, self.config)
            return
        val_loss = record.get("val_loss")
        key = (self._sign * value, -val_loss if val_loss is not None else 0.0)
        if self._best_key is not None and not key > self._best_key:
            return
        self._best_key = key
        state.history.best_epoch, state.history.best_value = state.epoch, value
        if self.restore_best:
            self._best_state = {k: v.clone() for k, v in state.model.state_dict().items()}
        if self.directory is not None:
            save_checkpoint(self.directory / self.name, state.model, self.config)

    def on_train_end(self, state: TrainState) -> None:
        history = state.history
        if self._best_state is not None and history.best_epoch != len(history.epochs):
            state.model.load_state_dict(self._best_state)
            value = history.best_value
            shown = (
                format_metric(state.metric_name, value, "val_")
                if state.metric_name and self._key == f"val_{state.metric_name}"
                else f"{self._key} {value:.4f}"
            )
            state.log(f"restored the best epoch ({history.best_epoch}, {shown})")


class SaveHistory(Callback):
    """Rewrite the History as JSON after every epoch and at the end, so a running (or crashed)
    job can be followed and plotted from outside."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def on_epoch_end(self, state: TrainState) -> None:
        state.history.save(self.path)

    def on_train_end(self, state: TrainState) -> None:
        state.history.save(self.path)


class Plots(Callback):
    """Draw the loss and metric curves as a PNG at the end (skipped without matplotlib)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def on_train_end(self, state: TrainState) -> None:
        from .plots import MISSING_MATPLOTLIB, save_training_curves

        if state.history.epochs:
            saved = save_training_curves(state.history, self.path, state.metric_name)
            state.log(f"saved {saved}" if saved else MISSING_MATPLOTLIB)


class EarlyStopping(Callback):
    """Stop when ``monitor`` (same default as Checkpoint) has not improved by more than
    ``min_delta`` for ``patience`` epochs in a row. Pair it with fit's best-epoch restore to
    end with the best weights rather than the last."""

    def __init__(
        self,
        monitor: str | None = None,
        *,
        mode: str | None = None,
        patience: int = 3,
        min_delta: float = 0.0,
    ) -> None:
        if patience < 1:
            raise ValueError(f"EarlyStopping: patience must be at least 1, got {patience}")
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best: float | None = None
        self.stopped_epoch: int | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self._key, self._sign = _monitored(state, self.monitor, self.mode)
        self.best, self.stopped_epoch, self._wait = None, None, 0

    def on_epoch_end(self, state: TrainState) -> None:
        record = state.record or {}
        value = record.get(self._key)
        if value is None:
            raise ValueError(
                f"EarlyStopping: the epoch record has no {self._key!r} (it has "
                f"{', '.join(k for k, v in record.items() if v is not None)}); pass a val_loader "
                "or another monitor"
            )
        if self.best is None or self._sign * (value - self.best) > self.min_delta:
            self.best, self._wait = value, 0
            return
        self._wait += 1
        if self._wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = state.epoch
            state.log(
                f"early stopping: {self._key} has not improved for {self.patience} epochs "
                f"(best {self.best:.4f})"
            )


MISSING_TENSORBOARD = (
    'TensorBoard logging needs tensorboardX: pip install "tinygrad-digits[tensorboard]"'
)


class TensorBoard(Callback):
    """Log the run for TensorBoard (``tensorboard --logdir DIR``), one step per epoch: the
    History's losses and metric (train and validation on one chart each) and the learning rate
    as scalars, and a histogram per parameter of its values and of the gradient of the epoch's
    last batch -- where saturated or dead layers and vanishing gradients show at a glance.

    Written through tensorboardX (the ``tensorboard`` extra); each epoch is flushed, so a
    running job can be watched live.
    """

    def __init__(self, log_dir: str | os.PathLike, *, histograms: bool = True) -> None:
        self.log_dir = Path(log_dir)
        self.histograms = histograms
        self._writer: Any = None

    def on_train_begin(self, state: TrainState) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError(MISSING_TENSORBOARD) from e
        self._writer = SummaryWriter(str(self.log_dir))

    def on_epoch_end(self, state: TrainState) -> None:
        record, step, writer = state.record or {}, state.epoch, self._writer
        for key, value in record.items():
            split, _, name = key.partition("_")
            if split in ("train", "val") and value is not None:
                writer.add_scalar(f"{name}/{split}", value, step)
        if record.get("lr") is not None:
            writer.add_scalar("lr", record["lr"], step)
        if self.histograms:
            for name, p in state.model.named_parameters():
                writer.add_histogram(f"weights/{name}", p.device.to_numpy(p.data), step)
                if p.grad is not None:
                    grad = p.device.to_numpy(p.grad.data)
                    writer.add_histogram(f"gradients/{name}", grad, step)
        writer.flush()

    def on_train_end(self, state: TrainState) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
