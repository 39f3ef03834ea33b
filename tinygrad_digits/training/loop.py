"""The training loop the CLI, the examples and the doctor share: fit, and evaluate.

    history = fit(model, train_loader, val_loader, optimizer, epochs=30, out_dir="runs/digits")
    loss, acc, cm = evaluate(model, test_loader)

fit itself only trains, validates and records; progress, checkpoints, history.json, plots and
early stopping are callbacks (callbacks.py), built from fit's arguments or passed in.
The loop is kept lean because its per-batch Python cost adds directly to every epoch: running
loss and metric are summed as raw arrays on the device (no host sync per batch) and read back
only when someone asks (the progress bar, a few times a second) and at the end of the epoch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..backend.registry import DeviceLike, get_device
from ..data.loader import DataLoader
from ..nn import functional as F
from ..nn.module import Module
from .callbacks import (
    Callback,
    CallbackList,
    Checkpoint,
    Plots,
    Progress,
    SaveHistory,
    TensorBoard,
)
from .checkpoints import CHECKPOINT_NAME
from .guards import NonFiniteGuard
from .history import History
from .metrics import (
    Metric,
    accuracy,
    confusion_matrix,
    format_confusion_matrix,
    metric_name,
    metric_sum,
    predicted_classes,
)
from .resume import LAST_NAME, EpochSeeds, LastEpoch

__all__ = ["EvalResult", "TrainState", "evaluate", "fit", "report"]

LossFn = Callable[[Tensor, Tensor], Tensor]


def _batches(loader: Iterable[Any], device: Any) -> Iterator[tuple[Tensor, Tensor]]:
    if device is not None and isinstance(loader, DataLoader) and loader.device is None:
        loader = loader.batches_on(device)  # array datasets: uploaded once, gathered there
    for batch in loader:
        x, y = batch[0], batch[1]
        if device is not None and x.device is not device:
            x, y = x.to(device), y.to(device)
        yield x, y


def _module_device(model: Module) -> Any:
    for p in model.parameters():
        return p.device
    return None


def _lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else None


# --- the state callbacks see -------------------------------------------------------------------
@dataclass(eq=False)
class TrainState:
    """What the loop is doing, for callbacks: the run's objects, the epoch and step, the current
    batch, this epoch's running sums, and ``stop_training`` (set it to stop)."""

    model: Module
    optimizer: Any
    loss_fn: LossFn
    metric: Metric | None
    train_loader: Iterable[Any]
    val_loader: Iterable[Any] | None
    epochs: int
    device: Any
    log: Callable[[str], Any]
    history: History = field(default_factory=History)
    batches: int = 0  # batches per epoch; 0 when the loader has no len()
    epoch: int = 0
    step: int = 0  # batches done this epoch
    inputs: Tensor | None = None
    target: Tensor | None = None
    output: Tensor | None = None
    loss: Tensor | None = None
    record: dict[str, Any] | None = None  # this epoch's, at on_epoch_end
    stop_training: bool = False
    seen: int = 0  # samples this epoch
    loss_sum: Any = 0.0  # on the device
    metric_total: Any = 0  # on the device for accuracy
    started: float = 0.0

    @property
    def metric_name(self) -> str | None:
        return metric_name(self.metric) if self.metric is not None else None

    def running(self) -> dict[str, float]:
        """This epoch's mean loss (and metric) so far, and its speed: one read from the device."""
        seen = max(self.seen, 1)
        means = {"loss": _host_float(self.device, self.loss_sum) / seen}
        if self.metric is not None:
            means[metric_name(self.metric)] = _host_float(self.device, self.metric_total) / seen
        means["samples_per_second"] = self.seen / max(time.perf_counter() - self.started, 1e-9)
        return means


def _host_float(device: Any, value: Any) -> float:
    return float(value) if isinstance(value, int | float) else float(device.to_numpy(value))


# --- fit ---------------------------------------------------------------------------------------
def fit(
    model: Module,
    train_loader: Iterable[Any],
    val_loader: Iterable[Any] | None = None,
    optimizer: Any = None,
    loss_fn: LossFn = F.cross_entropy,
    epochs: int = 10,
    device: DeviceLike = None,
    progress: bool | str = True,
    out_dir: str | os.PathLike | None = None,
    *,
    config: dict[str, Any] | None = None,
    scheduler: Any = None,
    restore_best: bool = True,
    checkpoint_name: str = CHECKPOINT_NAME,
    plots: bool = True,
    log: Callable[[str], Any] | None = print,
    metric: Metric | None = accuracy,
    callbacks: Sequence[Callback] = (),
    tensorboard: str | os.PathLike | None = None,
    initial_epoch: int = 0,
    history: History | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs; return the History.

    Each epoch: one pass over ``train_loader`` (batches of (inputs, targets); ``loss_fn`` must
    return the batch *mean*), then, with a ``val_loader``, the validation loss and ``metric``
    (any ``metric(output, target) -> float``, accuracy by default, None for none).
    ``scheduler.step()`` runs once per epoch. The first NaN or inf in a batch's loss or
    gradients raises NonFiniteError before the optimizer step (NonFiniteGuard). Ctrl-C stops
    at once: the half-done epoch is dropped from the saved files (``history.interrupted``).
    ``initial_epoch`` and ``history`` continue a run (see resume.resume_training).

    The other arguments choose the standard callbacks, which run before ``callbacks``:
    ``progress`` a bar per epoch (Progress; the per-epoch summary goes to ``log``, None for
    silence); with a ``val_loader`` the best epoch is kept (Checkpoint: saved as
    ``out_dir/checkpoint_name`` with ``config``, and with ``restore_best`` loaded back at the
    end); ``out_dir`` also receives config.json, history.json (SaveHistory, every epoch) and,
    with ``plots``, curves.png (Plots). ``tensorboard`` a folder to log the run to for
    TensorBoard (TensorBoard: scalars and per-layer histograms; the ``tensorboard`` extra).
    ``out_dir`` also receives last.safetensors after every epoch (LastEpoch: what
    resume_training needs to continue the run exactly).
    """
    if optimizer is None:
        raise ValueError("fit: pass an optimizer, e.g. optim.Adam(model.parameters(), lr=1e-3)")
    if epochs < 1:
        raise ValueError(f"fit: epochs must be at least 1, got {epochs}")
    if device is not None:
        model.to(device)
    if not 0 <= initial_epoch <= epochs:
        raise ValueError(f"fit: initial_epoch must be in [0, {epochs}], got {initial_epoch}")
    out = Path(out_dir) if out_dir is not None else None
    standard: list[Callback] = [EpochSeeds(), Progress(progress)]
    if val_loader is not None or out is not None:
        standard.append(
            Checkpoint(out, name=checkpoint_name, config=config, restore_best=restore_best)
        )
    if out is not None:
        standard.append(LastEpoch(out / LAST_NAME, scheduler))
        standard.append(SaveHistory(out / "history.json"))
        if plots:
            standard.append(Plots(out / "curves.png"))
    if tensorboard is not None:
        standard.append(TensorBoard(tensorboard))
    state = TrainState(
        model,
        optimizer,
        loss_fn,
        metric,
        train_loader,
        val_loader,
        epochs,
        _module_device(model) or get_device(device),
        log if log is not None else (lambda _msg: None),
        history if history is not None else History(),
    )
    state.epoch = initial_epoch
    with contextlib.suppress(TypeError):  # a loader without len() gets a bar without a total
        state.batches = len(train_loader)  # type: ignore[arg-type]
    # the guard runs last: a callback that handles a NaN itself stops the run first (the doctor)
    guard = NonFiniteGuard()
    return _run(state, CallbackList([*standard, *callbacks, guard]), scheduler, guard)


def _run(state: TrainState, hooks: CallbackList, scheduler: Any, guard: NonFiniteGuard) -> History:
    """The epochs, with the hooks around them, under the model's device context (CuPy
    computes on the current GPU)."""
    history = state.history
    hooks.call("on_train_begin", state)
    try:
        with state.device.context:
            for epoch in range(state.epoch + 1, state.epochs + 1):
                state.epoch = epoch
                hooks.call("on_epoch_begin", state)
                _train_epoch(state, hooks)
                state.record = _epoch_record(state, guard)
                with _interrupt_deferred():  # the epoch's files are all saved, or none is
                    history.epochs.append(state.record)
                    if scheduler is not None:  # before the hooks: the last epoch saves its state
                        scheduler.step()
                    hooks.call("on_epoch_end", state)
                if state.stop_training:
                    break
    except KeyboardInterrupt:
        history.interrupted = True
        done = bool(history.epochs) and history.epochs[-1]["epoch"] == state.epoch
        state.log(
            f"interrupted after epoch {state.epoch}"
            if done
            else f"interrupted during epoch {state.epoch}: that epoch is dropped"
        )
    hooks.call("on_train_end", state)
    return history


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then raise it: an epoch's checkpoint, last
    epoch and history are then saved together, and an interrupted run keeps a consistent
    state. Only the main thread can; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if caught:
        raise KeyboardInterrupt


def _train_epoch(state: TrainState, hooks: CallbackList) -> None:
    """One pass over the training loader: forward, loss, backward, step."""
    model, optimizer, loss_fn, metric = state.model, state.optimizer, state.loss_fn, state.metric
    dev = state.device
    model.train()
    state.step, state.seen, state.metric_total = 0, 0, 0
    state.loss_sum = dev.xp.zeros((), dtype=dev.dtype(np.dtype("float32")), **dev.creation_kw)
    state.started = time.perf_counter()
    for x, y in _batches(state.train_loader, dev):
        state.inputs, state.target = x, y
        hooks.call("on_batch_begin", state)
        output = model(x)
        loss = loss_fn(output, y)
        state.output, state.loss = output, loss
        n = y.shape[0]
        state.step += 1
        state.seen += n
        state.loss_sum = state.loss_sum + loss.data * n
        if metric is not None:
            state.metric_total = state.metric_total + metric_sum(metric, output, y)
        optimizer.zero_grad()
        loss.backward()
        hooks.call("on_after_backward", state)
        if state.stop_training:
            break
        optimizer.step()
        hooks.call("on_batch_end", state)
        if state.stop_training:
            break
    if state.step == 0:
        raise ValueError("fit: the training loader gave no batches (empty dataset?)")


def _epoch_record(state: TrainState, guard: NonFiniteGuard) -> dict[str, Any]:
    """The epoch's History record: training means, validation, speed, learning rate; a
    non-finite mean training loss stops the run here, before anything of the epoch is saved."""
    means = state.running()
    guard.check_epoch(state, means["loss"])
    seconds = time.perf_counter() - state.started
    name = state.metric_name
    record: dict[str, Any] = {"epoch": state.epoch, "train_loss": means["loss"]}
    if name:
        record[f"train_{name}"] = means[name]
    record["val_loss"] = None
    if name:
        record[f"val_{name}"] = None
    if state.val_loader is not None:
        val_loss, val_metric = _averages(state.model, state.val_loader, state.loss_fn, state.metric)
        record["val_loss"] = val_loss
        if name:
            record[f"val_{name}"] = val_metric
    record["seconds"] = seconds
    record["samples_per_second"] = state.seen / max(seconds, 1e-9)
    record["lr"] = _lr(state.optimizer)
    return record


# --- evaluation --------------------------------------------------------------------------------
class EvalResult(NamedTuple):
    """What ``evaluate`` measured; unpacks as (loss, accuracy, confusion)."""

    loss: float
    accuracy: float
    confusion: np.ndarray


def _averages(
    model: Module,
    loader: Iterable[Any],
    loss_fn: LossFn,
    metric: Metric | None,
    each_batch: Callable[[Tensor, Tensor], Any] | None = None,
) -> tuple[float, float | None]:
    """Mean loss and metric over ``loader`` in eval mode under no_grad (the model's mode is
    restored); ``each_batch(output, target)`` sees every batch."""
    was_training = model.training
    model.eval()
    device = _module_device(model) or get_device(None)
    loss_sum: Any = 0.0
    metric_total: Any = 0
    count = 0
    try:
        with no_grad(), device.context:  # CuPy computes on the current GPU: the model's
            for x, y in _batches(loader, device):
                out = model(x)
                n = y.shape[0]
                count += n
                loss_sum = loss_sum + loss_fn(out, y).data * n
                if metric is not None:
                    metric_total = metric_total + metric_sum(metric, out, y)
                if each_batch is not None:
                    each_batch(out, y)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader gave no batches (is the dataset empty?)")
    mean_metric = _host_float(device, metric_total) / count if metric is not None else None
    return _host_float(device, loss_sum) / count, mean_metric


def evaluate(
    model: Module,
    loader: Iterable[Any],
    loss_fn: LossFn = F.cross_entropy,
    num_classes: int | None = None,
) -> EvalResult:
    """Mean loss, accuracy and confusion matrix (rows true, columns predicted) over ``loader``.

    Runs in eval mode under no_grad, restoring the model's mode afterwards. Predictions stay on
    the device until one transfer at the end.
    """
    preds: list[Any] = []
    labels: list[Any] = []

    def keep(out: Tensor, y: Tensor) -> None:
        preds.append(predicted_classes(out))
        labels.append(y.data)

    loss, _ = _averages(model, loader, loss_fn, None, keep)
    dev = _module_device(model) or get_device(None)
    pred = np.concatenate([dev.to_numpy(p) for p in preds])
    true = np.concatenate([dev.to_numpy(t) for t in labels])
    classes = num_classes or int(max(pred.max(), true.max())) + 1
    cm = confusion_matrix(pred, true, classes)
    return EvalResult(loss, float(np.trace(cm)) / len(true), cm)


def report(
    model: Module,
    loader: Iterable[Any],
    class_names: list[str] | tuple[str, ...] | None = None,
    out_dir: str | os.PathLike | None = None,
    title: str = "test",
    log: Callable[[str], Any] = print,
    loss_fn: LossFn = F.cross_entropy,
) -> EvalResult:
    """evaluate (with ``loss_fn``), print the accuracy and the confusion matrix as text, save
    it as PNG."""
    from .plots import MISSING_MATPLOTLIB, save_confusion_matrix

    num_classes = len(class_names) if class_names else None
    result = evaluate(model, loader, loss_fn=loss_fn, num_classes=num_classes)
    log(f"{title} loss {result.loss:.4f}, {title} accuracy {result.accuracy:.2%}")
    log(format_confusion_matrix(result.confusion, class_names))
    if out_dir is not None:
        path = Path(out_dir) / f"confusion_matrix_{title}.png"
        saved = save_confusion_matrix(result.confusion, path, class_names, f"{title} set")
        log(f"saved {saved}" if saved else MISSING_MATPLOTLIB)
    return result
