"""One forward pass recorded as a list of op nodes: what the exporter turns into ONNX.

A forward-op hook (`autograd.hooks.register_forward_op_hook`) sees every Function as it runs
(with its inputs as `parents`), under no_grad so no autograd graph is kept. Tensors that no op
made are the model input, its parameters and buffers (named as in its state dict), or
constants. A constant that changes when the input does (made by a comparison, argmax, .item()
... outside the op graph) would be frozen into the file, so the forward runs twice and such a
constant is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.hooks import register_forward_op_hook
from ..autograd.joining import cat
from ..autograd.tensor import Tensor
from ..nn.module import Module


class ExportError(ValueError):
    """The model can't be written as ONNX; the message names the op and why."""


@dataclass
class OpNode:
    fn: Any  # the Function object: its type name and parameter attributes
    inputs: tuple[Tensor, ...]
    output: Tensor

    @property
    def name(self) -> str:
        return type(self.fn).__name__


@dataclass
class Trace:
    input: Tensor
    outputs: list[Tensor]
    nodes: list[OpNode]  # only those the outputs depend on, in the order they ran
    names: dict[int, str]  # id(tensor) -> state-dict name, for parameters and buffers

    def made_by(self) -> dict[int, OpNode]:
        return {id(node.output): node for node in self.nodes}


def trace(model: Module, example: Tensor) -> Trace:
    """Run `model(example)` once and record its ops; checks with a second, different input
    that no constant was computed from the input outside the op graph."""
    first = _run(model, example)
    n = example.shape[0] if example.ndim else 0
    if n > 1:  # the same images in another order, one repeated: new values and a new batch size
        _check_same_graph(first, _run(model, cat([example[1:], example[:2]])))
    return first


def _run(model: Module, example: Tensor) -> Trace:
    recorded: list[OpNode] = []
    made_at: dict[int, int] = {}  # id(output) -> its version when its op made it

    def record(fn: Any, out: Tensor) -> None:
        for t in fn.parents:
            _not_changed_in_place(t, made_at, f"an input of {fn.name}")
        recorded.append(OpNode(fn, tuple(fn.parents), out))
        made_at[id(out)] = out._version[0]

    with register_forward_op_hook(record), no_grad():
        result = model(example)
    outputs = list(result) if isinstance(result, tuple | list) else [result]
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise ExportError(
            f"the model returned {type(result).__name__}; export needs a Tensor or a tuple of them"
        )
    for t in outputs:
        _not_changed_in_place(t, made_at, "an output")
    names = {id(t): k for k, t in model.named_parameters()}
    names.update({id(t): k for k, t in model.named_buffers()})
    return Trace(example, outputs, _needed(recorded, outputs), names)


def _not_changed_in_place(t: Tensor, made_at: dict[int, int], what: str) -> None:
    if made_at.get(id(t), t._version[0]) != t._version[0]:
        raise ExportError(
            f"{what} was changed in place after the op that made it ran (x += ..., x[i] = ..., "
            "x.relu_()): export records the ops that make values, and an in-place change makes "
            "none; write it out of place (x = x + ...)"
        )


def _needed(recorded: list[OpNode], outputs: list[Tensor]) -> list[OpNode]:
    made_by = {id(node.output): node for node in recorded}
    keep: set[int] = set()
    todo = [t for t in outputs]
    while todo:
        t = todo.pop()
        node = made_by.get(id(t))
        if node is not None and id(node) not in keep:
            keep.add(id(node))
            todo.extend(node.inputs)
    return [node for node in recorded if id(node) in keep]


def _check_same_graph(a: Trace, b: Trace) -> None:
    if [n.name for n in a.nodes] != [n.name for n in b.nodes]:
        raise ExportError(
            "the model runs different ops for different inputs (Python control flow on tensor "
            "values); ONNX export records one fixed graph"
        )
    made_a, made_b = a.made_by(), b.made_by()
    for na, nb in zip(a.nodes, b.nodes):
        for i, (ta, tb) in enumerate(zip(na.inputs, nb.inputs)):
            if id(ta) in made_a or ta is a.input or id(ta) in a.names:
                continue
            if id(tb) in made_b or tb is b.input:
                break
            if ta.shape != tb.shape or not np.array_equal(ta.detach().numpy(), tb.detach().numpy()):
                raise ExportError(
                    f"input {i} of {na.name} changes with the input but was computed outside the "
                    "op graph (a comparison, argmax, logsumexp, .item(), a NumPy call, a mean "
                    "over the batch or a new random tensor each call), so ONNX would freeze it; "
                    "write that step with differentiable Tensor ops"
                )
