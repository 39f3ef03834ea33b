"""Reverse-mode backward: run every node's backward rule newest first, reduce broadcast
gradients to their inputs' shapes (`sum_to`, the one central place for it), and deliver the
results to leaves' `.grad`, to `tg.grad`'s inputs, or to tensor hooks.
"""

from __future__ import annotations

import heapq
import math
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import GradientError, ShapeError
from . import function
from .function import Function
from .grad_mode import current as _mode
from .grad_mode import set_grad_enabled
from .hooks import state as _hooks

if TYPE_CHECKING:
    from .tensor import Tensor


# Hooks of leaf tensors (Tensor.register_hook) by id(leaf), dropped when the leaf dies; a
# non-leaf tensor's hooks live on the node that made it (`grad_hooks`).
leaf_hooks: dict[int, dict] = {}


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
    observers, rule_hooks = _hooks.grad, _hooks.backward_rule
    pop, push = heapq.heappop, heapq.heappush
    outlines: dict[int, Any] = {}  # id(input) -> its outline, one per tensor
    with set_grad_enabled(create_graph):
        while heap:
            node = pop(heap)[1]
            key = id(node)
            grad = pending.pop(key)
            if node.parents is None:
                raise _freed(node)
            if node.grad_hooks is not None:
                grad = _run_tensor_hooks(node.grad_hooks, grad)
            if captured is not None and key in captured:
                captured[key] = grad
            if observers:
                for observe in tuple(observers):
                    observe(node, grad)
            node._check_versions()
            raw = node.backward_arrays
            with node.device.context:  # CuPy runs kernels on the current GPU
                if raw is None or create_graph:
                    parent_grads = node.backward(grad)
                else:  # not recorded: the op's raw-array rule, without Tensor-op overhead
                    parent_grads = _wrap(node, raw(grad.data))
            if type(parent_grads) is not tuple:
                parent_grads = (parent_grads,)
            if rule_hooks:
                for hook in tuple(rule_hooks):
                    hook(node, parent_grads)
            for i, (parent, pg) in enumerate(zip(node.parents, parent_grads)):
                if pg is None or not parent.requires_grad:
                    continue
                if pg.data.shape != parent.data.shape:
                    pg = sum_to(pg, parent.shape, node, i)
                ctx = parent._ctx
                if ctx is not None and ctx.seq > node.seq:  # re-based in place after this node
                    ctx = function.history_before(ctx, node.seq)
                    if ctx is None:  # it was a constant then
                        continue
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
                node.graph_inputs = _outlines(node, outlines)
                node.parents = None  # frees the saved inputs, and with _saved the arrays
                node._saved = None
                node.__dict__.pop("seen_parents", None)


class TensorOutline:
    """What a freed graph remembers of a tensor: where it came from (``_ctx``), its shape,
    dtype and device, never its values. Backward swaps a node's inputs for these, so the graph's
    structure can still be drawn (`viz.draw(loss)` after `loss.backward()`) while the arrays
    are freed, as PyTorch keeps `grad_fn.next_functions`."""

    __slots__ = ("_ctx", "shape", "dtype", "device", "requires_grad", "name")
    data = None
    grad = None

    def __init__(self, t: Tensor) -> None:
        data, self.device = t.data, t.device
        self._ctx, self.shape, self.dtype = t._ctx, data.shape, self.device.numpy_dtype(data)
        self.requires_grad, self.name = t.requires_grad, t.name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def numel(self) -> int:
        return int(math.prod(self.shape))


def _outlines(node: Function, outlines: dict[int, Any]) -> tuple:
    """A node's inputs, as they were when it was made, as the freed graph keeps them: leaves
    that take gradients themselves (parameters: the model keeps them alive anyway, and their
    .grad is worth drawing), every other tensor as a `TensorOutline`, so no activation or input
    array stays alive. One outline per live input tensor (`outlines`, by id: those are alive for
    the whole backward); an input changed in place since the node was made is outlined as the
    older history it stands for (`parents_as_seen`)."""
    seq, kept = node.seq, []
    for i, t in enumerate(node.parents):
        ctx = t._ctx
        if ctx is None and t.requires_grad:
            kept.append(t)
        elif ctx is not None and ctx.seq > seq:
            kept.append(TensorOutline(function.parents_as_seen(node)[i]))
        else:
            outline = outlines.get(id(t))
            if outline is None:
                outline = outlines[id(t)] = TensorOutline(t)
            kept.append(outline)
    return tuple(kept)


def _wrap(node: Function, arrays: Any) -> tuple:
    """A raw-array rule's results as constant tensors on the node's device."""
    if type(arrays) is not tuple:
        arrays = (arrays,)
    make, device = function._make_tensor, node.device
    return tuple([None if a is None else make(a, device, False) for a in arrays])


def _run_tensor_hooks(tensor_hooks: dict, grad: Tensor) -> Tensor:
    """Tensor.register_hook functions, in order; one that returns a tensor replaces the grad."""
    for hook in tuple(tensor_hooks.values()):
        new = hook(grad)
        if new is not None:
            grad = new
    return grad


class RetainGrad:
    """The tensor hook behind Tensor.retain_grad(): keep a copy of the gradient as `.grad`."""

    def __init__(self, tensor: Tensor) -> None:
        self.owner = weakref.ref(tensor)

    def __call__(self, grad: Tensor) -> None:
        owner = self.owner()
        if owner is not None:
            owner.grad = _copy(grad)


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
    if leaf_hooks:
        own = leaf_hooks.get(id(leaf))
        if own:
            grad = _run_tensor_hooks(own, grad)
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
    return function._make_tensor(grad.device.copy(grad.data), grad.device, False)
