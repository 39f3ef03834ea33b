"""Hooks into the autograd core, per thread, each removed through the handle it returns.

Three kinds, for tools that watch a run (viz, the doctor, anomaly mode):

- `register_forward_op_hook(fn)`: fn(node, out) after every op's forward. The node's `parents`
  are set even when nothing is recorded (check `out.grad_fn is node` for recorded ops).
- `register_grad_hook(fn)`: fn(node, grad) for every gradient reaching a node in backward.
- `register_backward_rule_hook(fn)`: fn(node, input_grads) with what each backward rule returned.

Each returns a `RemovableHandle` (as torch.utils.hooks): `handle.remove()` (safe to call twice)
or `with register_grad_hook(fn): ...`, which removes the hook even when the block raises. The
state is per thread, so a hook registered in one thread never sees another thread's ops; when
none is registered the engine pays one falsy check per op.

The same per-thread state holds the stack of running modules (`Module.__call__` pushes and
pops), so each new node can record the innermost module as its `scope`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any


class RemovableHandle:
    """Removes the hook it was returned for: `remove()` (idempotent) or a `with` block."""

    __slots__ = ("_remove",)

    def __init__(self, remove: Callable[[], None]) -> None:
        self._remove: Callable[[], None] | None = remove

    def remove(self) -> None:
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _ThreadHooks(threading.local):
    """One thread's hooks and running modules (lists, so a handle can remove from its own)."""

    def __init__(self) -> None:
        self.forward_op: list[Callable[[Any, Any], None]] = []
        self.grad: list[Callable[[Any, Any], None]] = []
        self.backward_rule: list[Callable[[Any, tuple], None]] = []
        self.modules: list[Any] = []


state = _ThreadHooks()
_keys = itertools.count()  # keys of dict hooks: the same function registered twice runs twice


def _register(hooks: list, fn: Callable) -> RemovableHandle:
    hooks.append(fn)

    def remove() -> None:
        for i, h in enumerate(hooks):
            if h is fn:
                del hooks[i]
                return

    return RemovableHandle(remove)


def register_forward_op_hook(fn: Callable[[Any, Any], None]) -> RemovableHandle:
    """Call fn(node, out) after every op's forward in this thread."""
    return _register(state.forward_op, fn)


def register_grad_hook(fn: Callable[[Any, Any], None]) -> RemovableHandle:
    """Call fn(node, grad) for every gradient reaching a node during backward in this thread."""
    return _register(state.grad, fn)


def register_backward_rule_hook(fn: Callable[[Any, tuple], None]) -> RemovableHandle:
    """Call fn(node, input_grads) with what every backward rule returned in this thread."""
    return _register(state.backward_rule, fn)


def any_registered() -> bool:
    """Whether this thread has any forward-op, grad or backward-rule hook (tools that clean up
    after themselves leave none)."""
    return bool(state.forward_op or state.grad or state.backward_rule)


def register_dict_hook(hooks: dict[int, Callable], fn: Callable) -> RemovableHandle:
    """Add fn to an ordered dict of hooks (a module's or a node's); the handle deletes it."""
    key = next(_keys)
    hooks[key] = fn
    return RemovableHandle(lambda: hooks.pop(key, None))


def running_modules() -> tuple[Any, ...]:
    """The modules whose forward is running in this thread, outermost first."""
    return tuple(state.modules)
