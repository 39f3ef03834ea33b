"""Probe: the one way the diagnostics look inside a model. Run a batch through it and record
its layers and per-layer activations (run_probe, record_loss), then its per-layer weights and
gradient norms (layer_weights, l2_norms).

A forward hook sees every op as it is made. Layers (Linear and Conv2d ops) are named by the
innermost running Module; each Sigmoid, Tanh or Relu is attributed to the layer that ran just
before it, so one shared activation module (as in nn.MLP) or a functional `F.relu` still gives
one record per layer. Only `_recording` touches autograd's hook state. Statistics are reduced
on the model's device and moved to the host explicitly (`device.to_numpy`), never implicitly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import in_backward, set_grad_enabled
from ..autograd.hooks import RemovableHandle, register_forward_op_hook, running_modules
from ..autograd.tensor import Tensor
from ..backend.device import Device
from ..backend.registry import device_of_array, get_default_device
from .thresholds import SATURATION_HIGH, SATURATION_LOW

ACTIVATION_OPS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu"}
LAYER_OPS = ("Linear", "Conv2d")


@dataclass
class LayerUse:
    """One call of a Linear or Conv2d op: its module path and its fan-in and width."""

    name: str
    op: str
    in_features: int
    out_features: int

    def describe(self) -> str:
        return f"{self.name} ({self.op} {self.in_features}→{self.out_features})"


@dataclass
class ActivationUse:
    """The output of one Sigmoid/Tanh/Relu op, attributed to the layer that fed it."""

    kind: str
    after: str | None
    data: Any  # the raw output array, on the model's device
    in_loss: bool  # made inside loss_fn (e.g. mse_loss(out.sigmoid(), target))
    position: int  # index of its op in the model's (or loss_fn's) op list
    output: bool = False  # follows the last layer: an output activation, not a hidden one


@dataclass
class Trace:
    """What one forward pass (model, then loss_fn) did."""

    layers: list[LayerUse] = field(default_factory=list)
    activations: list[ActivationUse] = field(default_factory=list)
    model_ops: list[str] = field(default_factory=list)
    loss_ops: list[str] = field(default_factory=list)
    output: Tensor | None = None
    loss: Tensor | None = None
    last_layer_op: int = -1  # index in model_ops of the last Linear/Conv2d op

    def hidden_activations(self) -> list[ActivationUse]:
        return [a for a in self.activations if not a.output]

    def output_ops(self) -> list[str]:
        """Ops after the last layer: in the model's forward, then in loss_fn."""
        last = self.last_layer_op
        return self.model_ops[last + 1 :] + self.loss_ops


def _activation_kind(op_kind: str, module: Any) -> str:
    """What to call an activation op: by its op, unless it runs inside a leaf module of another
    activation (Mish, GELU, SiLU build on tanh or sigmoid): then by that module, "mish"."""
    if module is None or next(iter(module.children()), None) is not None:
        return op_kind
    own = type(module).__name__.lower()
    return op_kind if own in ACTIVATION_OPS.values() else own


class _Recorder:
    """Builds a Trace from the ops it is shown (by `_recording`)."""

    def __init__(self, names: dict[int, str], root: str) -> None:
        self.names = names
        self.root = root
        self.trace = Trace()
        self.in_loss = False

    def record(self, fn: Function, out: Tensor, module: Any) -> None:
        """One op made in forward; `module` is the innermost Module running it (or None)."""
        name = fn.name
        trace = self.trace
        ops = trace.loss_ops if self.in_loss else trace.model_ops
        ops.append(name)
        if name in LAYER_OPS and not self.in_loss:
            trace.layers.append(self._layer(fn, name, module))
            trace.last_layer_op = len(ops) - 1
        elif name in ACTIVATION_OPS:
            after = trace.layers[-1].name if trace.layers else None
            kind = _activation_kind(ACTIVATION_OPS[name], module)
            trace.activations.append(
                ActivationUse(kind, after, out.data, self.in_loss, len(ops) - 1)
            )

    def _layer(self, fn: Function, op: str, module: Any) -> LayerUse:
        label = self.names.get(id(module)) if module is not None else None
        if label == "":
            label = self.root
        if label is None:
            label = f"{op.lower()}#{len(self.trace.layers)}"
        w = fn.parents[1].shape
        fan_in = w[1] if op == "Linear" else int(np.prod(w[1:]))
        return LayerUse(label, op, int(fan_in), int(w[0]))


def _recording(rec: _Recorder) -> RemovableHandle:
    """Show `rec` every op made in forward while the block runs. The one function that uses
    autograd's hooks (a forward-op hook, the running-module stack)."""

    def on_forward(fn: Function, out: Tensor) -> None:
        if not in_backward():
            stack = running_modules()
            rec.record(fn, out, stack[-1] if stack else None)

    return register_forward_op_hook(on_forward)


def run_probe(model: Any, x: Tensor, grad: bool = False) -> Trace:
    """Run model(x) once, recording its layers, activations and ops."""
    named = getattr(model, "named_modules", None)
    names = {id(m): n for n, m in named()} if named is not None else {}
    rec = _Recorder(names, type(model).__name__)
    with _recording(rec), set_grad_enabled(grad):
        rec.trace.output = model(x)
    _mark_outputs(rec.trace)
    return rec.trace


def record_loss(trace: Trace, loss_fn: Callable[[Any, Any], Any], y: Any, grad: bool) -> Any:
    """loss_fn(trace.output, y), with the ops it runs recorded into the same trace."""
    rec = _Recorder({}, "")
    rec.trace, rec.in_loss = trace, True
    with _recording(rec), set_grad_enabled(grad):
        trace.loss = loss_fn(trace.output, y)
    _mark_outputs(trace)
    return trace.loss


def _mark_outputs(trace: Trace) -> None:
    for a in trace.activations:  # after the last layer op: the network's output activation
        a.output = a.in_loss or a.position > trace.last_layer_op


# --- activation statistics ------------------------------------------------------------------
@dataclass
class UnitStats:
    """Per-unit statistics of one activation over a batch (host NumPy vectors)."""

    kind: str
    layer: str | None
    stuck: np.ndarray  # fraction of samples where the unit is saturated (sigmoid/tanh) or 0 (relu)
    std: np.ndarray  # spread of the unit's output across the batch
    mean: np.ndarray

    @property
    def units(self) -> int:
        return int(self.stuck.shape[0])


def unit_stats(act: ActivationUse, device: Device) -> UnitStats:
    """Reduce an activation over the batch on its device; move three small vectors to the host."""
    xp = device.xp
    a = act.data
    if a.ndim == 4:  # (N, C, H, W): a unit is a channel
        a = xp.reshape(xp.permute_dims(a, (0, 2, 3, 1)), (-1, a.shape[1]))
    elif a.ndim != 2:
        a = xp.reshape(a, (a.shape[0] if a.ndim else 1, -1))
    if act.kind == "sigmoid":
        stuck = (a < SATURATION_LOW) | (a > SATURATION_HIGH)
    elif act.kind == "tanh":
        stuck = xp.abs(a) > 2 * SATURATION_HIGH - 1
    elif act.kind == "relu":
        stuck = a <= 0
    else:  # part of a composite activation (mish's tanh): its own range says nothing
        stuck = a != a
    rows = [xp.mean(xp.astype(stuck, a.dtype), axis=0), xp.std(a, axis=0), xp.mean(a, axis=0)]
    host = device.to_numpy(xp.stack(rows)).astype(np.float64)
    return UnitStats(act.kind, act.after, host[0], host[1], host[2])


# --- per-layer weights and gradients --------------------------------------------------------
def layer_weights(model: Any, trace: Trace) -> list[tuple[str, Tensor]]:
    """(layer name, weight) for every trainable parameter with 2+ dims, in forward order, named
    as the trace names layers."""
    named = getattr(model, "named_parameters", None)
    if named is None:
        return []
    order = {layer.name: i for i, layer in reversed(list(enumerate(trace.layers)))}
    root = type(model).__name__
    found = []
    for i, (name, p) in enumerate(named()):
        if p.ndim < 2 or not p.requires_grad:
            continue
        layer = name.rpartition(".")[0] or root  # as the parameters are named: "0", "fc1"
        found.append((order.get(layer, len(order) + i), layer, p))
    found.sort(key=lambda t: t[0])
    return [(layer, p) for _, layer, p in found]


def l2_norms(device: Device, arrays: list[Any]) -> np.ndarray:
    """Euclidean norms of several arrays on `device`, with one transfer to the host."""
    if not arrays:
        return np.zeros(0)
    xp = device.xp
    sums = xp.stack([xp.sum(a * a) for a in arrays])
    return np.sqrt(device.to_numpy(sums).astype(np.float64))


def gradient_norms(weights: list[tuple[str, Tensor]]) -> tuple[np.ndarray, np.ndarray]:
    """(gradient norms, weight norms) of each layer weight after a backward, one transfer;
    a weight with no gradient counts as gradient 0."""
    if not weights:
        return np.zeros(0), np.zeros(0)
    grads = [p.grad.data if p.grad is not None else p.data * 0 for _, p in weights]
    norms = l2_norms(weights[0][1].device, grads + [p.data for _, p in weights])
    return norms[: len(weights)], norms[len(weights) :]


# --- moving user data -------------------------------------------------------------------------
def host(x: Any) -> np.ndarray:
    """A NumPy copy of user data: a Tensor, a raw device array, a NumPy array or a list."""
    if isinstance(x, Tensor):
        return x.device.to_numpy(x.data)
    if isinstance(x, np.ndarray | np.generic | list | tuple | int | float):
        return np.asarray(x)
    return device_of_array(x).to_numpy(x)


def model_device(model: Any) -> Device:
    params = getattr(model, "parameters", None)
    if params is not None:
        for p in params():
            return p.device
    return get_default_device()


def model_float_dtype(model: Any) -> np.dtype:
    params = getattr(model, "parameters", None)
    if params is not None:
        for p in params():
            if p.dtype.kind == "f":
                return p.dtype
    return np.dtype("float32")


def as_input(x: Any, device: Device, dtype: np.dtype) -> Tensor:
    """x as a constant Tensor on `device`; floating data in the model's float dtype."""
    if isinstance(x, Tensor):
        t = x.detach()
        if t.device is not device:
            t = t.to(device)
        if t.dtype.kind == "f" and t.dtype != dtype:
            t = t.to(dtype)
        return t
    arr = host(x)
    if arr.dtype.kind == "f":
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind in "iub":
        arr = arr.astype(np.int64, copy=False)
    return Tensor(arr, device=device)


def take_rows(x: Tensor, idx: np.ndarray) -> Tensor:
    """Rows `idx` of a Tensor (indices moved to its device explicitly)."""
    dev = x.device
    index = Tensor(np.asarray(idx, dtype=np.int64), device=dev)
    return x[index]


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Switch every submodule to eval() (no dropout noise), then restore each one's own flag."""
    modules = list(model.modules()) if hasattr(model, "modules") else []
    flags = [m.training for m in modules]
    for m in modules:
        m.__dict__["training"] = False
    try:
        yield
    finally:
        for m, flag in zip(modules, flags):
            m.__dict__["training"] = flag


__all__ = [
    "ActivationUse",
    "LayerUse",
    "Trace",
    "UnitStats",
    "as_input",
    "eval_mode",
    "gradient_norms",
    "host",
    "l2_norms",
    "layer_weights",
    "model_device",
    "model_float_dtype",
    "record_loss",
    "run_probe",
    "take_rows",
    "unit_stats",
]
