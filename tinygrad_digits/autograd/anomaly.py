"""Anomaly mode: stop at the first op whose result or gradient holds NaN or inf.

Inside `with detect_anomaly():` every op records where in user code it was created, checks its
forward result, and backward checks each gradient as it reaches an op. The error names the op,
its input shapes and the user's line, which is where a NaN is born (log(0), 0/0, overflow).
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator
from typing import Any

from ..errors import GradientError
from .function import Function
from .grad_mode import in_backward
from .hooks import register_backward_rule_hook, register_forward_op_hook, register_grad_hook

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(GradientError):
    """A NaN or inf appeared in a forward result or a gradient under detect_anomaly()."""


def _user_frame() -> traceback.FrameSummary | None:
    """The innermost stack frame outside this package: the line that made the op."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return frame
    return None


def _where(fn: Function) -> str:
    frame = getattr(fn, "created_at", None)
    if frame is None:
        return "an unknown line"
    return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}: {frame.line}'


def _shapes(fn: Function) -> str:
    parents = getattr(fn, "parents", None) or ()
    return ", ".join(str(tuple(p.shape)) for p in parents) or "no tensor inputs"


def _bad(tensor: Any) -> str | None:
    """'NaN', 'inf' or None for a float tensor's values (one reduction on its device)."""
    xp = tensor.device.xp
    data = tensor.data
    if tensor.dtype.kind != "f":
        return None
    if bool(xp.any(xp.isnan(data))):
        return "NaN"
    if bool(xp.any(xp.isinf(data))):
        return "inf"
    return None


# What each finding means and what to try, filled in with the op's facts.
_INHERITED = (
    "{op} (made at {where}) received {found} in its input {i} (shape {shape}): it was already "
    "there, not made by this op. Check the data (tinygrad_digits.doctor reports non-finite "
    "inputs) and whether a parameter was blown up by an earlier update (learning rate too high)."
)
_FORWARD = (
    "{op} produced {found} in its forward result (inputs of shape {shapes}), made at {where}. "
    "Typical causes: log of 0 or of a negative number, 0/0, exp overflow, sqrt of a negative "
    "number; clamp the input or use a stable form (log_softmax, cross_entropy on logits, "
    "softplus)."
)
_GRADIENT = (
    "the gradient reaching {op} (output shape {out_shape}, inputs of shape {shapes}) holds "
    "{found}; the op was made at {where}. Look for a division by a value near 0 or a log/sqrt "
    "near 0 downstream of it, or a learning rate large enough to blow the weights up."
)
_RULE = (
    "{op}'s backward returned {found} in the gradient for its input {i} (inputs of shape "
    "{shapes}); the op was made at {where}. Its derivative is infinite there (sqrt or log at 0, "
    "division by ~0): keep the input away from that point, e.g. with clamp or a small epsilon."
)


def _check(fn: Function, tensor: Any, message: str, **facts: Any) -> None:
    """Raise AnomalyError with `message` about `fn` when `tensor` holds NaN or inf."""
    found = None if tensor is None else _bad(tensor)
    if found is not None:
        raise AnomalyError(
            message.format(op=fn.name, found=found, where=_where(fn), shapes=_shapes(fn), **facts)
        )


def _on_forward(fn: Function, out: Any) -> None:
    if in_backward():
        return  # ops inside backward rules are checked through what the rule returns
    fn.created_at = _user_frame()
    if _bad(out) is None:
        return
    for i, parent in enumerate(getattr(fn, "parents", None) or ()):
        _check(fn, parent, _INHERITED, i=i, shape=tuple(parent.shape))
    _check(fn, out, _FORWARD)


def _on_gradient(fn: Function, grad: Any) -> None:
    _check(fn, grad, _GRADIENT, out_shape=fn.out_shape)


def _on_backward(fn: Function, grads: tuple) -> None:
    for i, g in enumerate(grads):
        _check(fn, g, _RULE, i=i)


@contextlib.contextmanager
def detect_anomaly(check_nan: bool = True) -> Iterator[None]:
    """Raise AnomalyError at the first NaN/inf, naming the op and the user code line (slow)."""
    if not check_nan:
        yield
        return
    with (
        register_forward_op_hook(_on_forward),
        register_grad_hook(_on_gradient),
        register_backward_rule_hook(_on_backward),
    ):
        yield
