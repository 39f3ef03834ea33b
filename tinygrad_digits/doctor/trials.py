"""Measured advice: short trial runs of the user's own set-up (same optimizer, data, init and
loss) with one thing changed, so the doctor advises only what it saw work.

Each trial trains the model itself, put back to its state before the doctor's run (so a loss
that reads the model's own weights, as a penalty written into the loss does, still sees
them), on the same seeded batches, and measures the loss on a fixed probe subset before and
after; the caller puts the model's state back afterwards (`snapshot` / `restore`). Learning-rate
trials try a few rates around the current one (within sane bounds for the optimizer); fix
trials widen the narrow layers (of any chain of Linear layers), re-initialise the weights or
normalise the inputs; the long trial runs the current set-up for longer to see whether it
leaves its initial plateau.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..diagnostics.probe import (
    as_input,
    eval_mode,
    host,
    model_device,
    model_float_dtype,
    take_rows,
)
from .checks_data import class_labels

LossFn = Callable[[Any, Any], Any]

# Sane learning-rate bounds per optimizer family: trials never go outside them.
LR_BOUNDS = {"sgd": (1e-4, 20.0), "adaptive": (1e-5, 0.1)}
ANCHORS = {"sgd": (0.01, 0.1, 1.0), "adaptive": (1e-4, 1e-3, 1e-2)}
BETTER = 0.1  # a trial must end with a loss at least 10% below the current rate's...
LEARNS = 0.25  # ...and the current rate "learns well" when its loss fell by this share...
BASELINE_MARGIN = 0.9  # ...to below this share of the constant-output loss
# A better rate whose loss stays at the constant-output level must instead gain this share of
# right answers (on a 512-row probe, chance differences are a few points).
GAINED = 0.1
FITTED = 0.1  # a loss below this share of the constant-output loss: the net already fits


@dataclass
class Trial:
    """One short run: what was changed, and the probe loss before and after."""

    label: str
    before: float
    after: float
    steps: int
    baseline: float | None = None  # loss of the network's own mean output, after the run
    left_at: int | None = None  # a watched run: the first step it measured learning at
    accuracy: float | None = None  # on the probe rows, for class labels

    @property
    def finite(self) -> bool:
        return math.isfinite(self.after)

    @property
    def drop(self) -> float:
        """The share of the loss the run removed (-inf when it diverged)."""
        if not self.finite or not self.before > 0:
            return -math.inf
        return (self.before - self.after) / self.before

    @property
    def beats_constant(self) -> bool:
        """The loss is below that of giving every input the same output: the net has learned
        something of its inputs (unknown baseline: assumed)."""
        return self.baseline is None or self.after < BASELINE_MARGIN * self.baseline

    @property
    def learns(self) -> bool:
        """The loss fell well, and below the loss of giving every input the same output; or it
        is already far below that loss and not rising (a trained net that fits)."""
        fits = self.baseline is not None and self.after < FITTED * self.baseline
        falls = self.drop >= LEARNS and self.beats_constant
        return self.finite and (falls or (fits and self.after <= self.before))

    def text(self) -> str:
        after = f"{self.after:.3g}" if self.finite else "NaN/inf"
        acc = f" ({self.accuracy:.0%} right)" if self.accuracy is not None and self.finite else ""
        return f"{self.label} → loss {self.before:.3g}→{after} in {self.steps} steps{acc}"


def better(trial: Trial, than: Trial) -> bool:
    """Whether `trial` measured clearly better than `than`: a clearly lower loss, no fewer
    right answers on the probe rows (a lower loss can hide worse answers), and, where right
    answers are counted, either a loss below the constant-output loss or more right answers:
    a loss that only fell to the level of answering every input alike (saturated sigmoids
    pushed to the class shares) is no gain; such a rate made the net worse when applied
    (issue 18, case 3)."""
    if not trial.finite:
        return False
    both = trial.accuracy is not None and than.accuracy is not None and than.finite
    if both and trial.accuracy < than.accuracy:
        return False
    if not than.finite:
        return trial.after < trial.before
    if both and not trial.beats_constant and trial.accuracy < than.accuracy + GAINED:
        return False
    return trial.after < (1 - BETTER) * than.after and trial.drop > than.drop + 0.02


class TrialRunner:
    """Runs trials of one set-up: a frozen copy of the model before training, its optimizer's
    kind and settings, the data, the loss, the batch size and the seed."""

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        x: np.ndarray,
        y: np.ndarray,
        loss_fn: LossFn,
        batch_size: int,
        probe: np.ndarray,
        seed: int,
    ) -> None:
        self.model = model
        self.initial = snapshot(model)
        self.optimizer = optimizer
        self.x, self.y = x, y
        self.loss_fn = loss_fn
        self.batch_size = batch_size
        self.probe = probe
        self.seed = seed

    @property
    def lr(self) -> float | None:
        groups = getattr(self.optimizer, "param_groups", None) or [{}]
        return groups[0].get("lr")

    @property
    def family(self) -> str:
        name = type(self.optimizer).__name__.lower()
        return "sgd" if name == "sgd" else "adaptive"

    # --- one run ---------------------------------------------------------------------------
    def run(
        self,
        label: str,
        steps: int,
        lr: float | None = None,
        model: Any = None,
        x: np.ndarray | None = None,
        watch: bool = False,
        prepare: Callable[[Any], Any] | None = None,
    ) -> Trial:
        """Train the set-up's model from its initial state (after `prepare(model)`, e.g. a
        re-initialisation), or another `model` (a widened one), for `steps` and measure it;
        with `watch`, also every steps/32 steps, to find when it leaves its plateau."""
        net = model
        if net is None:
            net = self.model
            restore(net, self.initial)
            if prepare is not None:
                prepare(net)
        xs = self.x if x is None else x
        device, dtype = model_device(net), model_float_dtype(net)
        x_all, y_all = as_input(xs, device, dtype), as_input(self.y, device, dtype)
        xp, yp = take_rows(x_all, self.probe), take_rows(y_all, self.probe)
        opt = self._optimizer(net, lr)
        before = self._loss(net, xp, yp)
        every = max(1, steps // 32)
        left_at = None
        for step, (xb, yb) in enumerate(self._batches(x_all, y_all, steps), 1):
            opt.zero_grad()
            with np.errstate(all="ignore"):
                loss = self.loss_fn(net(xb), yb)
                if not math.isfinite(float(loss.item())):
                    return Trial(label, before, math.nan, steps)
                loss.backward()
            opt.step()
            if watch and left_at is None and step % every == 0:
                now = Trial(label, before, self._loss(net, xp, yp), step)
                now.baseline = self._baseline(net, xp, yp)
                if now.learns:
                    left_at = step
                    break
        after = self._loss(net, xp, yp)
        ran = left_at or steps
        trial = Trial(label, before, after, ran, self._baseline(net, xp, yp), left_at)
        trial.accuracy = self._accuracy(net, xp)
        return trial

    def _optimizer(self, net: Any, lr: float | None) -> Any:
        """A fresh optimizer of the user's kind and settings on `net`'s parameters."""
        params = list(net.parameters())
        groups = []
        for g in self.optimizer.param_groups:
            settings = {k: v for k, v in g.items() if k != "params"}
            if lr is not None:
                settings["lr"] = lr
            groups.append({**settings, "params": params})
            break  # one group: the trial copies may not keep the user's grouping
        return type(self.optimizer)(groups)

    def _batches(self, x: Tensor, y: Tensor, steps: int) -> Iterator[tuple[Tensor, Tensor]]:
        rng = np.random.default_rng(self.seed)
        n = int(x.shape[0])
        for _ in range(steps):
            if n > self.batch_size:
                idx = rng.choice(n, self.batch_size, replace=False)
                yield take_rows(x, idx), take_rows(y, idx)
            else:
                yield x, y

    def _loss(self, net: Any, x: Tensor, y: Tensor) -> float:
        with no_grad(), eval_mode(net), np.errstate(all="ignore"):
            value = float(self.loss_fn(net(x), y).item())
        return value if math.isfinite(value) else math.nan

    def _accuracy(self, net: Any, x: Tensor) -> float | None:
        """The share of probe rows whose largest output is their class label."""
        labels = class_labels(self.y[self.probe])
        if labels is None or self.y.ndim != 1:
            return None
        with no_grad(), eval_mode(net), np.errstate(all="ignore"):
            out = net(x)
        if not isinstance(out, Tensor) or out.ndim != 2 or out.shape[1] < 2:
            return None
        pred = np.argmax(host(out), axis=1)
        return float((pred == labels).mean())

    def _baseline(self, net: Any, x: Tensor, y: Tensor) -> float | None:
        """The loss of giving every input the network's mean output."""
        with no_grad(), eval_mode(net), np.errstate(all="ignore"):
            out = net(x)
            if not isinstance(out, Tensor) or out.ndim < 1:
                return None
            const = out.mean(dim=0, keepdim=True).expand(out.shape)
            try:
                value = float(self.loss_fn(const, y).item())
            except Exception:
                return None
        return value if math.isfinite(value) else None

    # --- the trials --------------------------------------------------------------------------
    def rates(self) -> list[float]:
        """The current rate, 10x and 100x either side, and the optimizer's usual rates, inside
        the sane bounds; rates within 3x of one already tried are dropped."""
        lr = self.lr
        lo, hi = LR_BOUNDS[self.family]
        if not lr:
            return []
        candidates = [lr * f for f in (0.01, 0.1, 10.0, 100.0)] + list(ANCHORS[self.family])
        out: list[float] = []
        for r in sorted(candidates, key=lambda r: abs(math.log(r / lr))):
            if lo <= r <= hi and all(abs(math.log(r / q)) > math.log(3) for q in [lr, *out]):
                out.append(r)
        return sorted(out[:4])

    def learning_rates(self, steps: int) -> tuple[Trial, list[Trial]]:
        """The current rate's trial and the others' (none when the current rate learns: a rate
        that learns is left alone)."""
        current = self.run(f"lr {self.lr:g}", steps)
        if current.learns:
            return current, []
        return current, [self.run(f"lr {r:g}", steps, lr=r) for r in self.rates()]


def widened(model: Any, width: int, x: Tensor) -> tuple[Any | None, str]:
    """A copy of `model` whose hidden Linear layers narrower than `width` are `width` wide
    (and the Linear each feeds takes the wider input), or None and why that cannot be done
    safely. Works on any chain of Linear layers with elementwise steps between them (nn.MLP,
    nn.Sequential of Linear and activations, a Module calling fc1, fc2, ...): `x`, a few input
    rows, shows which Linear feeds which. The new weights are drawn from each layer's own
    values (the same init, scale and sign); the old ones are kept."""
    from .. import nn
    from ..diagnostics.probe import run_probe

    with no_grad(), eval_mode(model):
        trace = run_probe(model, x)
        expected = tuple(trace.output.shape) if isinstance(trace.output, Tensor) else None
    layers = trace.layers
    modules = dict(model.named_modules())
    if any(layer.op != "Linear" for layer in layers):
        return None, "only a chain of Linear layers is widened, and this model has convolutions"
    names = [layer.name for layer in layers]
    if len(set(names)) < len(names) or not all(
        isinstance(modules.get(name), nn.Linear) for name in names
    ):
        return None, "a Linear layer runs twice or outside a named module"
    for a, b in zip(layers, layers[1:]):
        if a.out_features != b.in_features:
            return None, f"{a.name}'s outputs do not feed {b.name} directly"
    narrow = [i for i, layer in enumerate(layers[:-1]) if layer.out_features < width]
    if not narrow:
        return None, f"no hidden Linear layer is narrower than {width} units"
    wide = copy.deepcopy(model)
    copies = dict(wide.named_modules())
    rng = np.random.default_rng(0)
    for i in narrow:
        _resize(copies[names[i]], rng, out_features=width)
        _resize(copies[names[i + 1]], rng, in_features=width)
    try:
        with no_grad(), eval_mode(wide), np.errstate(all="ignore"):
            out = wide(x)
    except Exception as exc:  # noqa: BLE001 - a width the forward depends on: no safe widening
        return None, f"the widened copy does not run ({type(exc).__name__}: {exc})"
    if not isinstance(out, Tensor) or tuple(out.shape) != expected:
        return None, "the widened copy gives outputs of another shape"
    return wide, ""


def _resize(
    layer: Any,
    rng: np.random.Generator,
    in_features: int | None = None,
    out_features: int | None = None,
) -> None:
    """Grow a Linear layer in place to `in_features` inputs or `out_features` outputs: its
    weights keep their values, the new ones are drawn from them."""
    from ..autograd.factories import tensor
    from ..nn import Parameter

    rows = out_features or layer.out_features
    cols = in_features or layer.in_features
    for name, shape in (("weight", (rows, cols)), ("bias", (rows,))):
        old = getattr(layer, name)
        if old is None:
            continue
        values = host(old.detach())
        grown = rng.choice(values.ravel(), size=shape).astype(values.dtype)
        grown[tuple(slice(0, n) for n in values.shape)] = values
        setattr(layer, name, Parameter(tensor(grown, device=old.device, dtype=old.dtype)))
    layer.in_features, layer.out_features = cols, rows


def reinitialise(model: Any) -> None:
    """Give every layer its default init (reset_parameters), in place."""
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()


def snapshot(model: Any) -> dict[str, Any]:
    """Copies of every parameter's and buffer's array, by name."""
    return {k: t.data * 1 for k, t in model.state_dict().items()}  # * 1: a copy on any device


def restore(model: Any, state: dict[str, Any]) -> None:
    """Put a snapshot back into the model's own tensors (their gradients cleared)."""
    live = model.state_dict(keep_vars=True)
    for k, data in state.items():
        live[k].data = data * 1
        live[k].grad = None


def standardised(x: np.ndarray) -> np.ndarray:
    """x shifted and scaled to mean 0, std 1 over all its values."""
    xf = x.astype(np.float32)
    return (xf - xf.mean()) / max(float(xf.std()), 1e-12)


__all__ = [
    "Trial",
    "TrialRunner",
    "better",
    "reinitialise",
    "restore",
    "snapshot",
    "standardised",
    "widened",
]
