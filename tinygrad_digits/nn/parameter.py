"""Parameter: a Tensor that a Module registers as something to learn."""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered when assigned to a Module.

    Ops on a Parameter return plain Tensors; only the Parameter object itself is registered, so
    moving a model (`module.to(device)`) swaps its `.data` and keeps the object, and an optimizer
    holding it keeps working.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = Tensor([])
        if isinstance(data, Tensor):
            # share the array, as torch does; a Parameter is always a leaf
            super().__init__(data.detach())
        else:
            super().__init__(data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        found = memo.get(id(self))
        if found is None:
            found = memo[id(self)] = copy_tensor(self)
        return found


def copy_tensor(t: Tensor) -> Tensor:
    """An independent copy of a leaf tensor (and its grad) on the same device, same class."""
    cls = type(t)
    out = object.__new__(cls)
    out.data = t.device.copy(t.data)
    out.device = t.device
    out.requires_grad = t.requires_grad
    out._ctx = None
    out._version = [0]
    out.name = t.name
    out.grad = None if t.grad is None else copy_tensor(t.grad.detach())
    return out


__all__ = ["Parameter", "copy_tensor"]
