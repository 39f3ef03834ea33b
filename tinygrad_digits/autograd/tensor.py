"""Tensor: an array on a device, its gradient, and the Function node that made it."""

from __future__ import annotations

import builtins
import functools
import math
import warnings
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..backend.device import Device
from ..backend.registry import DeviceLike, device_of_array, get_device, parse_to_args
from ..errors import DtypeError, GradientError, ShapeError
from ..ops import elementwise as E
from ..ops import indexing as I
from ..ops import matmul as M
from ..ops import movement as V
from ..ops import reduce as R
from ..ops import softmax as S
from . import engine, function
from .dims import Dim, count, normalize_dims, resolve_shape, shape_args
from .engine import run_backward
from .function import Function, _device_mismatch
from .grad_mode import is_grad_enabled
from .hooks import RemovableHandle, register_dict_hook

_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during backward(). If you want it for a non-leaf Tensor, call "
    ".retain_grad() on it before backward(); if you meant the leaf (a parameter or an input made "
    "with requires_grad=True), read .grad there instead."
)

MaxResult = namedtuple("MaxResult", ["values", "indices"])
SortResult = namedtuple("SortResult", ["values", "indices"])


def _binary(op: type[Function]) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
    """self op other and other op self, both with other made a tensor and dtypes promoted."""

    def forward(self: Tensor, other: Any) -> Tensor:
        a, b = self._other(other)
        return op.apply(a, b)

    def reflected(self: Tensor, other: Any) -> Tensor:
        a, b = self._other(other)
        return op.apply(b, a)

    return forward, reflected


def _cast_method(dtype: np.dtype) -> Callable[[Tensor], Tensor]:
    """x.float(), x.long(), ...: x.to(dtype), differentiable between float dtypes."""

    def cast(self: Tensor) -> Tensor:
        return self.to(dtype)

    cast.__name__ = dtype.name
    return cast


def _comparison(method: str) -> Callable[..., Tensor]:
    """A comparison or logical operator on the raw arrays: a constant tensor, no graph."""

    def compare(self: Tensor, other: Any) -> Tensor:
        a, b = self._other(other)
        return _make_tensor(getattr(a.data, method)(b.data), self.device, False)

    compare.__name__ = method
    return compare


def _floating_unary(op: type[Function]) -> Callable[[Tensor], Tensor]:
    """x.exp(), x.sin(), ...: the elementwise op on x, an integer or bool x made float first
    (as torch promotes them)."""

    def unary(self: Tensor) -> Tensor:
        return op.apply(self._floating())

    unary.__name__ = op.__name__.lower()
    return unary


def _on_own_device(method: Callable) -> Callable:
    """Run an array-level method under its tensor's device context (CuPy computes on the
    current GPU), for the in-place methods that compute outside any Function."""

    @functools.wraps(method)
    def run(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        with self.device.context:
            return method(self, *args, **kwargs)

    return run


class Tensor:
    """A multi-dimensional array that records the ops made on it, for reverse-mode autodiff.

    Names and semantics follow torch.Tensor: `dim=`/`keepdim=`, `.backward()`, `.grad`,
    `.requires_grad`, `.detach()`, `.to(device)`.
    """

    __slots__ = (
        "data",
        "_grad",
        "requires_grad",
        "_ctx",
        "device",
        "_version",
        "name",
        "__weakref__",
    )
    __array_ufunc__ = None  # NumPy defers `ndarray * tensor` to Tensor.__rmul__

    def __init__(
        self,
        data: Any,
        dtype: Any = None,
        device: DeviceLike = None,
        requires_grad: bool = False,
    ) -> None:
        dtype = dtypes.to_dtype(dtype)
        if isinstance(data, Tensor):
            src, array = data.device, data.data
        elif isinstance(data, np.ndarray | np.generic):
            src, array = get_device("cpu"), np.array(data)  # a copy, as torch.tensor makes
        elif type(data).__module__.startswith(("cupy", "array_api_strict")):
            src = device_of_array(data)
            array = data
        else:
            src, array = get_device("cpu"), _from_python(data)
        target = (
            get_device(device)
            if device is not None
            else (src if isinstance(data, Tensor) or src.name != "cpu" else get_device(None))
        )
        if target is not src:
            array = target.receive(array, src)
        if dtype is not None and target.numpy_dtype(array) != dtype:
            with target.context:
                array = target.xp.astype(array, target.dtype(dtype))
        self.data = array
        self.device: Device = target
        self._grad: Tensor | None = None
        self._ctx: Function | None = None
        self._version = [0]
        self.name: str | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # Tensor._make(data, device, requires_grad): the fast constructor, set below the class.
    _make: Any

    # --- facts -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.device.numpy_dtype(self.data)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        n = 1
        for s in self.data.shape:
            n *= s
        return n

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    @property
    def grad(self) -> Tensor | None:
        """The gradient backward accumulated here: leaves only, unless retain_grad() (reading
        it on another non-leaf warns, as torch does: it is always None there)."""
        grad = self._grad
        if grad is None and self._ctx is not None and not self.retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        self._grad = value

    def is_floating_point(self) -> bool:
        """A method, as in torch."""
        return self.dtype.kind == "f"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy with its own memory on the same device (devices themselves are shared)."""
        out = _make_tensor(self.device.copy(self.data), self.device, self.requires_grad)
        out.name = self.name
        if self._grad is not None:
            out.grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out

    def __repr__(self) -> str:
        body = np.array2string(
            self.device.to_numpy(self.data), separator=", ", precision=4, prefix="tensor("
        )
        extra = ""
        if self.device.name != "cpu":
            extra += f", device='{self.device}'"
        if self.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_):
            extra += f", dtype={self.dtype.name}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}Backward0>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # --- conversion ----------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory on the CPU, as torch does)."""
        if self.requires_grad:
            raise RuntimeError(
                "can't call numpy() on a tensor that requires grad: use tensor.detach().numpy()"
            )
        if self.device.name != "cpu":
            raise TypeError(
                f"can't convert a '{self.device}' tensor to NumPy directly: copy it to the host "
                "first with tensor.cpu().numpy()"
            )
        return np.asarray(self.data)

    def __dlpack__(self, **kwargs: Any) -> Any:
        """Share this tensor's memory with another library (np/torch/cupy.from_dlpack)."""
        return self.data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[builtins.int, builtins.int]:
        return self.data.__dlpack_device__()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.numpy()
        return out.astype(dtype) if dtype is not None else out

    def item(self) -> builtins.float | builtins.int | builtins.bool:
        if self.numel() != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return self.device.to_numpy(self.data).reshape(()).item()

    def tolist(self) -> Any:
        return self.device.to_numpy(self.data).tolist()

    def __float__(self) -> builtins.float:
        return builtins.float(self.item())

    def __int__(self) -> builtins.int:
        return builtins.int(self.item())

    def __index__(self) -> builtins.int:
        if self.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return builtins.int(self.item())

    def __bool__(self) -> builtins.bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.numel()} elements is ambiguous: "
                "use .any() or .all()"
            )
        return builtins.bool(self.item())

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """to(device), to(dtype), to(device, dtype) or to(other_tensor); differentiable."""
        device, dtype = parse_to_args(args, kwargs)
        out = self
        if device is not None and device is not self.device:
            out = V.ToDevice.apply(out, target=device)
        if dtype is not None and dtype != out.dtype:
            out = out._cast(dtype)
        return out

    def _cast(self, dtype: np.dtype) -> Tensor:
        if self.requires_grad and dtype.kind != "f":
            with self.device.context:
                data = self.device.xp.astype(self.data, self.device.dtype(dtype))
            return Tensor._make(data, self.device, False)
        return V.Cast.apply(self, dtype=self.device.dtype(dtype))

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, index: int = 0) -> Tensor:
        return self.to(f"cuda:{index}")

    float = _cast_method(dtypes.float32)
    double = _cast_method(dtypes.float64)
    half = _cast_method(dtypes.float16)
    long = _cast_method(dtypes.int64)
    int = _cast_method(dtypes.int32)
    bool = _cast_method(dtypes.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # --- autograd ------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise GradientError(
                f"only floating-point tensors can require gradients, this one is {self.dtype}: "
                "convert it first with .float()"
            )
        if not requires_grad and self._ctx is not None:
            raise GradientError(
                "requires_grad_(False) only works on leaf tensors: use .detach() to cut a "
                "tensor out of the graph"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory and version counter)."""
        out = Tensor._make(self.data, self.device, False)
        out._version = self._version
        return out

    def detach_(self) -> Tensor:
        self._ctx = None
        self.requires_grad = False
        return self

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow through it."""
        return E.Add.apply(self, self._scalar(0))

    def contiguous(self) -> Tensor:
        return self

    def retain_grad(self) -> None:
        """Keep .grad on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise GradientError("can't retain_grad on a tensor that does not require grad")
        if self._ctx is not None and not self.retains_grad:
            self.register_hook(engine.RetainGrad(self))

    @property
    def retains_grad(self) -> builtins.bool:
        hooks = self._ctx.grad_hooks if self._ctx is not None else None
        return hooks is not None and any(isinstance(h, engine.RetainGrad) for h in hooks.values())

    def register_hook(self, hook: Any) -> RemovableHandle:
        """Call hook(grad) with this tensor's gradient during backward; a tensor it returns
        replaces the gradient (as torch). A leaf's hook runs on each gradient delivered to it."""
        if not self.requires_grad:
            raise GradientError("can't register a hook on a tensor that does not require grad")
        node = self._ctx
        if node is not None:
            if node.grad_hooks is None:
                node.grad_hooks = {}
            return register_dict_hook(node.grad_hooks, hook)
        key = id(self)
        own = engine.leaf_hooks.get(key)
        if own is None:
            own = engine.leaf_hooks[key] = {}
            weakref.finalize(self, engine.leaf_hooks.pop, key, None)
        return register_dict_hook(own, hook)

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: builtins.bool | None = None,
        create_graph: builtins.bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's .grad that requires grad."""
        if not self.requires_grad:
            raise GradientError(
                "element 0 of tensors does not require grad and does not have a grad_fn: "
                "nothing connects this tensor to a parameter. Was it computed under no_grad(), "
                "from .detach()ed or .numpy() values, or from tensors made without "
                "requires_grad=True? (Integer tensors can't require grad.)"
            )
        if gradient is None:
            if self.numel() != 1:
                raise GradientError(
                    f"backward() without a gradient needs a scalar, but this tensor has shape "
                    f"{self.shape}: reduce it first (loss.mean() or loss.sum()), or pass "
                    "gradient= with the same shape"
                )
            gradient = Tensor._make(self.device.xp.ones_like(self.data), self.device, False)
        else:
            gradient = _as_gradient(gradient, self)
        if retain_graph is None:
            retain_graph = create_graph
        run_backward([self], [gradient], retain_graph, create_graph)

    # --- operators ---------------------------------------------------------------------
    def _other(self, other: Any) -> tuple[Tensor, Tensor]:
        """Make `other` a tensor and give both operands one dtype (torch's promotion)."""
        if isinstance(other, Tensor):
            if other.device is not self.device or other.data.dtype == self.data.dtype:
                return self, other  # a device mismatch is reported by the op itself
            return _promote(self, other)
        if isinstance(other, builtins.bool | builtins.int | builtins.float):
            dt = self.dtype
            if isinstance(other, builtins.float) and dt.kind != "f":
                me = self.to(dtypes.DEFAULT_FLOAT)
                return me, me._scalar(other)
            if (
                isinstance(other, builtins.int)
                and dt.kind == "b"
                and not isinstance(other, builtins.bool)
            ):
                me = self.to(dtypes.int64)
                return me, me._scalar(other)
            return self, self._scalar(other)
        raise TypeError(
            f"unsupported operand type {type(other).__name__} for a Tensor: use a Python number "
            "or a Tensor (make one with tinygrad_digits.tensor(...) on the same device)"
        )

    def _scalar(self, value: Any) -> Tensor:
        dt = self.dtype
        if dt.kind in "iu" and isinstance(value, builtins.int):
            value = _wrap_int(value, dt)
        return Tensor._make(self.device.asarray(value, dt), self.device, False)

    __add__, __radd__ = _binary(E.Add)
    __sub__, __rsub__ = _binary(E.Sub)
    __mul__, __rmul__ = _binary(E.Mul)

    def __truediv__(self, other: Any) -> Tensor:
        if self.dtype.kind != "f" and not (isinstance(other, Tensor) and other.dtype.kind == "f"):
            return self.float() / other
        a, b = self._other(other)
        return E.Div.apply(a, b)

    def __rtruediv__(self, other: Any) -> Tensor:
        if self.dtype.kind != "f":
            return other / self.float()
        a, b = self._other(other)
        return E.Div.apply(b, a)

    def __neg__(self) -> Tensor:
        return E.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, builtins.int | builtins.float) and not isinstance(
            exponent, builtins.bool
        ):
            if isinstance(exponent, builtins.float) and self.dtype.kind != "f":
                return self.float() ** exponent
            return E.PowScalar.apply(self, exponent=exponent)
        a, b = self._other(exponent)
        return E.Pow.apply(a, b)

    __rpow__ = _binary(E.Pow)[1]

    def __matmul__(self, other: Tensor) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return other.matmul(self)

    __eq__ = _comparison("__eq__")  # type: ignore[assignment]
    __ne__ = _comparison("__ne__")  # type: ignore[assignment]
    __lt__ = _comparison("__lt__")
    __le__ = _comparison("__le__")
    __gt__ = _comparison("__gt__")
    __ge__ = _comparison("__ge__")
    __and__ = _comparison("__and__")
    __or__ = _comparison("__or__")
    __xor__ = _comparison("__xor__")

    def __invert__(self) -> Tensor:
        if self.dtype.kind != "b":
            raise DtypeError("~ needs a bool tensor")
        return Tensor._make(~self.data, self.device, False)

    def eq(self, other: Any) -> Tensor:
        return self == other

    def equal(self, other: Tensor) -> builtins.bool:
        return self.shape == other.shape and builtins.bool((self == other).all())

    # --- elementwise -------------------------------------------------------------------
    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self / other; rounding_mode "floor" or "trunc" rounds the quotient (as torch:
        integers stay integers, and the rounded quotient's gradient is 0)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(
                f"div: rounding_mode must be None, 'floor' or 'trunc', not {rounding_mode!r}"
            )
        a, b = self._other(other)
        if a.dtype.kind in "iu":
            xp = self.device.xp
            q = xp.floor_divide(a.data, b.data)
            if rounding_mode == "trunc":  # floor differs where the signs differ and it's inexact
                off = (xp.remainder(a.data, b.data) != 0) & ((a.data < 0) != (b.data < 0))
                q = q + xp.astype(off, q.dtype)
            return Tensor._make(q, self.device, False)
        return (a / b)._stepwise(rounding_mode)

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def neg(self) -> Tensor:
        return -self

    def square(self) -> Tensor:
        return E.PowScalar.apply(self, exponent=2)

    # float-only elementwise ops: integer and bool inputs are made float first
    exp = _floating_unary(E.Exp)
    log = _floating_unary(E.Log)
    log1p = _floating_unary(E.Log1p)  # log(1 + x), accurate for tiny x
    sqrt = _floating_unary(E.Sqrt)
    sin = _floating_unary(E.Sin)
    cos = _floating_unary(E.Cos)
    tan = _floating_unary(E.Tan)
    tanh = _floating_unary(E.Tanh)
    sigmoid = _floating_unary(E.Sigmoid)
    silu = _floating_unary(E.Silu)
    erf = _floating_unary(E.Erf)

    def rsqrt(self) -> Tensor:
        return 1 / self.sqrt()

    def abs(self) -> Tensor:
        return E.Abs.apply(self)

    def relu(self) -> Tensor:
        return E.Relu.apply(self)

    def leaky_relu(self, negative_slope: builtins.float = 0.01) -> Tensor:
        return E.LeakyRelu.apply(self, slope=negative_slope)

    def gelu(self, approximate: str = "none") -> Tensor:
        """x * Phi(x), with the exact erf (default) or torch's tanh approximation."""
        if approximate == "tanh":
            inner = 0.7978845608028654 * (self + 0.044715 * self**3)
            return 0.5 * self * (1 + inner.tanh())
        if approximate != "none":
            raise ValueError(f"gelu approximate must be 'none' or 'tanh', not {approximate!r}")
        return 0.5 * self * (1 + (self * 0.7071067811865476).erf())

    def softplus(self, beta: builtins.float = 1.0, threshold: builtins.float = 20.0) -> Tensor:
        """log(1 + exp(beta x)) / beta without overflow; x itself where beta x > threshold."""
        return E.Softplus.apply(self._floating(), beta=float(beta), threshold=float(threshold))

    def sign(self) -> Tensor:
        return self._stepwise("sign")

    def floor(self) -> Tensor:
        return self._stepwise("floor")

    def ceil(self) -> Tensor:
        return self._stepwise("ceil")

    def trunc(self) -> Tensor:
        return self._stepwise("trunc")

    def round(self, decimals: builtins.int = 0) -> Tensor:
        """Half to even, as torch; `decimals` scales by 10**decimals around the rounding."""
        if decimals:
            scale = 10.0**decimals
            return (self * scale)._stepwise("round") / scale
        return self._stepwise("round")

    def _stepwise(self, fn: str) -> Tensor:
        if self.dtype.kind != "f" and fn != "sign":
            return self
        return E.Stepwise.apply(self, fn=fn)

    def log2(self) -> Tensor:
        return self.log() * (1 / math.log(2))

    def log10(self) -> Tensor:
        return self.log() * (1 / math.log(10))

    def exp2(self) -> Tensor:
        return (self._floating() * math.log(2)).exp()

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """self + weight * (end - self)."""
        return self + weight * (end - self)

    def logaddexp(self, other: Any) -> Tensor:
        """log(exp(self) + exp(other)) without overflow."""
        a, b = self._floating()._other(other)
        return a.maximum(b) + (-(a - b).abs()).exp().log1p()

    def isnan(self) -> Tensor:
        return Tensor._make(self.device.xp.isnan(self.data), self.device, False)

    def isinf(self) -> Tensor:
        return Tensor._make(self.device.xp.isinf(self.data), self.device, False)

    def isfinite(self) -> Tensor:
        return Tensor._make(self.device.xp.isfinite(self.data), self.device, False)

    def isclose(
        self,
        other: Tensor,
        rtol: builtins.float = 1e-5,
        atol: builtins.float = 1e-8,
        equal_nan: builtins.bool = False,
    ) -> Tensor:
        """|self - other| <= atol + rtol |other| elementwise (infinities equal only to
        themselves), as torch.isclose."""
        xp = self.device.xp
        a, b = self._other(other)
        a, b = a.data, b.data
        same = a == b
        if a.dtype == xp.bool:
            return Tensor._make(same, self.device, False)
        finite = xp.isfinite(a) & xp.isfinite(b)
        close = same | (finite & (xp.abs(a - b) <= atol + rtol * xp.abs(b)))
        if equal_nan:
            close = close | (xp.isnan(a) & xp.isnan(b))
        return Tensor._make(close, self.device, False)

    def allclose(
        self,
        other: Tensor,
        rtol: builtins.float = 1e-5,
        atol: builtins.float = 1e-8,
        equal_nan: builtins.bool = False,
    ) -> builtins.bool:
        return builtins.bool(self.isclose(other, rtol, atol, equal_nan).all())

    def remainder(self, other: Any) -> Tensor:
        """The remainder with the sign of the divisor (Python's %, torch.remainder)."""
        a, b = self._other(other)
        return E.Remainder.apply(a, b)

    def __rmod__(self, other: Any) -> Tensor:
        a, b = self._other(other)
        return E.Remainder.apply(b, a)

    __mod__ = remainder

    def floor_divide(self, other: Any) -> Tensor:
        return self.div(other, rounding_mode="floor")

    def __floordiv__(self, other: Any) -> Tensor:
        return self.div(other, rounding_mode="floor")

    def __rfloordiv__(self, other: Any) -> Tensor:
        a, b = self._other(other)
        return b.div(a, rounding_mode="floor")

    def __abs__(self) -> Tensor:
        return self.abs()

    maximum = _binary(E.Maximum)[0]
    minimum = _binary(E.Minimum)[0]

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        if min is None and max is None:
            raise ValueError("clamp needs min, max or both")
        return E.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def masked(self, mask: Any) -> Tensor:
        """self where the raw bool array `mask` holds, else 0 (the mask is a constant)."""
        return E.Masked.apply(self, mask=mask)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        from .joining import where

        return where(mask, self._scalar(value), self)

    def where(self, condition: Tensor, other: Any) -> Tensor:
        from .joining import where

        return where(condition, self, other)

    def _floating(self) -> Tensor:
        return self if self.dtype.kind == "f" else self.float()

    # --- reductions --------------------------------------------------------------------
    def sum(self, dim: Dim = None, keepdim: builtins.bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtypes.to_dtype(dtype))
        if x.dtype.kind == "b":
            x = x.long()
        return R.Sum.apply(x, axes=normalize_dims(dim, self.ndim), keepdim=keepdim)

    def mean(self, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        x = self._floating()
        axes = normalize_dims(dim, self.ndim)
        return x.sum(dim=axes, keepdim=keepdim) / count(self.shape, axes)

    def amax(self, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        """Largest values over dim; tied maxima share the gradient evenly."""
        return R.Amax.apply(self, axes=normalize_dims(dim, self.ndim), keepdim=keepdim)

    def amin(self, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        """Smallest values over dim; tied minima share the gradient evenly."""
        return R.Amax.apply(
            self, axes=normalize_dims(dim, self.ndim), keepdim=keepdim, smallest=True
        )

    def max(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Any:
        """max() -> the largest value; max(dim) -> (values, indices), as torch."""
        if dim is None:
            return self.amax()
        return MaxResult(self.amax(dim, keepdim), self.argmax(dim, keepdim))

    def min(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Any:
        """min() -> the smallest value; min(dim) -> (values, indices), as torch."""
        if dim is None:
            return self.amin()
        return MaxResult(self.amin(dim, keepdim), self.argmin(dim, keepdim))

    def argmax(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._arg("argmin", dim, keepdim)

    def _arg(self, which: str, dim: builtins.int | None, keepdim: builtins.bool) -> Tensor:
        xp = self.device.xp
        x = xp.reshape(self.data, (-1,)) if dim is None else self.data
        axis = None if dim is None else normalize_dims(dim, self.ndim)[0]
        out = getattr(xp, which)(x, axis=axis, keepdims=keepdim and dim is not None)
        out = xp.astype(xp.asarray(out), self.device.dtype(dtypes.int64))
        return Tensor._make(out, self.device, False)

    def var(
        self,
        dim: Dim = None,
        unbiased: builtins.bool | None = None,
        keepdim: builtins.bool = False,
        *,
        correction: builtins.int | None = None,
    ) -> Tensor:
        """Variance with Bessel's correction by default (correction=1), as torch."""
        if correction is None:
            correction = 0 if unbiased is False else 1
        axes = normalize_dims(dim, self.ndim)
        centred = self - self.mean(dim=axes, keepdim=True)
        n = count(self.shape, axes)
        return (centred * centred).sum(dim=axes, keepdim=keepdim) / builtins.max(n - correction, 0)

    def std(self, *args: Any, **kwargs: Any) -> Tensor:
        """The square root of var, with var's arguments: (dim, unbiased, keepdim, *,
        correction), as torch."""
        return self.var(*args, **kwargs).sqrt()

    def logsumexp(self, dim: Dim, keepdim: builtins.bool = False) -> Tensor:
        """log(sum(exp(x))) without overflow: shifted by the (constant) maximum."""
        axes = normalize_dims(dim, self.ndim)
        xp = self.device.xp
        top = xp.max(self.data, axis=axes, keepdims=True)
        top = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
        shift = Tensor._make(top, self.device, False)
        out = (self - shift).exp().sum(dim=axes, keepdim=True).log() + shift
        return out if keepdim else out.squeeze(axes if axes is not None else None)

    def all(self, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        axes = normalize_dims(dim, self.ndim)
        out = self.device.xp.all(self.data, axis=axes, keepdims=keepdim)
        return Tensor._make(out, self.device, False)

    def any(self, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        axes = normalize_dims(dim, self.ndim)
        out = self.device.xp.any(self.data, axis=axes, keepdims=keepdim)
        return Tensor._make(out, self.device, False)

    def prod(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
        if dim is None:
            return R.Prod.apply(self.reshape(-1), axis=0, keepdim=False)
        axes = normalize_dims(dim, self.ndim)
        if axes is None:  # a 0-d tensor
            return self
        return R.Prod.apply(self, axis=axes[0], keepdim=keepdim)

    def cumsum(self, dim: builtins.int) -> Tensor:
        axes = normalize_dims(dim, self.ndim)
        if axes is None:
            return self
        return R.CumSum.apply(self, axis=axes[0])

    def cumprod(self, dim: builtins.int) -> Tensor:
        axes = normalize_dims(dim, self.ndim)
        if axes is None:
            return self
        return R.CumProd.apply(self, axis=axes[0])

    def norm(self, p: Any = 2, dim: Dim = None, keepdim: builtins.bool = False) -> Tensor:
        """The vector p-norm over dim (all elements by default), p = 1, 2, inf or any > 0."""
        x = self._floating()
        if p == math.inf:
            return x.abs().amax(dim, keepdim)
        if p == 1:
            return x.abs().sum(dim, keepdim)
        if p == 2:
            return (x * x).sum(dim, keepdim).sqrt()
        return (x.abs() ** p).sum(dim, keepdim) ** (1 / p)

    def softmax(self, dim: builtins.int) -> Tensor:
        return self._along(S.Softmax, dim)

    def log_softmax(self, dim: builtins.int) -> Tensor:
        return self._along(S.LogSoftmax, dim)

    def _along(self, op: type[Function], dim: builtins.int) -> Tensor:
        """A softmax-like op along `dim`; a 0-d tensor is treated as one element (as torch)."""
        axes = normalize_dims(dim, self.ndim)
        if axes is None:
            return op.apply(self._floating().reshape(1), axis=0).reshape(())
        return op.apply(self._floating(), axis=axes[0])

    # --- linear algebra ----------------------------------------------------------------
    def matmul(self, other: Tensor) -> Tensor:
        """Matrix product with torch's rules for 1-D operands and broadcast batch dims."""
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul needs two tensors, got {type(other).__name__}")
        if self.dtype != other.dtype:
            raise DtypeError(
                f"matmul: dtypes differ ({self.dtype} @ {other.dtype}); convert one, e.g. "
                "x.float() for float32 (data from NumPy is often float64)"
            )
        a_shape, b_shape = self.shape, other.shape
        if not a_shape or not b_shape:
            raise ShapeError("matmul: both arguments need at least one dimension, got a scalar")
        k_a = a_shape[-1]
        k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
        if k_a != k_b:
            raise ShapeError(
                f"matmul: shapes {a_shape} and {b_shape} can't be multiplied: the last "
                f"dimension of the first ({k_a}) must equal the "
                f"{'first' if len(b_shape) == 1 else 'second-to-last'} dimension of the "
                f"second ({k_b})"
            )
        a = self.unsqueeze(0) if self.ndim == 1 else self
        b = other.unsqueeze(-1) if other.ndim == 1 else other
        out = M.MatMul.apply(a, b)
        if other.ndim == 1:
            out = out.squeeze(-1)
        if self.ndim == 1:
            out = out.squeeze(-2 if other.ndim > 1 else -1)
        return out

    def dot(self, other: Tensor) -> Tensor:
        return (self * other).sum()

    # --- shape ---------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        target = resolve_shape(shape_args(shape), self.numel(), self.shape)
        if target == self.shape:
            return self
        out = V.Reshape.apply(self, shape=target)
        out._version = self._version
        return out

    view = reshape

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = start_dim % self.ndim, end_dim % self.ndim
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1 :])

    def unflatten(self, dim: builtins.int, sizes: Sequence[builtins.int]) -> Tensor:
        d = dim % self.ndim
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1 :])

    def squeeze(self, dim: Dim = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = normalize_dims(dim, self.ndim) or ()
        return self.reshape(
            tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        )

    def unsqueeze(self, dim: builtins.int) -> Tensor:
        d = dim if dim >= 0 else dim + self.ndim + 1
        if not 0 <= d <= self.ndim:
            raise IndexError(
                f"unsqueeze: dim {dim} is out of range for a tensor with {self.ndim} dims"
            )
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def permute(self, *dims: Any) -> Tensor:
        order = tuple(d % self.ndim for d in shape_args(dims))
        if sorted(order) != list(range(self.ndim)):
            raise ShapeError(f"permute: {dims} is not a permutation of {self.ndim} dims")
        out = V.Permute.apply(self, dims=order)
        out._version = self._version
        return out

    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return self.permute(*order)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ShapeError("t() expects a tensor with at most 2 dims; use .mT or .transpose")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def expand(self, *sizes: Any) -> Tensor:
        sizes = shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: can't expand shape {self.shape} to {sizes}")
        target = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
        for i, n in enumerate(self.shape):
            if n != 1 and n != target[lead + i]:
                raise ShapeError(
                    f"expand: dimension {i} of shape {self.shape} has size {n}, "
                    f"which can't be expanded to {target[lead + i]} (only size-1 dims can)"
                )
        if target == self.shape:
            return self
        out = V.Expand.apply(self, shape=target)
        out._version = self._version
        return out

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def movedim(self, source: builtins.int, destination: builtins.int) -> Tensor:
        order = [d for d in range(self.ndim) if d != source % self.ndim]
        order.insert(destination % self.ndim, source % self.ndim)
        return self.permute(*order)

    def flip(self, *dims: Any) -> Tensor:
        axes = normalize_dims(shape_args(dims), self.ndim)
        return V.Flip.apply(self, axes=axes) if axes else self

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, builtins.int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, builtins.int) else tuple(dims)
        return V.Roll.apply(self, shifts=shifts, axes=tuple(d % self.ndim for d in dims))

    def tril(self, diagonal: builtins.int = 0) -> Tensor:
        """The lower triangle of the last two dims (the rest zero)."""
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal: builtins.int = 0) -> Tensor:
        """The upper triangle of the last two dims (the rest zero)."""
        return self._triangle(diagonal, lower=False)

    def _triangle(self, diagonal: builtins.int, lower: builtins.bool) -> Tensor:
        xp, kw = self.device.xp, self.device.creation_kw
        n, m = self.shape[-2:]
        rows = xp.reshape(xp.arange(n, **kw), (n, 1))
        cols = xp.reshape(xp.arange(m, **kw), (1, m))
        keep = cols - rows <= diagonal if lower else cols - rows >= diagonal
        if self.dtype.kind != "f":
            return Tensor._make(
                xp.where(keep, self.data, xp.zeros_like(self.data)), self.device, False
            )
        return self.masked(keep)

    def diagonal(
        self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1
    ) -> Tensor:
        """The diagonal of dims dim1, dim2 as the last dim, as torch."""
        d1, d2 = dim1 % self.ndim, dim2 % self.ndim
        rest = [d for d in range(self.ndim) if d not in (d1, d2)]
        x = self.permute(*rest, d1, d2)
        n1, n2 = x.shape[-2:]
        size = builtins.max(
            0, builtins.min(n1 + builtins.min(offset, 0), n2 - builtins.max(offset, 0))
        )
        start = np.arange(size)
        rows, cols = start - builtins.min(offset, 0), start + builtins.max(offset, 0)
        return x[..., rows, cols]

    def index_select(self, dim: builtins.int, index: Tensor) -> Tensor:
        lead = (slice(None),) * (dim % self.ndim)
        return self[(*lead, index)]

    def repeat_interleave(self, repeats: Any, dim: builtins.int | None = None) -> Tensor:
        """Each element (along dim; of the flattened tensor without one) `repeats` times."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else dim % self.ndim
        counts = repeats.tolist() if isinstance(repeats, Tensor) else repeats
        picks = np.repeat(np.arange(x.shape[d]), counts)
        return x.index_select(d, Tensor(picks, device=self.device))

    def repeat(self, *sizes: Any) -> Tensor:
        sizes = shape_args(sizes)
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        expanded = x.reshape(tuple(v for n in x.shape for v in (1, n))).expand(
            tuple(v for r, n in zip(sizes, x.shape) for v in (r, n))
        )
        return expanded.reshape(tuple(r * n for r, n in zip(sizes, x.shape)))

    def split(self, split_size: Any, dim: builtins.int = 0) -> tuple[Tensor, ...]:
        n = self.shape[dim]
        sizes = (
            [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
            if isinstance(split_size, builtins.int)
            else list(split_size)
        )
        lead = (slice(None),) * (dim % self.ndim)
        out, start = [], 0
        for s in sizes:
            out.append(self[lead + (slice(start, start + s),)])
            start += s
        return tuple(out)

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]:
        n = self.shape[dim]
        return self.split(-(-n // chunks), dim)

    # --- gather, scatter, sort ---------------------------------------------------------------
    def gather(self, dim: builtins.int, index: Tensor) -> Tensor:
        """`out[i][j][k] = self[index[i][j][k]][j][k]` for dim 0 (and likewise for each dim)."""
        return I.GetItem.apply(self, key=self._along_key(dim, index), advanced=True)

    def scatter(self, dim: builtins.int, index: Tensor, src: Any) -> Tensor:
        """A copy with src written at index along dim (the inverse of gather)."""
        key = self._along_key(dim, index)
        src = self._scatter_source(src, index)
        return I.IndexPut.apply(self, src, steps=[(key, True)])

    def scatter_add(self, dim: builtins.int, index: Tensor, src: Tensor) -> Tensor:
        """A copy with src added at index along dim; repeated indices accumulate."""
        key = self._along_key(dim, index)
        src = self._scatter_source(src, index)
        return self + I.IndexAdd.apply(src, shape=self.shape, key=key, advanced=True)

    def _scatter_source(self, src: Any, index: Tensor) -> Tensor:
        if not isinstance(src, Tensor):
            return self._scalar(src).expand(index.shape)
        if src.shape != index.shape:  # torch reads only the index-shaped corner of src
            src = src[tuple(slice(0, n) for n in index.shape)]
        return self._other(src)[1]

    def _along_key(self, dim: builtins.int, index: Tensor) -> tuple:
        """An integer-array key that picks index's entries along dim (and the same position
        in every other dim): what gather and scatter read and write."""
        if index.dtype.kind not in "iu":
            raise DtypeError(f"gather/scatter: index must be an integer tensor, got {index.dtype}")
        if index.ndim != self.ndim:
            raise ShapeError(
                f"gather/scatter: index has {index.ndim} dims but the tensor has {self.ndim}"
            )
        xp, kw = self.device.xp, self.device.creation_kw
        d = dim % self.ndim
        key = []
        for i, n in enumerate(index.shape):
            if i == d:
                key.append(index.data)
            else:
                shape = [1] * index.ndim
                shape[i] = n
                key.append(xp.reshape(xp.arange(n, **kw), tuple(shape)))
        return tuple(key)

    def argsort(
        self,
        dim: builtins.int = -1,
        descending: builtins.bool = False,
        stable: builtins.bool = False,
    ) -> Tensor:
        """Indices that sort along dim; always stable (ties keep their order)."""
        xp, int64 = self.device.xp, self.device.dtype(dtypes.int64)
        if self.ndim == 0:
            return Tensor._make(
                xp.zeros((), dtype=int64, **self.device.creation_kw), self.device, False
            )
        d = dim % self.ndim
        if not descending:
            out = xp.argsort(self.data, axis=d, stable=True)
        else:  # stable descending: sort the reversed tensor ascending, reverse, map back
            last = self.shape[d] - 1
            out = last - xp.flip(
                xp.argsort(xp.flip(self.data, axis=d), axis=d, stable=True), axis=d
            )
        return Tensor._make(xp.astype(out, int64), self.device, False)

    def sort(
        self,
        dim: builtins.int = -1,
        descending: builtins.bool = False,
        stable: builtins.bool = False,
    ) -> Any:
        """(values, indices) sorted along dim; values carry the gradient (as torch)."""
        indices = self.argsort(dim, descending)
        if self.ndim == 0:
            return SortResult(self, indices)
        return SortResult(self.gather(dim, indices), indices)

    def topk(
        self,
        k: builtins.int,
        dim: builtins.int = -1,
        largest: builtins.bool = True,
        sorted: builtins.bool = True,
    ) -> Any:  # noqa: A002
        """(values, indices) of the k largest (or smallest) along dim, in order."""
        d = dim % builtins.max(self.ndim, 1)
        if not 0 <= k <= (self.shape[d] if self.ndim else 1):
            raise IndexError(f"topk: k={k} is out of range for dim {dim} of shape {self.shape}")
        indices = self.argsort(dim, descending=largest)
        if self.ndim == 0:
            return SortResult(self, indices)
        indices = indices[(slice(None),) * d + (slice(0, k),)]
        return SortResult(self.gather(d, indices), indices)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Any:
        """The indices of the non-zero elements: (n, ndim), or one tensor per dim."""
        xp = self.device.xp
        found = xp.nonzero(self.data if self.ndim else xp.reshape(self.data, (1,)))
        cols = [
            Tensor._make(xp.astype(c, self.device.dtype(dtypes.int64)), self.device, False)
            for c in found
        ]
        if as_tuple:
            return tuple(cols)
        return Tensor._make(xp.stack([c.data for c in cols], axis=1), self.device, False)

    def masked_select(self, mask: Tensor) -> Tensor:
        """The elements where mask holds, as a 1-D tensor (mask broadcasts)."""
        shape = np.broadcast_shapes(self.shape, mask.shape)
        return self.expand(shape)[mask.expand(shape)]

    # --- indexing ------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Tensor:
        out = self
        for raw, advanced in self._index_steps(key):
            base = out
            out = I.GetItem.apply(base, key=raw, advanced=advanced)
            if not advanced:
                out._version = base._version
        return out

    def __setitem__(self, key: Any, value: Any) -> None:
        steps = self._index_steps(key)
        if isinstance(value, Tensor):
            if value.device is not self.device:
                _, value = self._other(value)  # raises the device error below
            if value.dtype != self.dtype:
                value = value.to(self.dtype)
        else:
            value = self._scalar(value)
        if is_grad_enabled() and (self.requires_grad or value.requires_grad):
            self._inplace(
                "__setitem__", lambda old: I.IndexPut.apply(old, value, steps=steps), value
            )
        else:  # nothing to record: write straight into the indexed memory
            if self.device.is_broadcast_view(self.data):
                raise RuntimeError(
                    "__setitem__: more than one element of this tensor refers to a single memory "
                    "location (it is an expand()ed or broadcast view): clone() it before writing"
                )
            with self.device.context:
                I.put(self.device, self.data, steps, value.data)
            self._bump_version()

    def _index_steps(self, key: Any) -> list[tuple[Any, builtins.bool]]:
        """`key` as raw keys applied one after the other. One, except where integers and index
        tensors meet: torch applies the integers first (basic indexing) and then the tensors,
        so x[1, :, idx] puts idx's dimension last, where NumPy would put it first."""
        raw, advanced = self._index_key(key)
        parts = raw if isinstance(raw, tuple) else (raw,)
        if not advanced or not builtins.any(_is_int(k) for k in parts):
            return [(raw, advanced)]
        basic = tuple(k if _is_int(k) or k is None or k is Ellipsis else slice(None) for k in parts)
        rest = tuple(slice(None) if k is None else k for k in parts if not _is_int(k))
        return [(basic, False), (rest, True)]

    def _index_key(self, key: Any) -> tuple[Any, builtins.bool]:
        parts = key if isinstance(key, tuple) else (key,)
        out, advanced = [], False
        for k in parts:
            if isinstance(k, Tensor):
                if k.device is not self.device:
                    _device_mismatch("index", [self, k])
                out.append(k.data)
                advanced = True
            elif isinstance(k, list | np.ndarray):
                arr = np.asarray(k)
                if arr.dtype.kind not in "iub":
                    raise IndexError(
                        f"tensors can only be indexed with integers or booleans, got {arr.dtype}"
                    )
                out.append(
                    self.device.from_numpy(arr.astype(np.int64) if arr.dtype.kind != "b" else arr)
                )
                advanced = True
            else:
                out.append(k)
        return (tuple(out) if isinstance(key, tuple) else out[0]), advanced

    # --- in place ------------------------------------------------------------------------
    def _inplace(self, op: str, compute: Callable[[Tensor], Tensor], *others: Any) -> Tensor:
        """Replace this tensor's values by compute(self), in its own memory (views see it).

        Inside a graph (as torch): compute(old) is recorded, where `old` stands for this
        tensor's history so far; this tensor's node becomes the new one (nodes made before
        still reach the old history), and its version is bumped, so only a node that saved
        the overwritten value refuses to backward."""
        recording = is_grad_enabled() and (
            self.requires_grad
            or builtins.any(isinstance(o, Tensor) and o.requires_grad for o in others)
        )
        if not recording:
            return self._write(compute(self).data)
        self._check_inplace(op)
        old = _make_tensor(self.data, self.device, self.requires_grad)
        old._ctx, old._version = self._ctx, self._version
        new = compute(old)
        node = new._ctx
        if node is not None and builtins.any(node.parents[i] is old for i in node.saved_inputs()):
            # its backward reads the value about to be overwritten: it keeps a copy (as torch)
            old.data, old._version = self.device.copy(old.data), [old._version[0]]
        self._write(new.data)
        if node is not None:
            node.replaced = self._ctx
            self._ctx, self.requires_grad = node, True
        return self

    def _check_inplace(self, op: str) -> None:
        """Refuse the in-place changes torch refuses, or that this graph can't follow."""
        if self._ctx is None and self.requires_grad:
            raise GradientError(
                f"{op}: a leaf tensor that requires grad can't be changed in place while "
                "gradients are recorded: wrap the update in `with tinygrad_digits.no_grad():`"
            )
        node = self._ctx
        if (
            node is not None
            and not hasattr(node, "replaced")  # an in-place op's node shares memory too
            and builtins.any(p._version is self._version for p in node.parents)
        ):
            raise GradientError(
                f"{op}: this tensor is a view ({node.name}) of a tensor in a graph, and "
                "changing a view in place is not followed back to the tensor it views: write "
                "through the tensor itself (x[0] = x[0] * 2 instead of x[0].mul_(2)), or "
                ".clone() the view first"
            )

    def _bump_version(self) -> None:
        """Record that this tensor's memory was changed in place: a graph that saved the old
        value then refuses to back-propagate through it instead of using the new one."""
        self._version[0] += 1

    def _write(self, value: Any) -> Tensor:
        """Write raw `value` into this tensor's memory (views see it) and bump its version."""
        xp = self.device.xp
        with self.device.context:
            if value.dtype != self.data.dtype:
                value = xp.astype(value, self.data.dtype)
            if self.device.is_broadcast_view(self.data):  # never write through a stride-0 view
                self.data = self.device.copy(xp.broadcast_to(value, self.data.shape))
            elif value is not self.data:
                try:
                    self.data[...] = value
                except (ValueError, TypeError):  # read-only memory or a NumPy scalar
                    self.data = self.device.copy(xp.broadcast_to(value, self.data.shape))
        self._bump_version()
        return self

    @_on_own_device
    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._inplace("add_", lambda old: old.add(other, alpha), other)

    @_on_own_device
    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._inplace("sub_", lambda old: old.sub(other, alpha), other)

    @_on_own_device
    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul_", lambda old: old * other, other)

    @_on_own_device
    def div_(self, other: Any) -> Tensor:
        return self._inplace("div_", lambda old: old / other, other)

    @_on_own_device
    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return self._inplace("clamp_", lambda old: old.clamp(min, max))

    def relu_(self) -> Tensor:
        return self._inplace("relu_", Tensor.relu)

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        return self._inplace("masked_fill_", lambda old: old.masked_fill(mask, value), value)

    @_on_own_device
    def zero_(self) -> Tensor:
        return self.fill_(0)

    @_on_own_device
    def fill_(self, value: Any) -> Tensor:
        self[...] = value
        return self

    def copy_(self, src: Tensor) -> Tensor:
        if src.device is not self.device:
            src = src.to(self.device)
        self[...] = src
        return self

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0) -> Tensor:
        return self._random_("uniform", low=a, high=b)

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0) -> Tensor:
        return self._random_("normal", mean=mean, std=std)

    def _random_(self, kind: str, **kw: Any) -> Tensor:
        drawn = self.device.random(kind, self.shape, self.dtype, **kw)
        return self.copy_(Tensor._make(drawn, self.device, False))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)


def _make_tensor(data: Any, device: Device, requires_grad: bool) -> Tensor:
    """Fast constructor for op results: no checks, no conversion."""
    t = _new(Tensor)
    t.data = data
    t.device = device
    t.requires_grad = requires_grad
    t._grad = None
    t._ctx = None
    t._version = [0]
    t.name = None
    return t


_new = object.__new__
Tensor._make = staticmethod(_make_tensor)
function._make_tensor = _make_tensor


# --- helpers ------------------------------------------------------------------------------
def _from_python(data: Any) -> np.ndarray:
    array = np.asarray(data)
    if array.dtype == np.float64 and not isinstance(data, np.ndarray | np.generic):
        return array.astype(np.float32)
    if array.dtype.kind in "iu" and array.dtype != np.int64:
        return array.astype(np.int64)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"can't make a tensor from {type(data).__name__} of {array.dtype}")
    return array


def _is_int(k: Any) -> builtins.bool:
    return isinstance(k, builtins.int | np.integer) and not isinstance(k, builtins.bool)


def _wrap_int(value: builtins.int, dtype: np.dtype) -> builtins.int:
    """A Python int as `dtype` holds it, wrapped modulo 2**bits as torch converts scalars
    (int32_tensor | 0xFFFFFFFF is int32_tensor | -1)."""
    bits = dtype.itemsize * 8
    value %= 1 << bits
    if dtype.kind == "i" and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def _promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    ka, kb = a.dtype.kind, b.dtype.kind
    if ka == "f" and kb != "f":
        return a, b.to(a.dtype)
    if kb == "f" and ka != "f":
        return a.to(b.dtype), b
    common = np.promote_types(a.dtype, b.dtype)
    return a.to(common), b.to(common)


def _as_gradient(gradient: Any, like: Tensor) -> Tensor:
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=like.dtype, device=like.device)
    if gradient.shape != like.shape:
        raise ShapeError(
            f"backward: gradient has shape {gradient.shape} but the tensor has {like.shape}"
        )
    if gradient.device is not like.device:
        _device_mismatch("backward", [like, gradient])
    return gradient
