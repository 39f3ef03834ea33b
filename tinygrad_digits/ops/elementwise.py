"""Elementwise ops. Gradients of broadcast inputs are reduced by the engine (autograd.sum_to)."""

from __future__ import annotations

import math

from ..autograd.function import Function


class Add(Function):
    retain_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, g):  # d(a+b) = da + db
        return g, g


class Sub(Function):
    retain_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, g):  # d(a-b) = da - db
        return g, -g


def _each_for_the_other(a, b):
    """Keep a's value only when b's gradient needs it, and b's only for a's (as torch)."""
    return tuple(i for i, other in ((0, b), (1, a)) if other.requires_grad)


class Mul(Function):
    retain_inputs = staticmethod(_each_for_the_other)

    def forward(self, a, b):
        return a * b

    def backward(self, g):  # d(ab) = b da + a db
        a, b = self.parents
        return g * b if a.requires_grad else None, g * a if b.requires_grad else None


def _divisor_and_for_it(a, b):
    """b always (da/b); a only when b's gradient needs it (-a db / b^2)."""
    return (0, 1) if b.requires_grad else (1,)


class Div(Function):
    retain_inputs = staticmethod(_divisor_and_for_it)

    def forward(self, a, b):
        return a / b

    def backward(self, g):  # d(a/b) = da/b - a db/b^2
        a, b = self.parents
        ga = g / b if a.requires_grad else None
        gb = -g * a / (b * b) if b.requires_grad else None
        return ga, gb


class Neg(Function):
    retain_inputs = False

    def forward(self, x):
        return -x

    def backward(self, g):  # d(-x) = -dx
        return -g


class PowScalar(Function):
    def forward(self, x, exponent):
        self.exponent = exponent
        return x**exponent

    def backward(self, g):  # d(x^n) = n x^(n-1) dx, and 0 for n == 0 (as torch)
        (x,) = self.parents
        n = self.exponent
        if n == 0:
            return g * 0
        if n == 1:
            return g
        return g * n * x ** (n - 1)


class Pow(Function):
    def forward(self, a, b):
        return a**b

    def backward(self, g):
        # d(a^b) = b a^(b-1) da + a^b ln(a) db. As torch: the da-term is 0 where b == 0 (not
        # 0 * inf at a == 0) and the db-term is 0 where a == 0, b >= 0.
        a, b = self.parents
        ga = None
        if a.requires_grad:
            ga = (g * b * a ** (b - 1)).masked(b.data != 0)
        gb = None
        if b.requires_grad:
            zero_base = ((a == 0) & (b >= 0)).detach()
            gb = (g * a**b * a.log()).masked(~zero_base.data)
        return ga, gb


class Exp(Function):
    retain_inputs = False

    def forward(self, x):
        out = self.xp.exp(x)
        self.save_for_backward(output=out)
        return out

    def backward(self, g):  # d exp(x) = exp(x) dx
        return g * self.saved("output", lambda x: x.exp())


class Log(Function):
    def forward(self, x):
        return self.xp.log(x)

    def backward(self, g):  # d ln(x) = dx / x
        return g / self.parents[0]


class Sqrt(Function):
    retain_inputs = False

    def forward(self, x):
        out = self.xp.sqrt(x)
        self.save_for_backward(output=out)
        return out

    def backward(self, g):  # d sqrt(x) = dx / (2 sqrt(x))
        return g / (2 * self.saved("output", lambda x: x.sqrt()))


class Abs(Function):
    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, g):  # d|x| = sign(x) dx, with sign(0) = 0
        return g * self.const(self.xp.sign(self.parents[0].data))


class Tanh(Function):
    retain_inputs = False

    def forward(self, x):
        out = self.xp.tanh(x)
        self.save_for_backward(output=out)
        return out

    def backward(self, g):  # d tanh(x) = (1 - tanh(x)^2) dx
        t = self.saved("output", lambda x: x.tanh())
        return g * (1 - t * t)


class Sigmoid(Function):
    retain_inputs = False

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))  # never overflows, unlike exp(-x) for large negative x
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(output=out)
        return out

    def backward(self, g):  # d s(x) = s(x) (1 - s(x)) dx
        s = self.saved("output", lambda x: x.sigmoid())
        return g * s * (1 - s)


class Relu(Function):
    retain_inputs = False

    def forward(self, x):
        out = self.xp.maximum(x, 0.0)
        self.save_for_backward(output=out)  # [out > 0] is [x > 0]; the next layer keeps out
        return out

    def backward(self, g):  # d relu(x) = [x > 0] dx, with relu'(0) = 0; the mask is a constant
        out = self.saved_arrays["output"]
        return Mul.apply(g, self.const(self.device.as_mask(out > 0, out.dtype)))

    def backward_arrays(self, g):  # the same in one fused kernel
        device = self.device
        step = device.fuse(relu_backward_kernel, multiplies_bools=device.multiplies_bools)
        return step(g, self.saved_arrays["output"])


def relu_backward_kernel(xp, multiplies_bools):
    """g where relu's output is positive, else 0: g times the bool mask where the library
    allows it (`where` takes 3x as long on NumPy)."""
    if multiplies_bools:

        def relu_backward(g, out):
            return g * (out > 0)

    else:

        def relu_backward(g, out):
            return xp.where(out > 0, g, 0.0)

    return relu_backward


class LeakyRelu(Function):
    def forward(self, x, slope):
        self.slope = slope
        return self.xp.where(x > 0, x, x * slope)

    def backward(self, g):  # d = 1 for x > 0, slope otherwise
        x = self.parents[0].data
        xp = self.xp
        return g * self.const(xp.where(x > 0, xp.ones_like(x), xp.full_like(x, self.slope)))


class Erf(Function):
    def forward(self, x):
        return self.device.erf(x)

    def backward(self, g):  # d erf(x) = 2/sqrt(pi) exp(-x^2) dx
        x = self.parents[0]
        return g * (2 / math.sqrt(math.pi)) * (-(x * x)).exp()


class Maximum(Function):
    def forward(self, a, b):
        return self.xp.maximum(a, b)

    def backward(self, g):  # the larger input gets the gradient; ties split it evenly
        a, b = (p.data for p in self.parents)
        share = self.const(_tie_share(self.xp, a > b, a == b, a.dtype))
        return g * share, g * (1 - share)


class Minimum(Function):
    def forward(self, a, b):
        return self.xp.minimum(a, b)

    def backward(self, g):  # the smaller input gets the gradient; ties split it evenly
        a, b = (p.data for p in self.parents)
        share = self.const(_tie_share(self.xp, a < b, a == b, a.dtype))
        return g * share, g * (1 - share)


def _tie_share(xp, wins, ties, dtype):
    return xp.astype(wins, dtype) + xp.astype(ties, dtype) * 0.5


class Clamp(Function):
    retain_inputs = False

    def forward(self, x, low, high):
        xp = self.xp
        if self.device.numpy_dtype(x).kind == "f":  # strict refuses int bounds on floats
            low = None if low is None else float(low)
            high = None if high is None else float(high)
        self.low, self.high = low, high  # read by the ONNX exporter
        inside = xp.ones_like(x, dtype=xp.bool)
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        self.save_for_backward(inside=inside)
        return xp.clip(x, low, high)

    def backward(self, g):  # gradient passes where low <= x <= high (bounds included, as torch)
        return g.masked(self.saved_arrays["inside"])


class Where(Function):
    retain_inputs = (0,)  # the condition; a and b only route the gradient

    def forward(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def backward(self, g):  # each branch gets the gradient where it was chosen
        cond = self.parents[0].data
        return None, g.masked(cond), g.masked(~cond)


class Masked(Function):
    retain_inputs = False

    def forward(self, x, mask):
        self.save_for_backward(mask=mask)
        return self.xp.where(mask, x, 0.0)

    def backward(self, g):  # d(x * [mask]) = [mask] dx; the mask is a constant
        return g.masked(self.saved_arrays["mask"])


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, linear above beta x > threshold (as torch)."""

    def forward(self, x, beta, threshold):
        xp = self.xp
        self.beta, self.threshold = beta, threshold
        z = x * beta if beta != 1 else x
        soft = xp.log1p(xp.exp(-xp.abs(z))) + xp.clip(z, 0.0, None)
        if beta != 1:
            soft = soft / beta
        return xp.where(z > threshold, x, soft)

    def backward(self, g):  # d softplus = sigmoid(beta x), and 1 in the linear region
        (x,) = self.parents
        z = x * self.beta if self.beta != 1 else x
        linear = self.const(z.data > self.threshold)
        return g * z.sigmoid().masked_fill(linear, 1.0)


class Log1p(Function):
    def forward(self, x):
        return self.xp.log1p(x)

    def backward(self, g):  # d log(1 + x) = dx / (1 + x)
        return g / (1 + self.parents[0])


class Dropout(Function):
    """Inverted dropout: zero each element with probability p, scale survivors by 1/(1-p)."""

    retain_inputs = False

    def forward(self, x, p):
        dev = self.device
        u = dev.random("uniform", tuple(x.shape), dev.numpy_dtype(x), low=0.0, high=1.0)
        scale = self.xp.astype(u >= p, x.dtype) * (1.0 / (1.0 - p))
        self.save_for_backward(scale=scale)
        return x * scale

    def backward(self, g):  # d(x * mask / (1-p)) = mask / (1-p) dx ; the mask is a constant
        return g * self.saved("scale")


class Sin(Function):
    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, g):  # d sin(x) = cos(x) dx
        return g * self.parents[0].cos()


class Cos(Function):
    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, g):  # d cos(x) = -sin(x) dx
        return -g * self.parents[0].sin()


class Tan(Function):
    retain_inputs = False

    def forward(self, x):
        out = self.xp.tan(x)
        self.save_for_backward(output=out)
        return out

    def backward(self, g):  # d tan(x) = (1 + tan(x)^2) dx
        t = self.saved("output", lambda x: x.tan())
        return g * (1 + t * t)


class Stepwise(Function):
    """sign, round, floor, ceil, trunc: constant between jumps, so the gradient is 0 (as torch)
    and a loss that uses them stays connected to the graph instead of raising."""

    retain_inputs = False

    def forward(self, x, fn):
        self.fn = fn
        return getattr(self.xp, fn)(x)

    def backward(self, g):
        return self.const(self.xp.zeros_like(g.data))


class Silu(Function):
    """x * sigmoid(x) in one op (the most common activation in new models)."""

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))
        s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(sigmoid=s)
        return x * s

    def backward(self, g):  # d x s(x) = s (1 + x (1 - s)) dx
        (x,) = self.parents
        s = self.saved("sigmoid", lambda x: x.sigmoid())
        return g * s * (1 + x * (1 - s))


class Remainder(Function):
    """a - b * floor(a / b), the sign of b (Python's %, torch.remainder)."""

    def forward(self, a, b):
        return self.xp.remainder(a, b)

    def backward(self, g):  # d = da - floor(a / b) db
        a, b = self.parents
        return g, -g * (a / b).floor() if b.requires_grad else None
