"""tinygrad_digits: a small, fast, gradient-checked reverse-mode autodiff framework.

NumPy on the CPU, CuPy on the GPU, array-api-strict for proving the GPU path; one flag
(`TINYGRAD_DIGITS_DEVICE`, `set_default_device`) switches between them.
"""

# ruff: noqa: E402  (the imports follow the command line's Ctrl-C hook, so that it covers them)
import os as _os
import sys as _sys


def _cli_is_starting() -> bool:
    """Whether this import starts the command line: `tinygrad-digits ...` (the console script
    imports the package) or `python -m tinygrad_digits[.cli] ...` (runpy imports it first)."""
    first = _sys.argv[0] if _sys.argv else ""
    if _os.path.basename(first).startswith("tinygrad-digits"):
        return True
    argv = getattr(_sys, "orig_argv", [])  # argv[0] is "-m" while runpy finds the module
    target = argv[argv.index("-m") + 1 :][:1] if first == "-m" and "-m" in argv else []
    return bool(target) and target[0].split(".")[0] == __name__


def _one_line_on_interrupt(previous):
    """An excepthook for the command line: Ctrl-C before cli.main can catch it (while Python
    imports the package and the CLI) is one line and exit 130, as it is later; any other
    error keeps the hook it had."""

    def hook(kind, value, traceback):
        if not issubclass(kind, KeyboardInterrupt):
            return previous(kind, value, traceback)
        print("tinygrad-digits: interrupted", file=_sys.stderr, flush=True)
        _os._exit(130)

    return hook


if _cli_is_starting():
    _sys.excepthook = _one_line_on_interrupt(_sys.excepthook)

from . import nn, optim
from .autograd import tensor_functions as _tensor_functions
from .autograd.anomaly import AnomalyError, detect_anomaly
from .autograd.factories import (
    arange,
    empty,
    empty_like,
    eye,
    from_dlpack,
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
from .autograd.function import Function
from .autograd.grad_api import grad
from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.gradcheck import GradcheckWarning, gradcheck, gradgradcheck
from .autograd.joining import cat, einsum, meshgrid, stack, where
from .autograd.tensor import Tensor
from .autograd.tensor_functions import *  # noqa: F403  (tg.exp(x), tg.matmul(a, b), ... as in torch)
from .backend import (
    Device,
    default_device,
    get_default_device,
    get_device,
    manual_seed,
    set_default_device,
)
from .dtypes import bool_, float16, float32, float64, int8, int16, int32, int64, uint8
from .errors import (
    DeviceMismatchError,
    DeviceUnavailableError,
    DtypeError,
    GradcheckError,
    GradientError,
    ShapeError,
)
from .serialization import ModelFileError, load, save

device = get_device
half, double, long = float16, float64, int64
float = float32  # noqa: A001  (torch.float)
int = int32  # noqa: A001  (torch.int)
bool = bool_  # noqa: A001  (torch.bool)

__version__ = "0.1.0"

__all__ = _tensor_functions.__all__ + [
    "AnomalyError",
    "Device",
    "DeviceMismatchError",
    "DeviceUnavailableError",
    "DtypeError",
    "Function",
    "GradcheckError",
    "GradcheckWarning",
    "GradientError",
    "ModelFileError",
    "ShapeError",
    "Tensor",
    "arange",
    "bool_",
    "cat",
    "default_device",
    "detect_anomaly",
    "device",
    "double",
    "empty",
    "empty_like",
    "enable_grad",
    "einsum",
    "eye",
    "float16",
    "float32",
    "float64",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "get_default_device",
    "get_device",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "half",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_grad_enabled",
    "is_tensor",
    "linspace",
    "load",
    "long",
    "manual_seed",
    "meshgrid",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "save",
    "set_default_device",
    "set_grad_enabled",
    "stack",
    "tensor",
    "uint8",
    "where",
    "zeros",
    "zeros_like",
]
