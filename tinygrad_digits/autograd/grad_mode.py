"""Grad mode, per thread: whether ops record a graph, and whether backward rules are running.

Kept apart from the engine so that every layer (nn, optim, training) can switch recording off
without importing the backward machinery.
"""

from __future__ import annotations

import contextlib
import threading


class _GradMode(threading.local):
    enabled = True
    in_backward = False  # True while the engine runs backward rules


current = _GradMode()


def is_grad_enabled() -> bool:
    return current.enabled


def in_backward() -> bool:
    """Whether the engine is running backward rules now (their ops are not user code)."""
    return current.in_backward


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager and decorator that turns graph recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self.prev = current.enabled
        current.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        current.enabled = self.prev


class no_grad(set_grad_enabled):
    """Ops inside record no graph: for evaluation and optimizer updates."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a no_grad block."""

    def __init__(self) -> None:
        super().__init__(True)
