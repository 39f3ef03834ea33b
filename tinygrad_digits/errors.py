"""Exceptions that name the problem and the fix."""


class DeviceMismatchError(RuntimeError):
    """Raised when one op receives tensors that live on different devices."""


class DeviceUnavailableError(RuntimeError):
    """Raised when a device is asked for that this machine cannot provide."""


class ShapeError(ValueError):
    """Raised when an op receives shapes it cannot combine."""


class GradientError(RuntimeError):
    """Raised when backward cannot run: freed graph, in-place change, nothing requires grad."""


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytic gradient disagrees with finite differences."""
