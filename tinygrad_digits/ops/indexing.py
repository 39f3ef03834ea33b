"""Indexing and its adjoint, scatter-add: repeated indices accumulate their gradients."""

from __future__ import annotations

from ..autograd.function import Function


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
