"""Array backends: NumPy ("cpu"), CuPy ("cuda[:N]") and array-api-strict ("strict")."""

from .device import Device
from .registry import (
    default_device,
    device_of_array,
    get_default_device,
    get_device,
    manual_seed,
    set_default_device,
)

__all__ = [
    "Device",
    "default_device",
    "device_of_array",
    "get_default_device",
    "get_device",
    "manual_seed",
    "set_default_device",
]
