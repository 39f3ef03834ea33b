"""Module-level versions of Tensor methods, as torch has them: tg.exp(x), tg.matmul(a, b), ...

Each forwards to the Tensor method of the same name, so there is one implementation; the
functions are made once, when first looked up (PEP 562), from the one list of names below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tensor import Tensor


def _forward(name: str) -> Callable[..., Any]:
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


__all__ = [
    "abs",
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "chunk",
    "clamp",
    "clip",
    "dot",
    "erf",
    "exp",
    "flatten",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "neg",
    "permute",
    "relu",
    "reshape",
    "rsqrt",
    "sigmoid",
    "sign",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sum",
    "tanh",
    "transpose",
    "unsqueeze",
    "var",
]


_made: dict[str, Callable[..., Any]] = {}


def __getattr__(name: str) -> Callable[..., Any]:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _made:
        _made[name] = _forward(name)
    return _made[name]
