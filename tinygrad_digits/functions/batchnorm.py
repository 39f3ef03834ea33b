"""Training-mode batch normalisation as one node: the batch statistics, normalisation and the
affine transform in forward, the classic closed-form gradient in Tensor ops in backward."""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled


def normalise(x, dims, eps):
    """(x - mean) / sqrt(var + eps) over `dims` in Tensor ops (biased variance), and 1/std."""
    centred = x - x.mean(dim=dims, keepdim=True)
    inv = ((centred * centred).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return centred * inv, inv


class BatchNorm(Function):
    """y = xhat * weight + bias, xhat = (x - mean) / sqrt(var + eps) with the batch's mean and
    biased variance over `dims`. weight and bias are optional inputs after x (`affine` says
    which are given); `track(mean, var)` receives the raw batch statistics."""

    def forward(self, x, *params, dims, eps, affine, track=None):
        xp = self.xp
        self.dims, self.eps, self.affine = dims, eps, affine
        mean = xp.mean(x, axis=dims, keepdims=True)
        centred = x - mean
        var = xp.mean(centred * centred, axis=dims, keepdims=True)
        if track is not None:
            track(mean, var)
        self.inv = 1 / xp.sqrt(var + eps)
        self.xhat = centred * self.inv
        shape = mean.shape
        params = iter(params)
        out = self.xhat * xp.reshape(next(params), shape) if affine[0] else self.xhat
        return out + xp.reshape(next(params), shape) if affine[1] else out

    def backward(self, g):  # dx = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        x, *params = self.parents
        weight = params[0] if self.affine[0] else None
        bias = params[-1] if self.affine[1] else None
        dims = self.dims
        if is_grad_enabled():  # recorded: xhat and inv as functions of x, for higher orders
            xhat, inv = normalise(x, dims, self.eps)
        else:
            xhat, inv = self.const(self.xhat), self.const(self.inv)
        shape = inv.shape
        gxhat = g * weight.reshape(shape) if weight is not None else g
        gx = None
        if x.requires_grad:
            spread = (gxhat * xhat).mean(dim=dims, keepdim=True)
            gx = inv * (gxhat - gxhat.mean(dim=dims, keepdim=True) - xhat * spread)
        grads = [gx]
        if weight is not None:
            grads.append((g * xhat).sum(dim=dims) if weight.requires_grad else None)
        if bias is not None:
            grads.append(g.sum(dim=dims) if bias.requires_grad else None)
        return tuple(grads)
