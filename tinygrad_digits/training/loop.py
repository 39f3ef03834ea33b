"""The training loop the CLI and the examples share: fit, evaluate, checkpoints and history.

    history = fit(model, train_loader, val_loader, optimizer, epochs=30, out_dir="runs/digits")
    loss, acc, cm = evaluate(model, test_loader)

The loop is kept lean because its per-batch Python cost adds directly to every epoch: running
loss and accuracy are summed as raw arrays on the device (no host sync per batch) and read back
only when the progress bar redraws (a few times a second) and at the end of the epoch.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from ..autograd.engine import no_grad
from ..autograd.tensor import Tensor
from ..backend.registry import DeviceLike, get_device
from ..nn import functional as F
from ..nn.module import Module
from .metrics import confusion_matrix, format_confusion_matrix

__all__ = [
    "CHECKPOINT_NAME",
    "EvalResult",
    "History",
    "ProgressBar",
    "evaluate",
    "fit",
    "load_checkpoint",
    "report",
    "save_checkpoint",
]

CHECKPOINT_NAME = "model.safetensors"
LEGACY_CHECKPOINT_NAME = "model.tgd"  # run folders of earlier versions
LossFn = Callable[[Tensor, Tensor], Tensor]


# --- progress --------------------------------------------------------------------------------
class ProgressBar:
    """A bar redrawn in place on stderr during an epoch: tqdm when installed, else a plain one.

    ``enabled=True`` draws it only when stderr is a terminal (logs and pipes get the per-epoch
    summary lines alone); ``"always"`` draws it anyway. ``step()`` is called per batch and costs
    a counter increment and a clock read; it returns True when a redraw is due, and only then
    does the caller read (and sync) the running statistics for ``show``.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        enabled: bool | str = True,
        file: IO[str] | None = None,
        interval: float = 0.25,
    ) -> None:
        self.total, self.desc, self.interval = total, desc, interval
        self.file = file if file is not None else sys.stderr
        self.count = 0
        self.start = self._last = time.perf_counter()
        self._tqdm = None
        self.enabled = enabled == "always" or (bool(enabled) and _isatty(self.file))
        if not self.enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:
            self._tqdm = tqdm(
                total=total,
                desc=desc,
                unit="batch",
                leave=False,
                file=self.file,
                dynamic_ncols=True,
                mininterval=interval,
            )

    def step(self) -> bool:
        """Count one batch; True when the bar wants fresh statistics (then call ``show``)."""
        self.count += 1
        if not self.enabled:
            return False
        now = time.perf_counter()
        if now - self._last < self.interval:
            return False
        self._last = now
        return True

    def show(self, stats: str) -> None:
        if self._tqdm is not None:
            self._tqdm.set_postfix_str(stats, refresh=False)
            self._tqdm.update(self.count - self._tqdm.n)
        elif self.enabled:
            width = 24
            done = int(width * self.count / max(self.total, 1))
            bar = "#" * done + "." * (width - done)
            line = f"\r{self.desc} [{bar}] {self.count}/{self.total} {stats}"
            self.file.write(line[:160])
            self.file.flush()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        elif self.enabled:
            self.file.write("\r" + " " * 160 + "\r")
            self.file.flush()


def _isatty(file: Any) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):
        return False


# --- history ---------------------------------------------------------------------------------
@dataclass
class History:
    """Per-epoch records (dicts: epoch, train_loss, train_accuracy, val_loss, val_accuracy,
    seconds, samples_per_second, lr) and the best epoch by validation accuracy."""

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    interrupted: bool = False

    def column(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.epochs]

    @property
    def train_loss(self) -> list[float]:
        return self.column("train_loss")

    @property
    def train_accuracy(self) -> list[float]:
        return self.column("train_accuracy")

    @property
    def val_loss(self) -> list[float]:
        return self.column("val_loss")

    @property
    def val_accuracy(self) -> list[float]:
        return self.column("val_accuracy")

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "best_val_accuracy": self.best_val_accuracy,
            "interrupted": self.interrupted,
        }

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        data = json.loads(Path(path).read_text())
        return cls(
            epochs=list(data.get("epochs", [])),
            best_epoch=data.get("best_epoch"),
            best_val_accuracy=data.get("best_val_accuracy"),
            interrupted=bool(data.get("interrupted", False)),
        )


# --- checkpoints -----------------------------------------------------------------------------
def save_checkpoint(
    path: str | os.PathLike, model: Module, config: dict[str, Any] | None = None
) -> Path:
    """Write ``model.state_dict()`` as safetensors with ``{"config": config}`` as its metadata.

    The tensors keep PyTorch's names, so torch loads the file directly; the config (see
    models.make_config) is what ``load_checkpoint`` + ``build_model`` need to rebuild the model.
    """
    from ..serialization import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(model.state_dict(), path, metadata={"config": dict(config or {})})
    return path


def load_checkpoint(
    path: str | os.PathLike, map_location: DeviceLike = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, state_dict) from a file written by save_checkpoint, an old ``.tgd`` checkpoint
    or a bare state dict with a config.json beside it."""
    from ..serialization import load, load_metadata

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    obj = load(path, map_location=map_location)
    if isinstance(obj, dict) and "state_dict" in obj:  # the .tgd layout
        return dict(obj.get("config") or {}), obj["state_dict"]
    if isinstance(obj, dict):
        config = load_metadata(path).get("config")
        beside = path.with_name("config.json")
        if not isinstance(config, dict):
            config = json.loads(beside.read_text()) if beside.is_file() else {}
        return config, obj
    raise ValueError(f"{path}: expected a saved model (a dict), found {type(obj).__name__}")


# --- evaluation ------------------------------------------------------------------------------
class EvalResult(NamedTuple):
    """What ``evaluate`` measured; unpacks as (loss, accuracy, confusion)."""

    loss: float
    accuracy: float
    confusion: np.ndarray


def _batches(loader: Iterable[Any], device: Any) -> Iterable[tuple[Tensor, Tensor]]:
    for batch in loader:
        x, y = batch[0], batch[1]
        if device is not None and x.device is not device:
            x, y = x.to(device), y.to(device)
        yield x, y


def _module_device(model: Module) -> Any:
    for p in model.parameters():
        return p.device
    return None


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
    was_training = model.training
    model.eval()
    device = _module_device(model)
    loss_sum: Any = 0.0
    count = 0
    preds, labels = [], []
    try:
        with no_grad():
            for x, y in _batches(loader, device):
                out = model(x)
                n = y.shape[0]
                loss_sum = loss_sum + loss_fn(out, y).data * n
                count += n
                preds.append(out.device.xp.argmax(out.data, axis=1))
                labels.append(y.data)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader gave no batches (is the dataset empty?)")
    dev = device if device is not None else get_device(None)
    pred = np.concatenate([dev.to_numpy(p) for p in preds])
    true = np.concatenate([dev.to_numpy(t) for t in labels])
    loss = float(dev.to_numpy(loss_sum)) / count
    classes = num_classes or int(max(pred.max(), true.max())) + 1
    cm = confusion_matrix(pred, true, classes)
    return EvalResult(loss, float(np.trace(cm)) / count, cm)


def report(
    model: Module,
    loader: Iterable[Any],
    class_names: list[str] | tuple[str, ...] | None = None,
    out_dir: str | os.PathLike | None = None,
    title: str = "test",
    log: Callable[[str], Any] = print,
) -> EvalResult:
    """evaluate, print the accuracy and the confusion matrix as text, save it as PNG."""
    from .plots import MISSING_MATPLOTLIB, save_confusion_matrix

    num_classes = len(class_names) if class_names else None
    result = evaluate(model, loader, num_classes=num_classes)
    log(f"{title} loss {result.loss:.4f}, {title} accuracy {result.accuracy:.2%}")
    log(format_confusion_matrix(result.confusion, class_names))
    if out_dir is not None:
        path = Path(out_dir) / f"confusion_matrix_{title}.png"
        saved = save_confusion_matrix(result.confusion, path, class_names, f"{title} set")
        log(f"saved {saved}" if saved else MISSING_MATPLOTLIB)
    return result


# --- training --------------------------------------------------------------------------------
def _lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else None


def _format_epoch(r: dict[str, Any], epochs: int) -> str:
    width = len(str(epochs))
    text = (
        f"epoch {r['epoch']:>{width}}/{epochs}  loss {r['train_loss']:.4f}  "
        f"acc {r['train_accuracy']:6.2%}"
    )
    if r.get("val_loss") is not None:
        text += f"  val_loss {r['val_loss']:.4f}  val_acc {r['val_accuracy']:6.2%}"
    return text + f"  {r['seconds']:.2f}s ({r['samples_per_second']:,.0f} samples/s)"


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
) -> History:
    """Train ``model`` for ``epochs`` epochs; return the History.

    Each epoch: one pass over ``train_loader`` (batches of (inputs, integer labels); ``loss_fn``
    must return the batch *mean*), then, with a ``val_loader``, validation loss and accuracy.
    The epoch with the best validation accuracy (ties: lower validation loss) is kept: saved as
    ``out_dir/checkpoint_name`` (with ``config``) and, with ``restore_best``, loaded back into the
    model at the end. ``out_dir`` also receives history.json (rewritten every epoch) and
    curves.png. ``progress``: a bar per epoch on a terminal (see ProgressBar); the per-epoch
    summary goes to ``log`` (print by default; None for silence). ``scheduler.step()`` runs once
    per epoch. Ctrl-C stops after the current batch
    and keeps everything learnt so far (``history.interrupted``).
    """
    if optimizer is None:
        raise ValueError("fit: pass an optimizer, e.g. optim.Adam(model.parameters(), lr=1e-3)")
    if epochs < 1:
        raise ValueError(f"fit: epochs must be at least 1, got {epochs}")
    if device is not None:
        model.to(device)
    dev = _module_device(model) or get_device(device)
    xp = dev.xp
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    say = log if log is not None else (lambda _msg: None)
    history = History()
    best_key: tuple[float, float] | None = None
    best_state: dict[str, Any] | None = None
    try:
        total = len(train_loader)  # type: ignore[arg-type]
    except TypeError:
        total = 0
    zero = xp.zeros((), dtype=dev.dtype(np.dtype("float32")), **dev.creation_kw)
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            bar = ProgressBar(total, f"epoch {epoch}/{epochs}", enabled=progress)
            loss_sum: Any = zero
            correct: Any = 0
            seen = 0
            start = time.perf_counter()
            try:
                for x, y in _batches(train_loader, dev):
                    logits = model(x)
                    loss = loss_fn(logits, y)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    n = y.shape[0]
                    seen += n
                    # Running sums stay on the device: no host sync per batch.
                    loss_sum = loss_sum + loss.data * n
                    correct = correct + xp.count_nonzero(xp.argmax(logits.data, axis=1) == y.data)
                    if bar.step():
                        elapsed = time.perf_counter() - start
                        bar.show(
                            f"loss {float(dev.to_numpy(loss_sum)) / seen:.4f} "
                            f"acc {int(dev.to_numpy(correct)) / seen:.2%} "
                            f"{seen / max(elapsed, 1e-9):,.0f} samples/s"
                        )
            finally:
                bar.close()
            if seen == 0:
                raise ValueError("fit: the training loader gave no batches (empty dataset?)")
            seconds = time.perf_counter() - start
            train_loss = float(dev.to_numpy(loss_sum)) / seen
            if not math.isfinite(train_loss):
                say(f"epoch {epoch}: the training loss is {train_loss}; stopping (lower --lr?)")
            record: dict[str, Any] = {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_accuracy": int(dev.to_numpy(correct)) / seen,
                "val_loss": None,
                "val_accuracy": None,
                "seconds": seconds,
                "samples_per_second": seen / max(seconds, 1e-9),
                "lr": _lr(optimizer),
            }
            if val_loader is not None:
                val = evaluate(model, val_loader, loss_fn)
                record["val_loss"], record["val_accuracy"] = val.loss, val.accuracy
                key = (val.accuracy, -val.loss)
                if best_key is None or key > best_key:
                    best_key = key
                    history.best_epoch, history.best_val_accuracy = epoch, val.accuracy
                    if restore_best:
                        best_state = {k: v.clone() for k, v in model.state_dict().items()}
                    if out is not None:
                        save_checkpoint(out / checkpoint_name, model, config)
            history.epochs.append(record)
            say(_format_epoch(record, epochs))
            if out is not None:
                history.save(out / "history.json")
            if scheduler is not None:
                scheduler.step()
            if not math.isfinite(train_loss):
                break
    except KeyboardInterrupt:
        history.interrupted = True
        say("interrupted: keeping what was learnt so far")
    if best_state is not None and history.best_epoch != len(history.epochs):
        model.load_state_dict(best_state)
        say(
            f"restored the best epoch ({history.best_epoch}, "
            f"val_acc {history.best_val_accuracy:.2%})"
        )
    if out is not None:
        if val_loader is None:  # no validation to choose by: keep the last epoch
            save_checkpoint(out / checkpoint_name, model, config)
        if config is not None:
            (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        history.save(out / "history.json")
        if plots and history.epochs:
            from .plots import MISSING_MATPLOTLIB, save_training_curves

            saved = save_training_curves(history, out / "curves.png")
            say(f"saved {saved}" if saved else MISSING_MATPLOTLIB)
    return history
