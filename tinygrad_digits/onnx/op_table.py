"""Each op of a forward pass as ONNX nodes: one converter per Function name, in one table.

A converter gets the graph being built (`g`), the recorded node and its inputs' value names,
and returns the name of the value that stands for the op's output. It reads only the node's
type name, its inputs and plain parameter attributes the op keeps (an axis, an exponent, a
Window), so this table is the one place that knows what each op stores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .tracer import ExportError, OpNode

INT64_MAX = 2**63 - 1


class GraphBuilder(Protocol):
    batch: int | None  # the traced batch size when the batch dimension is dynamic

    def add(self, op: str, inputs: list[str], **attrs: Any) -> str: ...

    def const(self, array: np.ndarray) -> str: ...


Converter = Callable[[GraphBuilder, OpNode, list[str]], str]


def _same(op: str) -> Converter:
    return lambda g, node, ins: g.add(op, ins)


def _ints(g: GraphBuilder, values: Any) -> str:
    return g.const(np.asarray(list(values), dtype=np.int64))


def _scalar(g: GraphBuilder, node: OpNode, value: float) -> str:
    return g.const(np.asarray(value, dtype=node.inputs[0].dtype))


def _pow_scalar(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    return g.add("Pow", [ins[0], _scalar(g, node, node.fn.exponent)])


def _log1p(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    return g.add("Log", [g.add("Add", [ins[0], _scalar(g, node, 1.0)])])


def _softplus(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    fn = node.fn  # torch's: log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
    bx = g.add("Mul", [ins[0], _scalar(g, node, fn.beta)])
    soft = g.add("Div", [g.add("Softplus", [bx]), _scalar(g, node, fn.beta)])
    return g.add("Where", [g.add("Greater", [bx, _scalar(g, node, fn.threshold)]), ins[0], soft])


def _clamp(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    low, high = node.fn.low, node.fn.high
    bounds = ["" if v is None else _scalar(g, node, v) for v in (low, high)]
    return g.add("Clip", [ins[0], *bounds])


def _masked(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    mask = g.const(np.asarray(node.fn.saved_arrays["mask"]))
    return g.add("Where", [mask, ins[0], _scalar(g, node, 0.0)])


def _linear(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    if node.inputs[0].ndim == 2:
        return g.add("Gemm", ins, transB=1)
    out = g.add("MatMul", [ins[0], g.add("Transpose", [ins[1]], perm=[1, 0])])
    return g.add("Add", [out, ins[2]]) if len(ins) == 3 else out


def _axes(node: OpNode) -> list[int]:
    axes = node.fn.axes
    return list(range(node.inputs[0].ndim)) if axes is None else list(axes)


def _reduce(op: str) -> Converter:
    def convert(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
        keep = int(node.output.ndim == node.inputs[0].ndim)
        return g.add(op, [ins[0], _ints(g, _axes(node))], keepdims=keep)

    return convert


def _amax(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    op = "ReduceMin" if node.fn.smallest else "ReduceMax"
    keep = int(node.output.ndim == node.inputs[0].ndim)
    return g.add(op, ins, axes=_axes(node), keepdims=keep)  # an attribute up to opset 17


def _reshape(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    shape = list(node.output.shape)
    if g.batch is not None and shape and node.inputs[0].shape[:1] == (g.batch,) == tuple(shape[:1]):
        shape[0] = 0  # ONNX: copy the (dynamic) batch size from the input
    return g.add("Reshape", [ins[0], _ints(g, shape)])


def _expand(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    shape = list(node.output.shape)
    if g.batch is not None and shape and node.inputs[0].shape[:1] == (g.batch,) == tuple(shape[:1]):
        shape[0] = 1  # broadcasting keeps the input's batch size
    return g.add("Expand", [ins[0], _ints(g, shape)])


def _cast(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    from onnx.helper import np_dtype_to_tensor_dtype

    return g.add("Cast", ins, to=int(np_dtype_to_tensor_dtype(node.output.dtype)))


def _pad(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    widths = node.fn.widths
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    return g.add("Pad", [ins[0], _ints(g, pads), _scalar(g, node, node.fn.value)], mode="constant")


def _getitem(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    if node.fn.advanced:
        raise ExportError(
            "GetItem with tensor or list indices (advanced indexing) can't be exported to "
            "ONNX; index with ints and slices, or use reshape/cat"
        )
    key = node.fn.key if isinstance(node.fn.key, tuple) else (node.fn.key,)
    ndim = node.inputs[0].ndim
    used = sum(k is not None and k is not Ellipsis for k in key)
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (ndim - used) + key[at + 1 :]
    out, axis = ins[0], 0
    for k in key:
        if k is None:
            out = g.add("Unsqueeze", [out, _ints(g, [axis])])
            axis += 1
        elif isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else k.step
                start = k.start if k.start is not None else (0 if step > 0 else -1)
                stop = k.stop if k.stop is not None else (INT64_MAX if step > 0 else -INT64_MAX)
                out = g.add(
                    "Slice",
                    [out, _ints(g, [start]), _ints(g, [stop]), _ints(g, [axis]), _ints(g, [step])],
                )
            axis += 1
        else:  # an int: Gather with a scalar index drops the axis
            out = g.add("Gather", [out, g.const(np.asarray(int(k), np.int64))], axis=axis)
    return out


def _stepwise(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    fn = node.fn.fn
    if fn == "trunc":  # no Trunc in ONNX: sign(x) floor(|x|)
        return g.add("Mul", [g.add("Sign", ins), g.add("Floor", [g.add("Abs", ins)])])
    return g.add(fn.capitalize(), ins)


def _silu(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    return g.add("Mul", [ins[0], g.add("Sigmoid", ins)])


def _remainder(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    a, b = ins  # a - b floor(a / b): ONNX's float Mod has C's sign rule, not Python's
    return g.add("Sub", [a, g.add("Mul", [b, g.add("Floor", [g.add("Div", [a, b])])])])


def _flip(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    n = len(node.fn.axes)
    starts, ends = _ints(g, [-1] * n), _ints(g, [-INT64_MAX] * n)
    return g.add("Slice", [ins[0], starts, ends, _ints(g, node.fn.axes), _ints(g, [-1] * n)])


def _prod(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    keep = int(node.output.ndim == node.inputs[0].ndim)
    return g.add("ReduceProd", ins, axes=[node.fn.axis], keepdims=keep)  # attribute to opset 17


def _conv2d(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    win = node.fn.win
    top, bottom, left, right = win.pads
    return g.add(
        "Conv",
        ins,
        kernel_shape=list(win.kernel),
        strides=list(win.stride),
        dilations=list(win.dilation),
        pads=[top, left, bottom, right],
        group=node.fn.groups,
    )


def _pool_attrs(win: Any) -> dict[str, Any]:
    top, bottom, left, right = win.pads
    return {
        "kernel_shape": list(win.kernel),
        "strides": list(win.stride),
        "pads": [top, left, bottom, right],
    }


def _max_pool(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    win = node.fn.win
    return g.add("MaxPool", ins, dilations=list(win.dilation), **_pool_attrs(win))


def _window_sum(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    """avg_pool2d's window sums: an average over the full window (padding counts) times its size."""
    win = node.fn.win
    if "masks" in node.fn.saved_arrays or win.dilation != (1, 1):
        raise ExportError("WindowGather with masks or dilation (a backward op) can't be exported")
    mean = g.add("AveragePool", ins, count_include_pad=1, **_pool_attrs(win))
    return g.add("Mul", [mean, _scalar(g, node, win.kernel[0] * win.kernel[1])])


CONVERTERS: dict[str, Converter] = {
    "Add": _same("Add"),
    "Sub": _same("Sub"),
    "Mul": _same("Mul"),
    "Div": _same("Div"),
    "Pow": _same("Pow"),
    "Maximum": _same("Max"),
    "Minimum": _same("Min"),
    "Where": _same("Where"),
    "Neg": _same("Neg"),
    "Exp": _same("Exp"),
    "Log": _same("Log"),
    "Sqrt": _same("Sqrt"),
    "Abs": _same("Abs"),
    "Tanh": _same("Tanh"),
    "Sigmoid": _same("Sigmoid"),
    "Relu": _same("Relu"),
    "Erf": _same("Erf"),
    "MatMul": _same("MatMul"),
    "ToDevice": _same("Identity"),
    "PowScalar": _pow_scalar,
    "LeakyRelu": lambda g, node, ins: g.add("LeakyRelu", ins, alpha=float(node.fn.slope)),
    "Log1p": _log1p,
    "Softplus": _softplus,
    "Clamp": _clamp,
    "Masked": _masked,
    "Linear": _linear,
    "Sum": _reduce("ReduceSum"),
    "Amax": _amax,
    "Softmax": lambda g, node, ins: g.add("Softmax", ins, axis=node.fn.axis),
    "LogSoftmax": lambda g, node, ins: g.add("LogSoftmax", ins, axis=node.fn.axis),
    "Reshape": _reshape,
    "Permute": lambda g, node, ins: g.add("Transpose", ins, perm=list(node.fn.dims)),
    "Expand": _expand,
    "Cast": _cast,
    "Concat": lambda g, node, ins: g.add("Concat", ins, axis=node.fn.axis),
    "Pad": _pad,
    "GetItem": _getitem,
    "Conv2d": _conv2d,
    "MaxPool2d": _max_pool,
    "WindowGather": _window_sum,
    "Sin": _same("Sin"),
    "Cos": _same("Cos"),
    "Tan": _same("Tan"),
    "Stepwise": _stepwise,
    "Silu": _silu,
    "Remainder": _remainder,
    "Flip": _flip,
    "Prod": _prod,
    "CumSum": lambda g, node, ins: g.add("CumSum", [ins[0], g.const(np.asarray(node.fn.axis))]),
}

WHY_NOT = {
    "Dropout": "Dropout runs only in training mode; export puts the model in eval mode",
    "BatchNorm": "BatchNorm with batch statistics runs only in training mode",
}


def convert(g: GraphBuilder, node: OpNode, ins: list[str]) -> str:
    """The ONNX value for `node`'s output; a clear error for an op with no ONNX form."""
    converter = CONVERTERS.get(node.name)
    if converter is None:
        why = WHY_NOT.get(node.name, "it is not part of any forward pass ONNX can describe")
        raise ExportError(
            f"op {node.name} can't be exported to ONNX ({why}); exportable ops: "
            f"{', '.join(sorted(CONVERTERS))}"
        )
    return converter(g, node, ins)
