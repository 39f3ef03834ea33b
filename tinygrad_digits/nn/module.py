"""Module: the base class of every layer and model.

Assigning a Parameter or a Module to an attribute registers it, so `parameters()`,
`state_dict()`, `to(device)` and `train()/eval()` find everything without bookkeeping in user code.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..autograd.hooks import RemovableHandle, register_dict_hook
from ..autograd.hooks import state as _hooks
from ..autograd.tensor import Tensor
from ..backend.device import Device
from ..backend.registry import parse_to_args
from .parameter import Parameter, copy_tensor

# What Module.__init__ sets up; a subclass that skips super().__init__() lacks it.
_MODULE_STATE = (
    "_parameters",
    "_buffers",
    "_modules",
    "_non_persistent",
    "training",
    "_forward_pre_hooks",
    "_forward_hooks",
)


class StateDictError(RuntimeError):
    """load_state_dict found missing, unexpected or wrong-shaped entries; nothing was loaded."""


class IncompatibleKeys(NamedTuple):
    """What load_state_dict(strict=False) skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _numpy_input(module: Any, x: np.ndarray) -> None:
    raise TypeError(
        f"{type(module).__name__} got a NumPy array of shape {x.shape}; modules take Tensors, as "
        "in PyTorch: wrap it with tg.tensor(x) (add dtype=tg.float32 for float64 data, the "
        "dtype of the weights)"
    )


class Module:
    """Base class for layers and models: subclass it, assign layers in __init__, write forward.

    Call `super().__init__()` first in a subclass's __init__, then assign Parameters and
    Modules as attributes; calling the module runs `forward` (with the module pushed on the
    running-module stack of `autograd.hooks`, so graph pictures can group ops by module).
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}
        d["training"] = True
        d["_forward_pre_hooks"] = {}
        d["_forward_hooks"] = {}

    # --- running ---------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): define `def forward(self, x): ...` in the "
            "class; calling the module runs it"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], np.ndarray):
            _numpy_input(self, args[0])
        d = self.__dict__
        if d.get("_forward_pre_hooks") or d.get("_forward_hooks"):
            return self._call_with_hooks(args, kwargs)
        running = _hooks.modules  # this thread's stack of running modules (each op's scope)
        running.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            running.pop()

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        running = _hooks.modules
        running.append(self)
        try:
            for hook in tuple(self._forward_pre_hooks.values()):
                new = hook(self, args)
                if new is not None:
                    args = new if isinstance(new, tuple) else (new,)
            out = self.forward(*args, **kwargs)
            for hook in tuple(self._forward_hooks.values()):
                new = hook(self, args, out)
                if new is not None:
                    out = new
            return out
        finally:
            running.pop()

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call hook(module, args) before each forward; a value it returns replaces the
        positional args (a tuple, or one value), as in torch."""
        return register_dict_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call hook(module, args, output) after each forward; a value it returns replaces
        the output, as in torch."""
        return register_dict_hook(self._forward_hooks, hook)

    # --- registration ----------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._registries(name, "parameter")
            self._forget(name, "_parameters")
            params[name] = value
        elif isinstance(value, Module):
            self._registries(name, "submodule")
            self._forget(name, "_modules")
            d["_modules"][name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to parameter '{name}' of "
                    f"{type(self).__name__}: wrap it as nn.Parameter(value) (or assign None)"
                )
            params[name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to buffer '{name}' of "
                    f"{type(self).__name__}: buffers hold Tensors (or None)"
                )
            d["_buffers"][name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to submodule '{name}' of "
                    f"{type(self).__name__}: assign a Module (or None)"
                )
            d["_modules"][name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if "_parameters" in self.__dict__:
            self._forget(name)
        object.__delattr__(self, name)

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails
        if name in _MODULE_STATE:
            raise AttributeError(
                f"{type(self).__name__} is not initialised as a Module: call "
                "super().__init__() at the start of its __init__"
            )
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _registries(self, name: str, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} '{name}' before Module.__init__() runs: call "
                f"super().__init__() at the start of {type(self).__name__}.__init__"
            )

    def _forget(self, name: str, keep: str = "") -> None:
        """Drop `name` from every registry but `keep` (whose entry keeps its position)."""
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg != keep:
                d[reg].pop(name, None)
        d["_non_persistent"].discard(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or an empty slot, None) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter('{name}'): expected an nn.Parameter or None, got "
                f"{type(param).__name__}"
            )
        self._registries(name, "parameter")
        self._forget(name, "_parameters")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that belongs to the module (moved by to(), saved in state_dict when
        persistent) but is not learned, e.g. running statistics or a fixed mask."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer('{name}'): expected a Tensor or None, got {type(tensor).__name__}"
            )
        self._registries(name, "buffer")
        self._forget(name, "_buffers")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a child under `name` (names may be digits, as in Sequential)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module('{name}'): expected a Module, got {type(module).__name__}")
        self._registries(name, "submodule")
        self._forget(name, "_modules")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    # --- walking ---------------------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every module inside it, with dotted names ('' for this one)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            sub = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, e.g. ('layers.0.weight', ...); shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path such as 'layers.0'."""
        mod: Module = self
        for part in target.split(".") if target else []:
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(
                    f"{type(mod).__name__} has no submodule '{part}' (looking up '{target}'); "
                    f"it has: {', '.join(mod._modules) or 'none'}"
                )
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        p = mod._parameters.get(name)
        if p is None:
            raise AttributeError(f"{type(mod).__name__} has no parameter '{name}' ('{target}')")
        return p

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call fn on every submodule (children first) and on self, e.g. for custom init."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- modes -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops); eval() switches it off. Applies to every submodule."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (None by default, as torch; else zeros in place)."""
        for p in self.parameters():
            _clear_grad(p, set_to_none)

    # --- devices and dtypes ----------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move (and/or cast floating) parameters, their grads and buffers IN PLACE.

        The Parameter objects stay the same, so an optimizer built before the move keeps
        working; returns self so `model = Net().to(dev)` reads naturally.
        """
        device, dtype = parse_to_args(args, kwargs)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(
                f"Module.to only accepts floating-point dtypes, got {dtype}: integer parameters "
                "can't be learned"
            )
        for t in self._tensors():
            _move(t, device, dtype)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, index: int = 0) -> Module:
        return self.to(f"cuda:{index}")

    def float(self) -> Module:
        return self.to(dtypes.float32)

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def half(self) -> Module:
        return self.to(dtypes.float16)

    def _tensors(self) -> Iterator[Tensor]:
        yield from self.parameters()
        yield from self.buffers()

    # --- state -----------------------------------------------------------------------------
    def state_dict(
        self,
        destination: dict[str, Tensor] | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name.

        Values are detached tensors sharing memory with the model (as torch): save them, or
        copy them (`{k: v.clone() for ...}`) if you need a snapshot that later training
        does not change.
        """
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into the existing parameters and buffers (keeping their device/dtype).

        Everything is checked before anything is written: missing keys, unexpected keys
        (with strict=True) and wrong shapes (always) raise StateDictError listing each one,
        and the model is left untouched.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"load_state_dict expects a dict of name -> tensor, got {type(state_dict).__name__}"
            )
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems: list[str] = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor | np.ndarray):
                problems.append(
                    f"'{key}': expected a Tensor or NumPy array, got {type(value).__name__}"
                )
                continue
            shape = tuple(value.shape)
            if shape != target.shape:
                problems.append(
                    f"'{key}': shape {shape} in the checkpoint, {target.shape} in the model"
                )
            problem = _dtype_problem(value, target)
            if problem:
                problems.append(f"'{key}': {problem}")
        if strict and missing:
            problems.insert(
                0, "missing keys (in the model, not in the checkpoint): " + _ls(missing)
            )
        if strict and unexpected:
            problems.insert(
                0 if not missing else 1,
                "unexpected keys (in the checkpoint, not in the model): " + _ls(unexpected),
            )
        if problems:
            hint = ""
            if any(k.startswith("module.") for k in unexpected):
                hint = " (keys start with 'module.': strip that prefix first)"
            raise StateDictError(
                f"error(s) loading state_dict into {type(self).__name__}; nothing was loaded{hint}:"
                + "".join(f"\n  - {p}" for p in problems)
                + "\nUse strict=False to skip missing/unexpected keys (shapes must still match)."
            )
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    value = state_dict[key]
                    if isinstance(value, np.ndarray):
                        value = Tensor(value, device="cpu")
                    target.copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # --- copying and printing ----------------------------------------------------------------
    def __deepcopy__(self, memo: dict[int, Any]) -> Module:
        # Tensors hold their Device (which holds a module object), so copy them explicitly
        # and let everything else go through copy.deepcopy.
        for t in self._tensors():
            if id(t) not in memo:
                memo[id(t)] = copy_tensor(t)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def extra_repr(self) -> str:
        """The text inside this module's parentheses, e.g. 'in_features=64, out_features=10'."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        extra = self.extra_repr()
        own = sum(p.numel() for p in self.parameters())
        count = f"  # {own:,} params" if own else ""
        if not lines:
            return f"{type(self).__name__}({extra}){count}"
        head = f"{type(self).__name__}(" + (f"{extra}" if extra else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)" + count


def _ls(keys: list[str]) -> str:
    shown = ", ".join(f"'{k}'" for k in keys[:10])
    return shown + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")


def _clear_grad(p: Tensor, set_to_none: bool) -> None:
    if p.grad is None:
        return
    if set_to_none:
        p.grad = None
    else:
        g = p.grad
        p.grad = Tensor._make(g.device.xp.zeros_like(g.data), g.device, False)


def _move(t: Tensor, device: Device | None, dtype: np.dtype | None) -> None:
    """Replace t.data (and its grad's) with the moved/cast array, keeping the object."""
    arr, dev = t.data, t.device
    if device is not None and device is not dev:
        arr = device.receive(arr, dev)
        dev = device
    if dtype is not None and t.dtype.kind == "f" and t.dtype != dtype:
        arr = dev.xp.astype(arr, dev.dtype(dtype))
    if arr is not t.data:
        t.data = arr
        t.device = dev
        t._bump_version()  # a graph built before the move must not backward into new memory
    if t.grad is not None:
        _move(t.grad, device, dtype)


__all__ = ["IncompatibleKeys", "Module", "StateDictError"]


def _dtype_problem(value: Any, target: Tensor) -> str | None:
    """Why ``value`` can't be copied into ``target`` without losing what it holds: integers
    into a float parameter are truncated weights of another kind of model, and complex values
    would lose their imaginary part (float64 into float32 is a cast, as in torch)."""
    kind = np.dtype(value.dtype).kind
    want = np.dtype(target.dtype).kind
    if kind == want or (kind == "f" and want == "f"):
        return None
    if want == "f" and kind in "biuc":
        return (
            f"{np.dtype(value.dtype)} values in the checkpoint for a {np.dtype(target.dtype)} "
            "parameter (they would be truncated or lose their imaginary part); convert them "
            "with .float() first if that is really meant"
        )
    return None
