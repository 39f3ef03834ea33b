"""Training-mode batch normalisation as one node: the batch statistics, normalisation and the
affine transform in forward, the classic closed-form gradient in Tensor ops in backward."""

from __future__ import annotations

from ..autograd.function import Function


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
        inv = 1 / xp.sqrt(var + eps)
        xhat *= inv
        self.save_for_backward(xhat=xhat, inv=inv)
        shape = mean.shape
        params = iter(params)
        out = xhat * xp.reshape(next(params), shape) if affine[0] else xhat * 1  # never xhat
        if affine[1]:
            out += xp.reshape(next(params), shape)
        return out

    def backward(self, g):
        x = self.parents[0]
        xhat, inv = normalise(x, self.dims, self.eps)  # as functions of x, for higher orders
        return self._grads(
            g, xhat, inv, lambda a: a.sum(dim=self.dims, keepdim=True), lambda a, s: a.reshape(s)
        )

    def backward_arrays(self, g):  # the same on raw arrays, from the saved xhat and 1/std
        xp, saved = self.xp, self.saved_arrays
        return self._grads(
            g,
            saved["xhat"],
            saved["inv"],
            lambda a: xp.sum(a, axis=self.dims, keepdims=True),
            xp.reshape,
            raw=True,
        )

    def _grads(self, g, xhat, inv, total, reshape, raw=False):
        """dx = w inv (g - mean(g) - xhat mean(g xhat)), dw = sum(g xhat), db = sum(g), the same
        code for tensors and arrays; dx as g*scale - (xhat*a + b), per-channel a, b: 4 passes."""
        x, *params = self.parents
        weight = params[0] if self.affine[0] else None
        bias = params[-1] if self.affine[1] else None
        count = x.numel() // x.shape[1]
        g_sum = total(g)
        gx_sum = total(g * xhat)
        grads = [None]
        if x.requires_grad:
            scale = inv
            if weight is not None:
                scale = inv * reshape(weight.data if raw else weight, inv.shape)
            grads[0] = g * scale - (xhat * (scale * gx_sum / count) + scale * g_sum / count)
        if weight is not None:
            grads.append(reshape(gx_sum, weight.shape) if weight.requires_grad else None)
        if bias is not None:
            grads.append(reshape(g_sum, bias.shape) if bias.requires_grad else None)
        return tuple(grads)
