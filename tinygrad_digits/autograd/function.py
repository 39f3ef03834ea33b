"""Function: one differentiable op, and the declared state its backward reads.

A Function's forward works on raw arrays; its backward is written with Tensor ops, so the
backward pass can itself be recorded (create_graph=True) and differentiated again. What backward
needs is declared, as in Chainer (`retain_inputs`) and PyTorch (`save_for_backward`), so the
engine can check it for in-place changes, free it after use, and viz can show it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..backend.device import NO_CONTEXT
from ..errors import DeviceMismatchError, GradientError, ShapeError
from .grad_mode import current as _mode
from .hooks import state as _hooks

if TYPE_CHECKING:
    from .tensor import Tensor

# Creation order of recorded nodes; backward processes nodes from the newest down.
_sequence = itertools.count()
# Set by tensor.py: the fast Tensor constructor (data, device, requires_grad) -> Tensor.
_make_tensor: Any = None


class Function:
    """One differentiable op. Subclasses define forward(*arrays) and backward(grad) -> grads.

    Saved state, declared:
    - `retain_inputs` (class attribute): the inputs whose values backward reads, True for all
      (the safe default), False for none, a tuple of indices, or a function of the input
      tensors returning one of those (Mul keeps a only when b requires grad, as torch, so
      `y = x * 2; x += 1` stays differentiable). They are version-checked before backward
      runs. `parents` always holds every input tensor (for requires_grad, shapes and routing
      the gradients).
    - `self.save_for_backward(name=array, ...)` in forward: raw arrays backward reads,
      `output=` for the op's own result (then changing that result in place is an error).
      backward reads them with `self.saved(name, recompute)` or `self.saved_arrays[name]`.
    The engine frees both after backward (unless retain_graph). Other plain attributes set in
    forward are the op's parameters (an axis, an exponent), not saved arrays.

    An op may also define `backward_arrays(grad_array)`: the same gradients on raw arrays,
    which the engine calls instead of `backward` when the backward pass is not recorded.

    A node keeps its input tensors, never its output, so no reference cycle forms between a
    tensor and the node that made it.
    """

    __slots__ = (
        "parents",
        "versions",
        "device",
        "out_shape",
        "out_version",
        "grad_hooks",
        "scope",
        "seq",
        "_saved",
        "__dict__",
    )
    differentiable = True
    retain_inputs: bool | tuple[int, ...] = True
    backward_arrays: Callable[..., Any] | None = None

    @classmethod
    def apply(cls, *tensors: Tensor, **kwargs: Any) -> Tensor:
        """Run forward on the inputs' arrays; record a node when any input requires grad."""
        fn = cls()
        fn._saved = None
        first = tensors[0]
        device = fn.device = first.device
        if len(tensors) == 1:
            arrays = (first.data,)
            requires = first.requires_grad
        else:
            requires = False
            for t in tensors:
                if t.device is not device:
                    _device_mismatch(cls.__name__, tensors)
                requires = requires or t.requires_grad
            arrays = [t.data for t in tensors]
        context = device.context
        try:
            if context is NO_CONTEXT:
                data = fn.forward(*arrays, **kwargs)
            else:  # CuPy makes arrays and runs kernels on the current GPU
                with context:
                    data = fn.forward(*arrays, **kwargs)
        except ValueError as exc:  # a one-input op's own error names both shapes: kept
            if len(tensors) > 1:
                _shape_mismatch(cls.__name__, tensors, exc)
            raise
        requires = requires and _mode.enabled and cls.differentiable
        out = _make_tensor(data, fn.device, requires)  # fn.device changes on a device move
        if requires:
            fn.parents = tensors
            keep = cls.retain_inputs
            if callable(keep):  # decided per call from which inputs require grad
                keep = fn.retain_inputs = keep(*tensors)
            if keep is True:
                fn.versions = [t._version[0] for t in tensors]
            elif keep:
                fn.versions = [tensors[i]._version[0] for i in fn.saved_inputs()]
            saved = fn._saved
            fn.out_version = out._version if saved is not None and "output" in saved else None
            fn.out_shape = data.shape
            fn.grad_hooks = None
            stack = _hooks.modules
            fn.scope = stack[-1] if stack else None
            fn.seq = next(_sequence)  # made after its inputs' nodes: a topological order for free
            out._ctx = fn
        forward_hooks = _hooks.forward_op
        if forward_hooks:
            if not requires:
                fn.parents = tensors  # hooks may look at the inputs; nothing records this node
            for hook in tuple(forward_hooks):
                hook(fn, out)
        return out

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:  # torch's grad_fn names: <MulBackward0 object at 0x...>
        return f"<{self.name}Backward0 object at {id(self):#x}>"

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

    # --- saved state ------------------------------------------------------------------------
    def save_for_backward(self, **arrays: Any) -> None:
        """Keep raw arrays made in forward for backward (`output=` for the op's result)."""
        self._saved = arrays

    @property
    def saved_arrays(self) -> dict[str, Any]:
        """The arrays saved in forward, by name (empty once backward has freed them)."""
        return self._saved or {}

    def saved_inputs(self) -> tuple[int, ...]:
        """Indices of the inputs whose values backward reads (`retain_inputs`, resolved)."""
        parents = getattr(self, "parents", None) or ()
        keep = self.retain_inputs
        if callable(keep):  # a node that was never recorded
            keep = keep(*parents)
        if keep is True or keep is False:
            return tuple(range(len(parents))) if keep else ()
        return tuple(i for i in keep if i < len(parents))

    def saved(self, name: str, recompute: Callable[..., Tensor] | None = None) -> Tensor:
        """The array saved as `name`, as a constant tensor when backward is not recorded; when
        it is, recompute(*inputs) with Tensor ops instead, so higher derivatives stay exact.
        Without `recompute` it is a constant either way (a mask, a choice of elements)."""
        if recompute is not None and _mode.enabled:
            return recompute(*self.parents)
        return _make_tensor(self._saved[name], self.device, False)

    def _check_versions(self) -> None:
        keep = self.retain_inputs
        if keep:
            parents = self.parents
            kept = parents if keep is True else [parents[i] for i in self.saved_inputs()]
            for t, v in zip(kept, self.versions):
                if t._version[0] != v:
                    self._changed_input()
        if self.out_version is not None and self.out_version[0] != 0:
            raise GradientError(
                f"the output of {self.name} (shape {self.out_shape}) was modified in place, but "
                "its backward needs the original value. Use an out-of-place op or .clone() it."
            )

    def _changed_input(self) -> None:
        for i, v in zip(self.saved_inputs(), self.versions):
            t = self.parents[i]
            if t._version[0] != v:
                raise GradientError(
                    f"one of the tensors needed to compute gradients ({self.name}'s input {i}, "
                    f"shape {tuple(t.shape)}) was modified in place after it was used "
                    f"(version {v} -> {t._version[0]}). Use an out-of-place op (x = x + 1 "
                    f"instead of x += 1), or .clone() the tensor before changing it."
                )


def history_before(node: Function, seq: int) -> Function | None:
    """The node that made a tensor before `seq`: an in-place op re-bases a tensor's history
    (its node becomes the in-place op's, which keeps the one it replaced), so a node made
    before that reaches the history it read, not the newer one."""
    while node is not None and node.seq > seq:
        node = node.replaced
    return node


def parents_as_seen(node: Function) -> tuple[Tensor, ...]:
    """node's inputs as they were when it was made, for tools that walk a graph through each
    input's `_ctx` (viz): an input re-based in place since then is stood for by a tensor with
    the history it had, so the walk never follows the newer node (a cycle). The same stand-ins
    on every call."""
    if not any(p._ctx is not None and p._ctx.seq > node.seq for p in node.parents):
        return tuple(node.parents)
    if "seen_parents" in node.__dict__:
        return node.seen_parents
    seen = []
    for p in node.parents:
        ctx = p._ctx
        if ctx is not None and ctx.seq > node.seq:
            old = _make_tensor(p.data, p.device, False)
            old._ctx = history_before(ctx, node.seq)
            old.requires_grad, old._version = old._ctx is not None, p._version
            p = old
        seen.append(p)
    node.seen_parents = tuple(seen)
    return node.seen_parents


def _device_mismatch(op: str, tensors: Sequence[Tensor]) -> None:
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
