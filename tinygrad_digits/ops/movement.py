"""Shape ops. They move no gradient values, only reshape or route them."""

from __future__ import annotations

from ..autograd.function import Function


class Reshape(Function):
    retain_inputs = False

    def forward(self, x, shape):
        self.in_shape = x.shape
        return self.xp.reshape(x, shape)

    def backward(self, g):  # reshape the gradient back
        return g.reshape(self.in_shape)


class Permute(Function):
    retain_inputs = False

    def forward(self, x, dims):
        self.dims = dims
        return self.xp.permute_dims(x, dims)

    def backward(self, g):  # apply the inverse permutation
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return g.permute(*inverse)


class Expand(Function):
    retain_inputs = False

    def forward(self, x, shape):
        return self.xp.broadcast_to(x, shape)

    def backward(self, g):  # the engine sums the gradient over the broadcast dimensions
        return g


class Cast(Function):
    retain_inputs = False

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return self.xp.astype(x, dtype)

    def backward(self, g):  # a cast back to the input's dtype
        return Cast.apply(g, dtype=self.in_dtype)


class Concat(Function):
    retain_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return self.xp.concat(arrays, axis=axis)

    def backward(self, g):  # each input gets its own slice of the gradient
        grads, start = [], 0
        lead = (slice(None),) * (self.axis % g.ndim)
        for size in self.sizes:
            grads.append(g[lead + (slice(start, start + size),)])
            start += size
        return tuple(grads)


class Pad(Function):
    retain_inputs = False

    def forward(self, x, widths, value):
        xp = self.xp
        self.widths, self.value = widths, value  # read by the ONNX exporter
        shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
        self.inner = tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, widths))
        out = xp.full(shape, value, dtype=x.dtype, **self.device.creation_kw)
        out[self.inner] = x
        return out

    def backward(self, g):  # the gradient of the unpadded region
        return g[self.inner]


class ToDevice(Function):
    retain_inputs = False

    def forward(self, x, target):
        self.source = self.device
        self.device = target
        return target.receive(x, self.source)

    def backward(self, g):  # the gradient goes back to where the input lives
        return g.to(self.source)


class Flip(Function):
    retain_inputs = False

    def forward(self, x, axes):
        self.axes = axes
        return self.xp.flip(x, axis=axes)

    def backward(self, g):  # flipping is its own inverse
        return g.flip(self.axes)


class Roll(Function):
    retain_inputs = False

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return self.xp.roll(x, shift=shifts, axis=axes)

    def backward(self, g):  # roll back
        return g.roll(tuple(-s for s in self.shifts), self.axes)
