"""Conv2d, Conv1d, ConvTranspose2d, MaxPool2d, AvgPool2d, BatchNorm1d and BatchNorm2d: torch.nn's
layers, same semantics.

Thin Modules over the functional forms in `nn.functional_conv`; they hold the parameters (with
torch's default initialisation) and, for batch norm, the running statistics as buffers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..autograd.joining import pad as _pad
from ..autograd.tensor import Tensor
from ..backend.registry import DeviceLike, get_device
from ..errors import ShapeError
from . import functional_conv as C
from .init import kaiming_uniform_, ones_, uniform_, zeros_
from .module import Module
from .parameter import Parameter


def _zeros(shape: tuple[int, ...], device: DeviceLike, dtype: Any) -> Tensor:
    dev = get_device(device)
    dt = dtypes.to_dtype(dtype) or dtypes.DEFAULT_FLOAT
    return Tensor._make(dev.xp.zeros(shape, dtype=dev.dtype(dt), **dev.creation_kw), dev, False)


def _pair(value: Any) -> Any:
    return (value, value) if isinstance(value, int) else tuple(value)


def _check_groups(layer: str, in_channels: int, out_channels: int, groups: int) -> None:
    """Each group convolves its own slice of the channels, so both counts must split evenly."""
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{layer}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
            f"be divisible by groups ({groups})"
        )


def _name(module: Module) -> str:
    return f"{type(module).__name__}({module.extra_repr()})"


class _FunctionalLayer(Module):
    """A layer that is its functional form called with its own settings: `_form` is the
    function, `_settings` the attributes passed after the input, in the form's order, and
    `_shown` those extra_repr lists as name=value."""

    _form: Callable[..., Any]
    _settings: tuple[str, ...] = ()
    _shown: tuple[str, ...] = ()

    def forward(self, x: Tensor) -> Any:
        return self._form(x, *[getattr(self, name) for name in self._settings])

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)}" for name in self._shown)


class _ConvNd(Module):
    """What the convolutions share: torch's default init (kaiming_uniform_(a=sqrt(5)) for the
    weight, U(+-1/sqrt(fan_in)) for the bias, fan_in from the weight's dim 1 and kernel, as
    torch computes it for all of them) and the head of torch's repr."""

    def _parameters_of(
        self, shape: tuple[int, ...], bias_size: int, bias: bool, device: DeviceLike, dtype: Any
    ) -> None:
        self.weight = Parameter(_zeros(shape, device, dtype))
        if bias:
            self.bias = Parameter(_zeros((bias_size,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(math.prod(self.weight.shape[1:]))
            uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        def as_tuple(value: Any) -> tuple[int, ...]:
            return value if isinstance(value, tuple) else (value,)

        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={as_tuple(self.kernel_size)}, "
            f"stride={as_tuple(self.stride)}"
        )


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) (or unbatched (C_in, H, W)) -> (N, C_out, OH, OW).

    weight: (C_out, C_in / groups, kh, kw), bias: (C_out,). Default init as torch:
    kaiming_uniform_(a=sqrt(5)) for the weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias,
    with fan_in = C_in / groups * kh * kw.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1 or groups < 1:
            raise ValueError(
                f"Conv2d: in_channels, out_channels and groups must be positive, got "
                f"{in_channels}, {out_channels}, {groups}"
            )
        _check_groups("Conv2d", in_channels, out_channels, groups)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                f"Conv2d: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                f"not {padding_mode!r}"
            )
        if padding_mode != "zeros" and isinstance(padding, str):
            raise ValueError(f"Conv2d: padding={padding!r} needs padding_mode='zeros'")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self._parameters_of(shape, out_channels, bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.ndim in (3, 4):
            channels = x.shape[-3]
            if channels != self.in_channels:
                raise ShapeError(
                    f"{_name(self)}: input of shape {x.shape} has {channels} channels, but the "
                    f"layer expects in_channels={self.in_channels} (input (N, "
                    f"{self.in_channels}, H, W))"
                )
        elif isinstance(x, Tensor):
            raise ShapeError(
                f"{_name(self)}: expected a 4-D input (N, {self.in_channels}, H, W) or a 3-D "
                f"one ({self.in_channels}, H, W), got shape {x.shape}"
                + (
                    "; flattened images must be reshaped back, e.g. "
                    f"x.reshape(-1, {self.in_channels}, H, W)"
                    if x.ndim == 2
                    else ""
                )
            )
        padding = self.padding
        if self.padding_mode != "zeros":  # pad first with the mode, then convolve unpadded
            ph, pw = padding
            x, padding = _pad(x, (pw, pw, ph, ph), mode=self.padding_mode), 0
        try:
            return C.conv2d(
                x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups
            )
        except ShapeError as exc:
            raise ShapeError(f"{_name(self)}: {exc}") from None

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd, _FunctionalLayer):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in/groups, k)."""

    _form = staticmethod(C.conv1d)
    _settings = ("weight", "bias", "stride", "padding", "dilation", "groups")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | str = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_groups("Conv1d", in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups = dilation, groups
        shape = (out_channels, in_channels // groups, kernel_size)
        self._parameters_of(shape, out_channels, bias, device, dtype)


class ConvTranspose2d(_ConvNd, _FunctionalLayer):
    """Transposed 2-D convolution (N, C_in, H, W) -> (N, C_out, H_out, W_out), the usual
    learned upsampling; weight (C_in, C_out/groups, kh, kw), as torch."""

    _form = staticmethod(C.conv_transpose2d)
    _settings = ("weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_groups("ConvTranspose2d", in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.output_padding = _pair(padding), _pair(output_padding)
        self.groups, self.dilation = groups, _pair(dilation)
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self._parameters_of(shape, out_channels, bias, device, dtype)


class MaxPool2d(_FunctionalLayer):
    """The largest value of each window; stride defaults to kernel_size, padding is -inf.

    Each window's gradient goes to one maximal element (the first in row-major window order
    when several tie); overlapping windows accumulate.
    """

    _form = staticmethod(C.max_pool2d)
    _settings = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    _shown = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices


class AvgPool2d(_FunctionalLayer):
    """The mean of each window; zero padding counts in the divisor (count_include_pad=True)."""

    _form = staticmethod(C.avg_pool2d)
    _settings = (
        "kernel_size",
        "stride",
        "padding",
        "ceil_mode",
        "count_include_pad",
        "divisor_override",
    )
    _shown = ("kernel_size", "stride", "padding")

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override


class AdaptiveAvgPool2d(_FunctionalLayer):
    """Average pooling to a fixed output size (None keeps that dim), e.g. 1 before a
    classifier head, whatever the image size."""

    _form = staticmethod(C.adaptive_avg_pool2d)
    _settings = _shown = ("output_size",)

    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        self.output_size = output_size


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: affine weight (ones) and bias (zeros); running statistics
    (running_mean zeros, running_var ones, num_batches_tracked 0) as buffers."""

    _dims: tuple[int, ...] = ()
    _shape_text = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: DeviceLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(
                f"{type(self).__name__}: num_features must be >= 1, got {num_features}"
            )
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_zeros((num_features,), device, dtype))
            self.bias = Parameter(_zeros((num_features,), device, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _zeros((num_features,), device, dtype))
            self.register_buffer("running_var", _zeros((num_features,), device, dtype))
            self.register_buffer("num_batches_tracked", _zeros((), device, dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            ones_(self.weight)
            zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim not in self._dims:
            got = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ShapeError(
                f"{_name(self)}: expected input of shape {self._shape_text}, got {got}"
            )
        if x.shape[1] != self.num_features:
            raise ShapeError(
                f"{_name(self)}: input of shape {x.shape} has {x.shape[1]} channels in dim 1, "
                f"but the layer expects num_features={self.num_features}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return C.batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) over the batch (and length) per channel."""

    _dims = (2, 3)
    _shape_text = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) over batch and pixels, per channel."""

    _dims = (4,)
    _shape_text = "(N, C, H, W)"
