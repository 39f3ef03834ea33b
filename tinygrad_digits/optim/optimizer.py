"""Optimizer base class: parameter groups, per-parameter state, the step, zero_grad and state dicts.

The base class does what every optimizer shares: it walks the groups, skips parameters whose
grad is None, negates the gradient for `maximize`, adds L2 `weight_decay * p` to it, and bumps
each updated parameter's version. A subclass writes only its update rule, `_update`, which gets
a whole group's parameters at once (one device, one dtype); `_flat` turns them into flat buffers
for a multi-tensor ("foreach") update (optim/flat.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor
from .flat import FlatBucket, flat_grads

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Holds `param_groups` (list of dicts: 'params' plus hyperparameters) and `state`
    (per-parameter dict of raw arrays and counters).

    State arrays follow their parameter: after `model.to(device)` or `model.double()`, the
    next step moves/casts them, so an optimizer built before the move keeps working.
    """

    # True where the rule decays the weights itself (AdamW): the gradient is then left alone
    decoupled_weight_decay: bool = False
    # hyperparameters that must be >= 0, besides 'lr' and 'weight_decay'
    _nonnegative: tuple[str, ...] = ()

    def __init__(
        self,
        params: ParamsT,
        defaults: dict[str, Any],
        *,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        self.defaults = {**defaults, "weight_decay": weight_decay, "maximize": maximize}
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._placed: dict[int, tuple[Any, Any]] = {}
        self._flat_buckets: dict[tuple[int, ...], FlatBucket] = {}
        self.param_groups: list[dict[str, Any]] = []
        if callable(params) and not isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params is the method {getattr(params, '__name__', params)}"
                " itself: call it, model.parameters() with parentheses"
            )
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (e.g. "
                "model.parameters()) or of dicts, not a single tensor: wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list: pass model.parameters() "
                "(did the model register its layers as attributes after super().__init__()?)"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add parameters with their own hyperparameters (missing ones take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("a param group needs a 'params' entry")
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: parameter {i} of group {len(self.param_groups)} is a "
                    f"{type(p).__name__}, not a Tensor"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{type(self).__name__} can't optimize a non-leaf tensor (parameter {i}, shape "
                    f"{p.shape}): optimize the leaf it was computed from, or .detach() it and set "
                    "requires_grad"
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError(
                "some parameters appear in more than one parameter group (or twice in one): "
                "each parameter must be listed once"
            )
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Refuse bad hyperparameters when the group is added, not at the first step."""
        name = type(self).__name__
        for key, value in group.items():  # NaN passes every comparison: refuse it by name
            numbers = value if isinstance(value, tuple | list) and key != "params" else (value,)
            for v in numbers:
                if isinstance(v, float | int) and not isinstance(v, bool) and not math.isfinite(v):
                    raise ValueError(f"{name}: invalid {key} {value!r} (must be finite)")
        lr = group.get("lr")
        if not isinstance(lr, float | int) or isinstance(lr, bool) or lr < 0:
            raise ValueError(f"{name}: invalid learning rate {lr!r} (must be a number >= 0)")
        for key in ("weight_decay", *self._nonnegative):
            if group[key] < 0:
                raise ValueError(f"{name}: invalid {key} {group[key]!r} (must be >= 0)")

    # --- per-parameter state ---------------------------------------------------------------------
    def _state(self, p: Tensor) -> dict[str, Any]:
        """p's state dict, with its arrays moved/cast to where p lives now."""
        st = self.state.get(p)
        if st is None:
            st = self.state[p] = {}
            self._placed[id(p)] = (p.device, p.data.dtype)
            return st
        placed = self._placed.get(id(p))
        if placed is None or placed[0] is not p.device or placed[1] != p.data.dtype:
            _place(st, p)
            self._placed[id(p)] = (p.device, p.data.dtype)
        return st

    def _count_step(self, p: Tensor, buffers: tuple[str, ...]) -> dict[str, Any]:
        """p's state with one more 'step' counted and a zero array like p under each name in
        `buffers` that it lacks yet (the first step, or an option switched on later)."""
        st = self._state(p)
        st["step"] = st.get("step", 0) + 1
        for key in buffers:
            if key not in st:
                st[key] = p.device.xp.zeros_like(p.data)
        return st

    def _flat(
        self, params: list[Tensor], states: list[dict[str, Any]], keys: tuple[str, ...]
    ) -> FlatBucket:
        """The flat buffers of this bucket of parameters (optim/flat.py), rebuilt when a
        parameter or state array was replaced since the last step (a move, a load, a user)."""
        ids = tuple(id(p) for p in params)
        bucket = self._flat_buckets.get(ids)
        if bucket is None or bucket.keys != keys or not bucket.intact(params, states):
            taken = set(ids)  # a parameter lives in one flat buffer at a time
            self._flat_buckets = {
                k: b for k, b in self._flat_buckets.items() if taken.isdisjoint(k)
            }
            bucket = self._flat_buckets[ids] = FlatBucket(params, states, keys)
        return bucket

    def _rule_arrays(
        self,
        params: list[Tensor],
        states: list[dict[str, Any]],
        keys: tuple[str, ...],
        grads: list[Any],
        flat: bool = True,
    ) -> tuple[list[Any], list[Any], dict[str, list[Any]]]:
        """What a functional rule runs over: (parameters, gradients, {key: state arrays}). On a
        device whose operations are kernel launches (a GPU), when `flat`, one flat array each,
        so the rule is one pass for the bucket; elsewhere one per parameter (a state not made
        yet is None), which on the CPU is cheaper than gathering the gradients."""
        device = params[0].device
        if flat and device.launch_bound:
            bucket = self._flat(params, states, keys)
            state = {k: [bucket.state[k]] for k in keys}
            return [bucket.param], [flat_grads(device, grads)], state
        return [p.data for p in params], grads, {k: [st.get(k) for st in states] for k in keys}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter (None by default, as torch; else zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor._make(g.device.xp.zeros_like(g.data), g.device, False)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns closure() if one is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for params in _by_device_and_dtype(group["params"]):
                with params[0].device.context:  # CuPy runs kernels on the current GPU
                    self._update(group, params, self._gradients(group, params))
                for p in params:
                    p._bump_version()
        return loss

    def _gradients(self, group: dict[str, Any], params: list[Tensor]) -> list[Any]:
        """The raw arrays the rule descends along: the gradients, negated for maximize, plus
        weight_decay * p (L2) unless the rule decays the weights itself. Each change makes new
        arrays, so p.grad is left as it was."""
        grads = [p.grad.data for p in params]
        if group["maximize"]:
            grads = [-g for g in grads]
        wd = group["weight_decay"]
        if wd and not self.decoupled_weight_decay:
            grads = [g + wd * p.data for g, p in zip(grads, params)]
        return grads

    def _update(self, group: dict[str, Any], params: list[Tensor], grads: list[Any]) -> None:
        """The update rule: change each `p.data` in place, given `grads` (from _gradients).

        `params` are the group's parameters that have a gradient, all on one device with one
        dtype; `self._state(p)` holds what the rule keeps between steps. `grads` may be the
        gradients' own memory: read them, never write into them. `self._flat` turns the bucket
        into flat arrays, so the rule runs once over all parameters (a foreach update).
        """
        raise NotImplementedError

    # --- state dicts ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}, as torch.

        Parameters are numbered in group order; state arrays are returned as tensors on the
        parameters' device (sharing memory), ready for tinygrad_digits.save.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st:
                    self._state(p)  # make sure the arrays sit with p
                    state[index[id(p)]] = {
                        k: (Tensor._make(v, p.device, False) if _is_array(v) else v)
                        for k, v in st.items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by state_dict() (possibly on another device);
        arrays are placed on each parameter's current device and dtype."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict expects the dict from "
                "optimizer.state_dict(), with 'state' and 'param_groups'"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"the saved optimizer state has {len(saved_groups)} parameter group(s) but this "
                f"optimizer has {len(self.param_groups)}"
            )
        self._check_saved_groups(saved_groups)
        by_index: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"parameter group {i}: the saved state has {len(saved['params'])} parameters "
                    f"but this optimizer has {len(group['params'])}: was it built for another "
                    "model?"
                )
            for idx, p in zip(saved["params"], group["params"]):
                by_index[int(idx)] = p
        state: dict[Tensor, dict[str, Any]] = {}
        for idx, saved_state in state_dict.get("state", {}).items():
            p = by_index.get(int(idx))
            if p is None:
                raise ValueError(
                    f"the saved optimizer state names parameter {idx}, which is not in it"
                )
            st = {}
            for k, v in saved_state.items():
                if isinstance(v, Tensor):
                    if v.shape != p.shape and v.ndim:
                        raise ValueError(
                            f"saved optimizer state '{k}' for parameter {idx} has shape "
                            f"{v.shape}, but the parameter has shape {p.shape}"
                        )
                    arr = p.device.receive(v.data, v.device)
                    if v.dtype.kind == "f" and arr.dtype != p.data.dtype:
                        arr = p.device.xp.astype(arr, p.data.dtype)
                    st[k] = p.device.copy(arr)
                else:
                    st[k] = v
            state[p] = st
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) and k == "betas" else v
        self.state = state
        self._placed = {id(p): (p.device, p.data.dtype) for p in state}

    def _check_saved_groups(self, saved_groups: list[Any]) -> None:
        """Refuse the state of another kind of optimizer (its hyperparameters differ: Adam's
        betas in an SGD) and hyperparameters this one would refuse, before changing anything."""
        name = type(self).__name__
        for i, saved in enumerate(saved_groups):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), list | tuple):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} is malformed")
            lacking = sorted(set(self.defaults) - set(saved))
            if lacking:  # schedulers may add keys (initial_lr); an optimizer's own never lack
                raise ValueError(
                    f"{name}.load_state_dict: the saved state is not a {name}'s: group {i} "
                    f"lacks {', '.join(lacking)} (was it saved from another optimizer?)"
                )
            self._check_group({k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join(lines) + "\n)"


def _by_device_and_dtype(params: list[Tensor]) -> Iterable[list[Tensor]]:
    """The parameters that have a gradient, in lists that share a device and a dtype: what a
    rule over a whole list (one array namespace, one flat buffer) needs."""
    buckets: dict[tuple[int, Any], list[Tensor]] = {}
    for p in params:
        if p.grad is not None:
            key = (id(p.device), p.data.dtype)  # devices are singletons; id() skips __hash__
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [p]
            else:
                bucket.append(p)
    return buckets.values()


def _is_array(v: Any) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, int | float)


def _place(st: dict[str, Any], p: Tensor) -> None:
    """Move/cast the arrays in a state dict to p's device and dtype."""
    from ..backend.registry import device_of_array

    for k, v in st.items():
        if not _is_array(v):
            continue
        src = device_of_array(v)
        v = p.device.receive(v, src)
        if p.device.numpy_dtype(v).kind == "f" and v.dtype != p.data.dtype:
            v = p.device.xp.astype(v, p.data.dtype)
        st[k] = v


__all__ = ["Optimizer"]
