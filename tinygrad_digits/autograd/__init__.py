"""The autograd core: Tensor, Function, the backward engine, grad mode, gradcheck, anomaly mode.

Everything else in the package is built on this folder; it imports only `backend/`, `ops/` (the
Functions Tensor methods apply), `dtypes` and `errors`. As in torch, ``tinygrad_digits.autograd``
also names the functional API: ``grad``, ``gradcheck``, ``gradgradcheck``, ``detect_anomaly``.
"""

from .anomaly import AnomalyError, detect_anomaly
from .function import Function
from .grad_api import grad
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck
from .tensor import Tensor

__all__ = [
    "AnomalyError",
    "Function",
    "Tensor",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
