"""The autograd engine: Function nodes, grad mode, and reverse-mode backward.

A Function's forward works on raw arrays; its backward is written with Tensor ops, so the
backward pass can itself be recorded (create_graph=True) and differentiated again.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import GradientError, ShapeError

if TYPE_CHECKING:
    from .tensor import Tensor


class _GradMode(threading.local):
    enabled = True
    in_backward = False  # True while the engine runs backward rules


_mode = _GradMode()
# Callbacks (node, grad) told of every gradient that reaches a node; used by viz and the doctor.
grad_observers: list[Any] = []
# Callbacks (node, input_grads) told of what each backward returned (anomaly mode).
backward_hooks: list[Any] = []
# Hooks run on every new node and output (anomaly mode); empty in normal runs.
forward_hooks: list[Any] = []
# Creation order of recorded nodes; backward processes nodes from the newest down.
_sequence = itertools.count()
# Set by tensor.py: the fast Tensor constructor (data, device, requires_grad) -> Tensor.
_make_tensor: Any = None
# Modules whose forward is running, innermost last (Module.__call__ pushes and pops); each new
# node records the innermost as `scope`, so pictures can group ops by module.
module_stack: list[Any] = []


def is_grad_enabled() -> bool:
    return _mode.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager and decorator that turns graph recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        _mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self.prev


class no_grad(set_grad_enabled):
    """Ops inside record no graph: for evaluation and optimizer updates."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a no_grad block."""

    def __init__(self) -> None:
        super().__init__(True)


class Function:
    """One differentiable op. Subclasses define forward(*arrays) and backward(grad) -> grads.

    A node keeps its input tensors (`parents`) and what backward needs, never its output,
    so no reference cycle forms between a tensor and the node that made it.
    """

    __slots__ = (
        "parents",
        "versions",
        "device",
        "out_shape",
        "out_version",
        "retained",
        "scope",
        "seq",
        "__dict__",
    )
    differentiable = True
    # Whether backward reads its inputs' values (then an in-place change to them is an error).
    uses_inputs = True
    # Whether backward reads the op's own output (then changing the output in place is an error).
    saves_output = False

    @classmethod
    def apply(cls, *tensors: Tensor, **kwargs: Any) -> Tensor:
        """Run forward on the inputs' arrays; record a node when any input requires grad."""
        fn = cls()
        first = tensors[0]
        device = fn.device = first.device
        if len(tensors) == 1:
            data = fn.forward(first.data, **kwargs)
            requires = first.requires_grad
        else:
            requires = False
            for t in tensors:
                if t.device is not device:
                    _device_mismatch(cls.__name__, tensors)
                requires = requires or t.requires_grad
            try:
                data = fn.forward(*[t.data for t in tensors], **kwargs)
            except ValueError as exc:
                _shape_mismatch(cls.__name__, tensors, exc)
        requires = requires and _mode.enabled and cls.differentiable
        out = _make_tensor(data, fn.device, requires)  # fn.device changes on a device move
        if requires:
            fn.parents = tensors
            if cls.uses_inputs:
                fn.versions = [t._version[0] for t in tensors]
            if cls.saves_output:
                fn.out_version = out._version
            fn.out_shape = data.shape
            fn.retained = None
            fn.scope = module_stack[-1] if module_stack else None
            fn.seq = next(_sequence)  # made after its inputs' nodes: a topological order for free
            out._ctx = fn
        if forward_hooks:
            if not requires:
                fn.parents = tensors  # hooks may look at the inputs; nothing records this node
            for hook in forward_hooks:
                hook(fn, out)
        return out

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *arrays: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Tensor) -> Any:
        raise NotImplementedError

    @property
    def xp(self) -> Any:
        return self.device.xp

    def const(self, array: Any) -> Tensor:
        """Wrap a raw array as a constant tensor (no graph) on this node's device."""
        return _make_tensor(array, self.device, False)

    def saved(self, array: Any, recompute: Any) -> Tensor:
        """A value backward needs: the saved array when backward is not being recorded,
        else recomputed from the inputs with Tensor ops, so higher derivatives stay exact."""
        if _mode.enabled:
            return recompute(*self.parents)
        return self.const(array)

    def _check_versions(self) -> None:
        cls = type(self)
        if cls.uses_inputs:
            for t, v in zip(self.parents, self.versions):
                if t._version[0] != v:
                    self._changed_input()
        if cls.saves_output and self.out_version[0] != 0:
            raise GradientError(
                f"the output of {self.name} (shape {self.out_shape}) was modified in place, but "
                "its backward needs the original value. Use an out-of-place op or .clone() it."
            )

    def _changed_input(self) -> None:
        for i, (t, v) in enumerate(zip(self.parents, self.versions)):
            if t._version[0] != v:
                raise GradientError(
                    f"one of the tensors needed to compute gradients ({self.name}'s input {i}, "
                    f"shape {tuple(t.shape)}) was modified in place after it was used "
                    f"(version {v} -> {t._version[0]}). Use an out-of-place op (x = x + 1 "
                    f"instead of x += 1), or .clone() the tensor before changing it."
                )


def _device_mismatch(op: str, tensors: Sequence[Tensor]) -> None:
    from ..errors import DeviceMismatchError

    args = ", ".join(f"argument {i} on '{t.device}'" for i, t in enumerate(tensors))
    first = tensors[0].device
    raise DeviceMismatchError(
        f"{op}: expected all tensors on the same device, got {args}. "
        f"Move them with .to('{first}') (or move the model with model.to(device); "
        f"an optimizer built before or after the move keeps working)."
    )


def _shape_mismatch(op: str, tensors: Sequence[Tensor], exc: Exception) -> None:
    if "broadcast" not in str(exc):
        raise exc
    shapes = [tuple(t.shape) for t in tensors]
    fault = ""
    for k in range(1, max(len(s) for s in shapes) + 1):
        sizes = {s[-k] for s in shapes if len(s) >= k} - {1}
        if len(sizes) > 1:
            fault = f" (dimension {-k}: sizes {' vs '.join(str(n) for n in sorted(sizes))})"
            break
    raise ShapeError(
        f"{op}: shapes {' and '.join(map(str, shapes))} can't be broadcast together{fault}: "
        "each dimension, aligned from the right, must be equal or 1. Reshape or unsqueeze one "
        "operand (e.g. x.unsqueeze(-1)), or check which tensor has the wrong shape."
    ) from exc


def _freed(node: Function) -> GradientError:
    return GradientError(
        f"trying to backward through the graph a second time (through {node.name}): its "
        "saved values were freed after the first backward. Pass retain_graph=True to the "
        "first backward() if you need to call it twice, or recompute the forward pass."
    )


def sum_to(grad: Tensor, shape: tuple[int, ...], node: Function, index: int) -> Tensor:
    """Reduce a broadcast gradient back to its input's shape: the one central place for it."""
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead < 0:
        _bad_grad_shape(node, index, gshape, shape)
    axes = list(range(lead))
    for i, n in enumerate(shape):
        g = gshape[lead + i]
        if n == 1 and g != 1:
            axes.append(lead + i)
        elif n != g:
            _bad_grad_shape(node, index, gshape, shape)
    if len(axes) == lead:  # only leading dims were added (a bias): one sum, no reshape
        return grad.sum(dim=tuple(axes))
    out = grad.sum(dim=tuple(axes), keepdim=True) if axes else grad
    return out.reshape(shape)


def _bad_grad_shape(node: Function, index: int, got: tuple, want: tuple) -> None:
    raise ShapeError(
        f"internal error in {node.name}.backward: gradient for input {index} has shape {got}, "
        f"which does not reduce to the input's shape {want}. This is a bug in tinygrad_digits; "
        "please report it with the code that triggered it."
    )


def run_backward(
    roots: Sequence[Tensor],
    grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Propagate `grads` from `roots` to the leaves.

    With `inputs=None`, gradients accumulate into leaves' `.grad`; otherwise they are
    returned for `inputs` (as torch.autograd.grad does) and no `.grad` is touched.
    """
    captured: dict[int, Tensor | None] | None = None
    if inputs is not None:
        captured = {_grad_key(t): None for t in inputs}

    pending: dict[int, Tensor] = {}
    heap: list[tuple[int, Function]] = []
    for root, g in zip(roots, grads):
        node = root._ctx
        if node is None:
            _deliver_leaf(root, g, captured, None)
        elif id(node) in pending:
            pending[id(node)] = pending[id(node)] + g
        else:
            pending[id(node)] = g
            heap.append((-node.seq, node))
    heapq.heapify(heap)
    outer, _mode.in_backward = _mode.in_backward, True
    try:
        _propagate(heap, pending, captured, retain_graph, create_graph)
    finally:
        _mode.in_backward = outer
    if captured is None:
        return None
    return [captured[_grad_key(t)] for t in inputs]


def _grad_key(t: Tensor) -> int:
    """Where a tensor's gradient is collected: its node, or the leaf itself."""
    return id(t._ctx) if t._ctx is not None else id(t)


def in_backward() -> bool:
    """Whether the engine is running backward rules now (their ops are not user code)."""
    return _mode.in_backward


def _propagate(
    heap: list[tuple[int, Function]],
    pending: dict[int, Tensor],
    captured: dict[int, Tensor | None] | None,
    retain_graph: bool,
    create_graph: bool,
) -> None:
    """Run backward rules newest node first: every node is made after the nodes of its inputs,
    so by the time a node is popped, all gradients flowing into it have arrived (iterative,
    so 10,000-op chains need no recursion)."""
    observers, hooks = grad_observers, backward_hooks
    pop, push = heapq.heappop, heapq.heappush
    with set_grad_enabled(create_graph):
        while heap:
            node = pop(heap)[1]
            key = id(node)
            grad = pending.pop(key)
            if node.parents is None:
                raise _freed(node)
            if captured is not None and key in captured:
                captured[key] = grad
            if node.retained is not None:
                owner = node.retained()
                if owner is not None:
                    owner.grad = _copy(grad)
            if observers:
                for observe in observers:
                    observe(node, grad)
            node._check_versions()
            parent_grads = node.backward(grad)
            if type(parent_grads) is not tuple:
                parent_grads = (parent_grads,)
            if hooks:
                for hook in hooks:
                    hook(node, parent_grads)
            for i, (parent, pg) in enumerate(zip(node.parents, parent_grads)):
                if pg is None or not parent.requires_grad:
                    continue
                if pg.data.shape != parent.data.shape:
                    pg = sum_to(pg, parent.shape, node, i)
                ctx = parent._ctx
                if ctx is None:
                    _deliver_leaf(parent, pg, captured, grad)
                else:
                    k = id(ctx)
                    if k in pending:
                        pending[k] = pending[k] + pg
                    else:
                        pending[k] = pg
                        push(heap, (-ctx.seq, ctx))
            if not retain_graph:
                node.parents = None
                node.__dict__.clear()


def _fresh(grad: Tensor, upstream: Tensor) -> Tensor:
    """A gradient that owns its memory, so in-place changes to one .grad never touch another.

    A rule's result is copied when it is the upstream gradient passed through (Add hands the
    same array to both inputs) or a view of some other array (reshape, expand, transpose)."""
    data = grad.data
    if data is upstream.data or not grad.device.owns_memory(data):
        return _copy(grad)
    return grad


def _deliver_leaf(
    leaf: Tensor, grad: Tensor, captured: dict[int, Tensor | None] | None, upstream: Tensor | None
) -> None:
    if captured is not None:
        key = id(leaf)
        if key in captured:
            old = captured[key]
            captured[key] = grad if old is None else old + grad
        return
    if leaf.grad is None:
        leaf.grad = _copy(grad) if upstream is None else _fresh(grad, upstream)
    else:
        leaf.grad = leaf.grad + grad


def _copy(grad: Tensor) -> Tensor:
    if grad.requires_grad:
        return grad + 0  # a recorded copy, so create_graph gradients stay differentiable
    return _make_tensor(grad.device.copy(grad.data), grad.device, False)
