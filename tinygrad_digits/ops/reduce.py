"""Reductions over `dim` (int, tuple or None) with `keepdim`."""

from __future__ import annotations

from ..autograd.function import Function


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape of a reduction's result with keepdim=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    retain_inputs = False

    def forward(self, x, axes, keepdim):
        self.in_shape, self.axes = x.shape, axes
        return self.xp.sum(x, axis=axes, keepdims=keepdim)

    def backward(self, g):  # every input element gets the upstream gradient of its sum
        return BroadcastTo.apply(g, kept=kept_shape(self.in_shape, self.axes), shape=self.in_shape)


class BroadcastTo(Function):
    """A reduced gradient spread back over the reduced axes (the adjoint of Sum)."""

    retain_inputs = False

    def forward(self, g, kept, shape):
        self.kept, self.in_shape = kept, g.shape
        return self.xp.broadcast_to(self.xp.reshape(g, kept), shape)

    def backward(self, g):  # the adjoint of broadcasting is summing
        axes = tuple(i for i, (k, n) in enumerate(zip(self.kept, g.shape)) if k != n)
        return g.sum(dim=axes, keepdim=True).reshape(self.in_shape)


class Amax(Function):
    """max over `axes`; tied maxima share the gradient evenly (so it still sums to upstream)."""

    def forward(self, x, axes, keepdim, smallest=False):
        xp = self.xp
        self.axes, self.smallest = axes, smallest
        reduce = xp.min if smallest else xp.max
        kept = reduce(x, axis=axes, keepdims=True)
        self.save_for_backward(kept=kept)
        return kept if keepdim else xp.reshape(kept, _drop(kept.shape, axes))

    def backward(self, g):  # d max = [x is a maximum] / (number of maxima) * upstream
        xp = self.xp
        x, kept = self.parents[0].data, self.saved_arrays["kept"]
        hit = xp.astype(x == kept, x.dtype)
        share = hit / xp.sum(hit, axis=self.axes, keepdims=True)
        return g.reshape(kept.shape) * self.const(share)


def _drop(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Prod(Function):
    """The product over one axis; the gradient of each factor is the product of the others
    (computed without dividing, so zeros are exact)."""

    def forward(self, x, axis, keepdim):
        self.axis = axis
        return self.xp.prod(x, axis=axis, keepdims=keepdim)

    def backward(self, g):
        (x,) = self.parents
        n = x.shape[self.axis]
        rows = x.movedim(self.axis, -1).unsqueeze(-2)  # (..., 1, n): row i, all factors
        rows = rows.expand(*rows.shape[:-2], n, n)
        eye = self.const(self.xp.eye(n, dtype=self.xp.bool, **self.device.creation_kw))
        others = rows.masked_fill(eye, 1.0).prod(-1).movedim(-1, self.axis)
        return (g if g.ndim == x.ndim else g.unsqueeze(self.axis)) * others


class CumSum(Function):
    retain_inputs = False

    def forward(self, x, axis):
        self.axis = axis
        xp = self.xp
        # the Array API name (CuPy, strict, NumPy >= 2.1); NumPy 2.0, our floor, has only cumsum
        cumulative_sum = getattr(xp, "cumulative_sum", None) or getattr(xp, "cumsum")  # noqa: B009
        return cumulative_sum(x, axis=axis)

    def backward(self, g):  # each input feeds every later sum: a reversed cumulative sum
        return g.flip(self.axis).cumsum(self.axis).flip(self.axis)


class CumProd(Function):
    """Running products along one axis; the gradient of x_i sums, over every later product,
    the product of its other factors (computed without dividing, so zeros are exact)."""

    def forward(self, x, axis):
        self.axis = axis
        xp = self.xp
        scan = getattr(xp, "cumulative_prod", None) or xp.cumprod  # NumPy 2.0 has only cumprod
        return scan(x, axis=axis)

    def backward(self, g):
        (x,) = self.parents
        n = x.shape[self.axis]
        rows = x.movedim(self.axis, -1).unsqueeze(-2)  # row i: all factors, x_i set to 1 below
        rows = rows.expand(*rows.shape[:-2], n, n)
        eye = self.const(self.xp.eye(n, dtype=self.xp.bool, **self.device.creation_kw))
        others = rows.masked_fill(eye, 1.0).cumprod(-1).triu()  # [i, k]: k >= i read x_i
        upstream = g.movedim(self.axis, -1).unsqueeze(-2)
        return (others * upstream).sum(-1).movedim(-1, self.axis)
