"""Training-mode batch normalisation as one node: the batch statistics, normalisation and the
affine transform in forward, the classic closed-form gradient in Tensor ops in backward."""

from __future__ import annotations

from ..autograd.engine import Function, is_grad_enabled


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
        xhat = x - mean  # centred for now: scaled in place below, saving a pass and a buffer
        var = xp.mean(xhat * xhat, axis=dims, keepdims=True)
        if track is not None:
            track(mean, var)
        self.inv = 1 / xp.sqrt(var + eps)
        xhat *= self.inv
        self.xhat = xhat
        shape = mean.shape
        params = iter(params)
        out = xhat * xp.reshape(next(params), shape) if affine[0] else xhat * 1  # never xhat
        if affine[1]:
            out += xp.reshape(next(params), shape)
        return out

    def backward(
        self, g
    ):  # dx = w inv (g - mean(g) - xhat mean(g xhat)), dw = sum(g xhat), db = sum(g)
        x, *params = self.parents
        weight = params[0] if self.affine[0] else None
        bias = params[-1] if self.affine[1] else None
        dims = self.dims
        if is_grad_enabled():  # recorded: xhat and inv as functions of x, for higher orders
            xhat, inv = normalise(x, dims, self.eps)
        else:
            xhat, inv = self.const(self.xhat), self.const(self.inv)
        shape = inv.shape
        count = x.numel() // x.shape[1]
        g_sum = g.sum(dim=dims, keepdim=True)
        gx_sum = (g * xhat).sum(dim=dims, keepdim=True)
        gx = None
        if x.requires_grad:  # as g*scale - (xhat*a + b): per-channel a, b; 4 passes over x
            scale = inv * weight.reshape(shape) if weight is not None else inv
            gx = g * scale - (xhat * (scale * gx_sum / count) + scale * g_sum / count)
        grads = [gx]
        if weight is not None:
            grads.append(gx_sum.reshape(weight.shape) if weight.requires_grad else None)
        if bias is not None:
            grads.append(g_sum.reshape(bias.shape) if bias.requires_grad else None)
        return tuple(grads)
