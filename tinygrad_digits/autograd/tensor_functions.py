"""Module-level versions of Tensor methods, as torch has them: tg.exp(x), tg.matmul(a, b), ...

Each forwards to the Tensor method of the same name, so there is one implementation.
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


abs = _forward("abs")  # noqa: A001
exp = _forward("exp")
log = _forward("log")
log1p = _forward("log1p")
sqrt = _forward("sqrt")
rsqrt = _forward("rsqrt")
tanh = _forward("tanh")
sigmoid = _forward("sigmoid")
relu = _forward("relu")
square = _forward("square")
sign = _forward("sign")
erf = _forward("erf")
neg = _forward("neg")
sum = _forward("sum")  # noqa: A001
mean = _forward("mean")
amax = _forward("amax")
amin = _forward("amin")
max = _forward("max")  # noqa: A001
min = _forward("min")  # noqa: A001
argmax = _forward("argmax")
argmin = _forward("argmin")
var = _forward("var")
std = _forward("std")
logsumexp = _forward("logsumexp")
all = _forward("all")  # noqa: A001
any = _forward("any")  # noqa: A001
matmul = _forward("matmul")
dot = _forward("dot")
maximum = _forward("maximum")
minimum = _forward("minimum")
clamp = _forward("clamp")
clip = _forward("clip")
softmax = _forward("softmax")
log_softmax = _forward("log_softmax")
reshape = _forward("reshape")
flatten = _forward("flatten")
squeeze = _forward("squeeze")
unsqueeze = _forward("unsqueeze")
transpose = _forward("transpose")
permute = _forward("permute")
split = _forward("split")
chunk = _forward("chunk")
masked_fill = _forward("masked_fill")

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
