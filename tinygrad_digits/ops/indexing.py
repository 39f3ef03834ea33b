"""Indexing, its adjoint scatter-add (repeated indices accumulate their gradients), and
writing at an index (the recorded form of x[key] = value)."""

from __future__ import annotations

from ..autograd.function import Function
from ..backend.repeated_indices import last_write_wins


class GetItem(Function):
    retain_inputs = False

    def forward(self, x, key, advanced):
        self.in_shape, self.key, self.advanced = x.shape, key, advanced
        return self.device.getitem(x, key)

    def backward(self, g):  # scatter the gradient back to where it was read from
        return IndexAdd.apply(g, shape=self.in_shape, key=self.key, advanced=self.advanced)


class IndexAdd(Function):
    """zeros(shape) with the input added at `key`: the adjoint of GetItem."""

    retain_inputs = False

    def forward(self, values, shape, key, advanced):
        self.key, self.advanced = key, advanced
        if advanced:
            return self.device.index_add(shape, key, values)
        out = self.xp.zeros(shape, dtype=values.dtype, **self.device.creation_kw)
        return self.device.setitem(out, key, values)

    def backward(self, g):  # the adjoint of scatter-add is gather
        return GetItem.apply(g, key=self.key, advanced=self.advanced)


def put(device, array, steps, value):
    """array[key] = value in place, the key given as steps applied one after the other."""
    for key, _ in steps[:-1]:
        array = device.getitem(array, key)  # basic indexing: a view
    key, advanced = steps[-1]
    if advanced:  # repeated indices: the last write wins on every device
        value = last_write_wins(device, array, key, value)
    device.setitem(array, key, value)


class IndexPut(Function):
    """A copy of x with value written at the indexed places: x[key] = value (and fill_, zero_,
    copy_) on a tensor in a graph. x's gradient is zero there, value's is what was read there."""

    retain_inputs = False

    def forward(self, x, value, steps):
        self.steps = steps
        out = self.device.copy(x)
        put(self.device, out, steps, value)
        return out

    def backward(self, g):
        x, value = self.parents
        gx = gv = None
        if x.requires_grad:
            zero = self.xp.zeros((), dtype=g.data.dtype, **self.device.creation_kw)
            gx = IndexPut.apply(g, self.const(zero), steps=self.steps)
        if value.requires_grad:
            gv = g
            for key, advanced in self.steps:
                gv = GetItem.apply(gv, key=key, advanced=advanced)
        return gx, gv
