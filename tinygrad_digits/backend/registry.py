"""Devices by name, the default device, and one seed for all of them."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..dtypes import to_dtype
from ..errors import DeviceUnavailableError
from .device import Device
from .numpy_backend import CPUDevice

_devices: dict[str, Device] = {}
_seed: list[int | None] = [None]
_default: list[Device | None] = [None]

DeviceLike = Device | str | None

_NAME = re.compile(r"^(cpu|strict|cuda)(?::(\d+))?$")


def canonical_name(spec: str) -> str | None:
    """The one name of the device `spec` means ("cuda" and "cuda:0" are "cuda:0"; "cpu:0" is
    "cpu"), or None when it names no device. Creates nothing."""
    match = _NAME.match(spec.strip().lower())
    if match is None:
        return None
    kind = match.group(1)
    return f"cuda:{int(match.group(2) or 0)}" if kind == "cuda" else kind


def get_device(spec: DeviceLike = None) -> Device:
    """Turn "cpu", "cuda", "cuda:1", "strict", a Device or None (the default) into a Device.

    There is one Device object per physical device, whatever the spelling."""
    if spec is None:
        return default_device_obj()
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"device must be a string like 'cpu' or 'cuda', not {type(spec).__name__}")
    found = _devices.get(spec)
    if found is not None:
        return found
    name = canonical_name(spec)
    if name is None:
        raise DeviceUnavailableError(
            f"unknown device {spec!r}: use 'cpu', 'cuda', 'cuda:N' or 'strict'"
        )
    found = _devices.get(name)
    if found is not None:
        _devices[spec] = found
        return found
    kind, _, index = name.partition(":")
    if kind == "cpu":
        dev: Device = CPUDevice()
    elif kind == "strict":
        from .strict_backend import StrictDevice

        dev = StrictDevice()
    else:
        from .cupy_backend import CUDADevice

        dev = CUDADevice(int(index))
    if _seed[0] is not None:
        dev.seed(_seed[0])
    _devices[name] = _devices[spec] = dev
    return dev


def is_device_name(spec: Any) -> bool:
    """Whether `spec` names a device ("cpu", " CUDA:1 ", "strict"), as opposed to a dtype."""
    return isinstance(spec, str) and _NAME.match(spec.strip().lower()) is not None


def parse_to_args(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Device | None, np.dtype | None]:
    """The (device, dtype) asked of `Tensor.to` and `Module.to`, as in torch: to(device),
    to(dtype), to(device, dtype), to(other) (anything with a Device `.device` and a `.dtype`:
    take both), device= and dtype= keywords. None for what is to stay as it is."""
    device = kwargs.get("device")
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(getattr(a, "device", None), Device) and hasattr(a, "dtype"):
            device, dtype = a.device, a.dtype
        elif isinstance(a, Device) or is_device_name(a):
            device = a
        else:
            dtype = a
    return (get_device(device) if device is not None else None), to_dtype(dtype)


def default_device_obj() -> Device:
    dev = _default[0]
    if dev is None:
        dev = _default[0] = get_device(os.environ.get("TINYGRAD_DIGITS_DEVICE", "cpu"))
    return dev


def set_default_device(spec: DeviceLike) -> None:
    """Make `spec` the device new tensors are created on (like torch.set_default_device)."""
    _default[0] = get_device(spec) if spec is not None else None


def get_default_device() -> Device:
    return default_device_obj()


@contextlib.contextmanager
def default_device(spec: DeviceLike) -> Iterator[Device]:
    """`with default_device("cuda"):` creates new tensors there, then restores the old default."""
    old = _default[0]
    _default[0] = get_device(spec)
    try:
        yield _default[0]
    finally:
        _default[0] = old


def manual_seed(seed: int) -> None:
    """Seed every device's random generator, now and for devices created later."""
    _seed[0] = int(seed)
    for dev in set(_devices.values()):
        dev.seed(int(seed))


def next_seed() -> int | None:
    """The seed for a device first used now: the manual seed, or None for fresh entropy."""
    return _seed[0]


def device_of_array(array: Any) -> Device:
    """The device whose library made `array` (NumPy arrays are "cpu")."""
    import numpy as np

    if isinstance(array, np.ndarray | np.generic):
        return get_device("cpu")
    module = type(array).__module__
    if module.startswith("cupy"):
        return get_device(f"cuda:{array.device.id}")
    if module.startswith("array_api_strict"):
        return get_device("strict")
    raise TypeError(f"cannot make a Tensor from {type(array).__name__}")
