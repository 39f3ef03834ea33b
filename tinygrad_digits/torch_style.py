"""Module-level versions of Tensor methods, as torch has them: tg.exp(x), tg.matmul(a, b), ...

Each forwards to the Tensor method of the same name, so there is one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tensor import Tensor

_NAMES = [
    "abs",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "rsqrt",
    "tanh",
    "sigmoid",
    "relu",
    "square",
    "sign",
    "erf",
    "neg",
    "sum",
    "mean",
    "amax",
    "amin",
    "max",
    "min",
    "argmax",
    "argmin",
    "var",
    "std",
    "logsumexp",
    "all",
    "any",
    "matmul",
    "dot",
    "maximum",
    "minimum",
    "clamp",
    "clip",
    "softmax",
    "log_softmax",
    "reshape",
    "flatten",
    "squeeze",
    "unsqueeze",
    "transpose",
    "permute",
    "split",
    "chunk",
    "masked_fill",
]


def _forward_to_method(name: str) -> Callable[..., Any]:
    def function(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}() expects a Tensor as its first argument, not "
                f"{type(input).__name__}; make one with tinygrad_digits.tensor(...)"
            )
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"tinygrad_digits.{name}(x, ...) is x.{name}(...)."
    return function


FUNCTIONS = {name: _forward_to_method(name) for name in _NAMES}
