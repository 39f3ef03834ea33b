"""export(model, example_input, path): one traced forward pass written as an ONNX model.

Parameters and buffers become initializers under their state-dict names, constants get
numbered names, and every recorded op goes through op_table. The model runs in eval mode
(dropout off, batch norm on its running statistics) and is put back as it was.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..nn.module import Module
from .op_table import convert
from .tracer import ExportError, Trace, trace

OPSET = 17  # the op forms op_table writes (ReduceMax takes axes as an attribute)


class _Graph:
    """The ONNX graph being built: nodes, initializers and the name of each traced tensor."""

    def __init__(self, tr: Trace, batch: int | None) -> None:
        self.trace, self.batch = tr, batch
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.values: dict[int, str] = {}
        self._count = 0

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def add(self, op: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        out = self.fresh(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def const(self, array: np.ndarray, name: str | None = None) -> str:
        from onnx import numpy_helper

        name = name or self.fresh("const")
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def value(self, t: Tensor) -> str:
        """The name of a tensor no recorded op made: a parameter, a buffer or a constant."""
        if id(t) not in self.values:
            name = self.trace.names.get(id(t))
            self.values[id(t)] = self.const(t.detach().numpy(), name)
        return self.values[id(t)]


def export(
    model: Module,
    example_input: Tensor,
    path: str | os.PathLike[str],
    dynamic_batch: bool = True,
    *,
    input_name: str = "input",
    output_names: Sequence[str] | None = None,
    metadata: dict[str, str] | None = None,
) -> Any:
    """Write `model` as ONNX to `path` and return the onnx.ModelProto.

    `example_input` fixes the input's shape and dtype; with `dynamic_batch` its first dimension
    is a symbolic "batch" so the file takes any batch size. `metadata` goes into the model's
    metadata_props. Raises ExportError naming the op when one can't be exported.
    """
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the onnx package: pip install 'tinygrad-digits[onnx]'"
        ) from None
    from onnx import helper

    if not isinstance(example_input, Tensor):
        raise TypeError(f"example_input must be a Tensor, got {type(example_input).__name__}")
    was_training = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        tr = trace(model, example_input.detach())
    finally:
        for m, mode in was_training:
            m.training = mode
    batch = example_input.shape[0] if dynamic_batch and example_input.ndim else None
    g = _Graph(tr, batch)
    g.values[id(tr.input)] = input_name
    for node in tr.nodes:
        ins = [g.values[id(t)] if id(t) in g.values else g.value(t) for t in node.inputs]
        g.values[id(node.output)] = convert(g, node, ins)
    names = list(output_names or (["output"] if len(tr.outputs) == 1 else []))
    names += [f"output_{i}" for i in range(len(names), len(tr.outputs))]
    for t, name in zip(tr.outputs, names):
        source = g.values[id(t)] if id(t) in g.values else g.value(t)
        g.nodes.append(helper.make_node("Identity", [source], [name], name=name))
    graph = helper.make_graph(
        g.nodes,
        "tinygrad_digits",
        [_value_info(input_name, tr.input, batch)],
        [_value_info(name, t, batch) for t, name in zip(tr.outputs, names)],
        g.initializers,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tinygrad_digits",
    )
    proto.ir_version = min(proto.ir_version, 10)  # readable by onnxruntime releases since 1.20
    helper.set_model_props(proto, dict(metadata or {}))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported graph does not pass onnx.checker: {exc}") from None
    onnx.save(proto, os.fspath(path))
    return proto


def _value_info(name: str, t: Tensor, batch: int | None) -> Any:
    from onnx import helper

    dims: list[Any] = list(t.shape)
    if batch is not None and dims and dims[0] == batch:
        dims[0] = "batch"
    return helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)), dims
    )


__all__ = ["ExportError", "export"]
