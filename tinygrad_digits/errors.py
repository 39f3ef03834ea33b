"""Exceptions that name the problem and the fix.

Shape, dtype and device errors are RuntimeErrors, as in PyTorch, so ported code written as
`except RuntimeError` catches them; shape and dtype errors stay ValueError and TypeError too.
"""


class DeviceMismatchError(RuntimeError):
    """Raised when one op receives tensors that live on different devices."""


class DeviceUnavailableError(RuntimeError):
    """Raised when a device is asked for that this machine cannot provide."""


class ShapeError(ValueError, RuntimeError):
    """Raised when an op receives shapes it cannot combine."""


class DtypeError(TypeError, RuntimeError):
    """Raised when an op receives a dtype it cannot work with (or two it cannot mix)."""


class GradientError(RuntimeError):
    """Raised when backward cannot run: freed graph, in-place change, nothing requires grad."""


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytic gradient disagrees with finite differences."""
