"""Flat buffers for a multi-tensor ("foreach") optimizer update.

On a GPU each array operation is a kernel launch, so an update rule run once per parameter
costs (operations per rule) x (parameters) launches. Here one bucket's parameters (one device,
one dtype) and each of their state arrays are views into one flat array apiece, so the rule runs
its few operations once over all of them. Only on devices whose operations are kernel launches
(`Device.launch_bound`): on the CPU, gathering the gradients into one array costs more than the
per-parameter calls it saves.

The views stay the real thing: `p.data` and `optimizer.state[p]['exp_avg']` are views into the
flat arrays, so in-place changes by the user (`p.data[...] = 0`, `p.mul_(2)`) are seen, and
state_dict() returns per-parameter arrays as before. Anything that replaces one of those arrays
(`model.to()`, `model.double()`, `load_state_dict`, `p.data = ...`, a state array swapped) is
noticed by an identity check at the next step, and the flat arrays are rebuilt from the
per-parameter ones then.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.tensor import Tensor
from ..backend.device import Device


class FlatBucket:
    """One bucket's parameters, and the state arrays under `keys`, as views into flat arrays."""

    def __init__(
        self, params: list[Tensor], states: list[dict[str, Any]], keys: tuple[str, ...]
    ) -> None:
        device = params[0].device
        self.keys = keys
        self.param = _flatten(device, [p.data for p in params])
        self.state = {k: _flatten(device, [st[k] for st in states]) for k in keys}
        self._views: list[tuple[Any, ...]] = []
        offset = 0
        for p, st in zip(params, states):
            size, shape = math.prod(p.data.shape), p.data.shape
            p.data = _view(device, self.param, offset, size, shape)
            for k in keys:
                st[k] = _view(device, self.state[k], offset, size, shape)
            self._views.append((p.data, *(st[k] for k in keys)))
            offset += size

    def intact(self, params: list[Tensor], states: list[dict[str, Any]]) -> bool:
        """True while every parameter and state array is still the view made here."""
        for p, st, views in zip(params, states, self._views):
            if p.data is not views[0]:
                return False
            for k, view in zip(self.keys, views[1:]):
                if st.get(k) is not view:
                    return False
        return True


def flat_grads(device: Device, grads: list[Any]) -> Any:
    """The gradients as one flat array (a fresh one: the rule may read it, never the grads)."""
    return _flatten(device, grads)


def _flatten(device: Device, arrays: list[Any]) -> Any:
    xp = device.xp
    return xp.concat([a if a.ndim == 1 else xp.reshape(a, (-1,)) for a in arrays])


def _view(device: Device, flat: Any, offset: int, size: int, shape: tuple[int, ...]) -> Any:
    part = flat[offset : offset + size]
    return part if len(shape) == 1 else device.xp.reshape(part, shape)


__all__ = ["FlatBucket", "flat_grads"]
