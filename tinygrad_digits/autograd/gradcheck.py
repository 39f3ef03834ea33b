"""Check analytic gradients against central finite differences, as torch.autograd.gradcheck.

The scalar compared is <v, f(x)> for a random upstream gradient v (never just .sum(), which
hides a backward that forgets to multiply by its upstream gradient).
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import GradcheckError
from .grad_api import grad
from .grad_mode import set_grad_enabled
from .tensor import Tensor


class GradcheckWarning(UserWarning):
    """gradcheck was asked to work in low precision."""


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, tuple | list) else [x]


def _outputs(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Tensor]:
    outs = [o for o in _as_list(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.kind == "f"]
    if not outs:
        raise GradcheckError("gradcheck: the function returned no floating-point tensor")
    return outs


def _weighted(outs: Sequence[Tensor], vs: Sequence[np.ndarray]) -> float:
    """<v, f(x)> in float64 on the host."""
    total = 0.0
    for out, v in zip(outs, vs):
        total += float(np.sum(out.device.to_numpy(out.data).astype(np.float64) * v))
    return total


def _with(inputs: Sequence[Any], index: int, array: np.ndarray) -> list[Any]:
    out = list(inputs)
    t = inputs[index]
    out[index] = Tensor._make(t.device.from_numpy(array.astype(t.dtype)), t.device, t.requires_grad)
    return out


def _checked(inputs: Sequence[Any]) -> list[int]:
    """The indices of the inputs that require grad: the ones to check."""
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise GradcheckError("gradcheck: no input requires grad; set requires_grad=True")
    return checked


def _host(t: Tensor) -> np.ndarray:
    return t.device.to_numpy(t.data).astype(np.float64)


def _linearise(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    checked: Sequence[int],
    rng: np.random.Generator,
    record: bool,
) -> tuple[list[Tensor | None], Callable[[int, np.ndarray], float]]:
    """Backprop's gradients of <v, fn(inputs)> for a random v, w.r.t. each checked input, and
    f(i, array): the same scalar with input i replaced by `array`, for finite differences."""
    outs = _outputs(fn, inputs)
    vs = [rng.uniform(-1.0, 1.0, size=o.shape) for o in outs]
    seeds = [
        Tensor._make(o.device.from_numpy(v.astype(o.dtype)), o.device, False)
        for o, v in zip(outs, vs)
    ]
    grads = grad(outs, [inputs[i] for i in checked], seeds, allow_unused=True)

    def f(index: int, array: np.ndarray) -> float:
        with set_grad_enabled(record):
            return _weighted(_outputs(fn, _with(inputs, index, array)), vs)

    return list(grads), f


def _central(
    f: Callable[[int, np.ndarray], float], i: int, x: np.ndarray, u: np.ndarray, eps: float
) -> float:
    """The central difference of f along u at x: (f(x + eps u) - f(x - eps u)) / 2 eps."""
    return (f(i, x + eps * u) - f(i, x - eps * u)) / (2 * eps)


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast_mode: bool = False,
    seed: int = 0,
    raise_exception: bool = True,
    _record: bool = False,
) -> bool:
    """True when every input that requires grad gets the gradient finite differences predict.

    fast_mode compares one random directional derivative per input (two forward passes and
    one backward), cheap enough for every parameter of a model on a real batch.
    On failure raises GradcheckError naming the input, the element, both values and the error.
    """
    inputs = _as_list(inputs)
    checked = _checked(inputs)
    low = [i for i in checked if inputs[i].dtype != np.float64]
    if low:
        warnings.warn(
            f"gradcheck: inputs {low} are not float64; finite differences in "
            f"{inputs[low[0]].dtype} are too coarse. Use .double() (and eps near "
            "sqrt(finfo(dtype).eps)) for a reliable check.",
            GradcheckWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    grads, f = _linearise(fn, inputs, checked, rng, _record)
    for i, g in zip(checked, grads):
        x = _host(inputs[i])
        if g is not None and (g.shape != inputs[i].shape or g.dtype != inputs[i].dtype):
            return _fail(
                raise_exception,
                f"gradcheck: the gradient of input {i} has shape "
                f"{g.shape} and dtype {g.dtype}, but the input has {inputs[i].shape} "
                f"and {inputs[i].dtype}",
            )
        analytic = np.zeros_like(x) if g is None else _host(g)
        if fast_mode:
            u = rng.standard_normal(x.shape)
            numeric = _central(f, i, x, u, eps)
            exact = float(np.sum(analytic * u))
            if abs(exact - numeric) > atol + rtol * abs(numeric):
                return _fail(
                    raise_exception,
                    _report(i, inputs[i], "a random direction", numeric, exact, fast=True),
                )
            continue
        numeric_grad = np.zeros_like(x)
        flat = x.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = f(i, x)
            flat[j] = orig - eps
            minus = f(i, x)
            flat[j] = orig
            numeric_grad.reshape(-1)[j] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric_grad) - (atol + rtol * np.abs(numeric_grad))
        if err.size and err.max() > 0:
            worst = np.unravel_index(int(np.argmax(err)), x.shape)
            return _fail(
                raise_exception,
                _report(
                    i,
                    inputs[i],
                    f"element {tuple(int(k) for k in worst)}",
                    float(numeric_grad[worst]),
                    float(analytic[worst]),
                    fast=False,
                ),
            )
    return True


def _report(index: int, t: Tensor, where: str, numeric: float, analytic: float, fast: bool) -> str:
    msg = (
        f"gradcheck failed for input {index} (shape {t.shape}, {t.dtype}) at {where}: "
        f"numeric {numeric:.8g}, analytic {analytic:.8g}, "
        f"error {abs(numeric - analytic):.3g}"
    )
    if fast:
        msg += "; run with fast_mode=False to find the element"
    if t.dtype != np.float64:
        msg += " (inputs are not float64: finite differences may be too coarse)"
    return msg


def _fail(raise_exception: bool, message: str) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradgradcheck(fn: Callable[..., Any], inputs: Tensor | Sequence[Any], **options: Any) -> bool:
    """gradcheck of the backward pass itself: second derivatives via create_graph=True.

    Takes gradcheck's keywords (eps, atol, rtol, fast_mode, seed, raise_exception), as torch;
    they are checked against gradcheck's signature before anything runs.
    """
    given = inspect.signature(gradcheck).bind(fn, inputs, **options)
    given.apply_defaults()
    inputs = _as_list(inputs)
    checked = _checked(inputs)
    rng = np.random.default_rng(given.arguments["seed"] + 1)
    outs = _outputs(fn, inputs)
    vs = [
        Tensor(
            rng.uniform(-1.0, 1.0, size=o.shape), dtype=o.dtype, device=o.device, requires_grad=True
        )
        for o in outs
    ]
    n = len(inputs)

    def first_grads(*args: Any) -> tuple[Tensor, ...]:
        xs, v = list(args[:n]), list(args[n:])
        found = grad(
            _outputs(fn, xs), [xs[i] for i in checked], v, create_graph=True, allow_unused=True
        )
        return tuple(g for g in found if g is not None and g.requires_grad)

    return gradcheck(first_grads, [*inputs, *vs], **options, _record=True)


def directional_errors(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    *,
    directions: int = 1,
    eps: float = 1e-6,
    seed: int = 0,
) -> list[float]:
    """For each input that requires grad, the worst relative error between backprop's
    directional derivative and the central difference along `directions` random unit
    directions: a measure to print, where gradcheck gives a verdict.

    A direction that disagrees is retried with eps / 10 and eps / 100 and keeps its best
    agreement: a kink (a ReLU at 0, a max-pool window whose top two values are within the
    step) spoils one eps but not all, while a wrong backward disagrees at every eps. Models
    on quantised pixels (28×28 images, max-pooling) need this.
    """
    inputs = _as_list(inputs)
    checked = _checked(inputs)
    rng = np.random.default_rng(seed)
    grads, f = _linearise(fn, inputs, checked, rng, False)
    worst = []
    for i, g in zip(checked, grads):
        x = _host(inputs[i])
        analytic = np.zeros_like(x) if g is None else _host(g)
        error = 0.0
        for _ in range(directions):
            u = rng.standard_normal(x.shape)
            u /= np.linalg.norm(u)
            exact = float(np.sum(analytic * u))
            best = math.inf
            for step in (eps, eps / 10, eps / 100):
                numeric = _central(f, i, x, u, step)
                best = min(best, abs(numeric - exact) / max(abs(numeric), abs(exact), 1e-7))
                if best <= 1e-7:
                    break
            error = max(error, best)
        worst.append(error)
    return worst
