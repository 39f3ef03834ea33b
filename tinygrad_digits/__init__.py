"""tinygrad_digits: a small, fast, gradient-checked reverse-mode autodiff framework.

NumPy on the CPU, CuPy on the GPU, array-api-strict for proving the GPU path; one flag
(`TINYGRAD_DIGITS_DEVICE`, `set_default_device`) switches between them.
"""

from . import nn, optim
from .anomaly import AnomalyError, detect_anomaly
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import (
    Device,
    default_device,
    get_default_device,
    get_device,
    manual_seed,
    set_default_device,
)
from .dtypes import (
    bool_,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from .errors import (
    DeviceMismatchError,
    DeviceUnavailableError,
    GradcheckError,
    GradientError,
    ShapeError,
)
from .factories import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .grad_api import grad
from .gradcheck import GradcheckWarning, gradcheck, gradgradcheck
from .joining import cat, stack, where
from .serialization import ModelFileError, load, save
from .tensor import Tensor
from .torch_style import FUNCTIONS as _FUNCTIONS

globals().update(_FUNCTIONS)  # tg.exp(x), tg.matmul(a, b), ... as in torch
device = get_device
half, double, long = float16, float64, int64
float = float32  # noqa: A001  (torch.float)
int = int32  # noqa: A001  (torch.int)
bool = bool_  # noqa: A001  (torch.bool)

__version__ = "0.1.0"

__all__ = [
    "ModelFileError",
    "load",
    "nn",
    "optim",
    "save",
    "AnomalyError",
    "detect_anomaly",
    "Device",
    "DeviceMismatchError",
    "DeviceUnavailableError",
    "Function",
    "GradcheckError",
    "GradcheckWarning",
    "GradientError",
    "ShapeError",
    "Tensor",
    "arange",
    "bool_",
    "cat",
    "default_device",
    "device",
    "double",
    "empty",
    "empty_like",
    "enable_grad",
    "eye",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_default_device",
    "get_device",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "half",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_grad_enabled",
    "is_tensor",
    "linspace",
    "long",
    "manual_seed",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "set_default_device",
    "set_grad_enabled",
    "stack",
    "tensor",
    "uint8",
    "where",
    "zeros",
    "zeros_like",
]
