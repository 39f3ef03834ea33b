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
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "ceil",
    "chunk",
    "clamp",
    "clip",
    "cos",
    "cumprod",
    "cumsum",
    "diagonal",
    "div",
    "dot",
    "erf",
    "exp",
    "exp2",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "gather",
    "index_select",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "lerp",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logaddexp",
    "logsumexp",
    "masked_fill",
    "masked_select",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "movedim",
    "mul",
    "neg",
    "nonzero",
    "norm",
    "permute",
    "pow",
    "prod",
    "relu",
    "remainder",
    "repeat_interleave",
    "reshape",
    "roll",
    "round",
    "rsqrt",
    "scatter",
    "scatter_add",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sub",
    "sum",
    "tan",
    "tanh",
    "topk",
    "transpose",
    "tril",
    "triu",
    "trunc",
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
