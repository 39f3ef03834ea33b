"""cupy.cuda in the stand-in: devices, the runtime, and the exceptions CuPy raises."""

from __future__ import annotations

from typing import Any

from . import standin


class runtime:  # noqa: N801
    class CUDARuntimeError(RuntimeError):
        pass

    @staticmethod
    def getDeviceCount() -> int:  # noqa: N802
        return standin.device_count

    @staticmethod
    def getDevice() -> int:  # noqa: N802
        return standin.current[0]

    @staticmethod
    def getDeviceProperties(index: int) -> dict[str, Any]:  # noqa: N802
        return {"name": b"CuPy stand-in (NumPy, not a GPU)", "totalGlobalMem": 0}

    @staticmethod
    def runtimeGetVersion() -> int:  # noqa: N802
        return 12080

    @staticmethod
    def driverGetVersion() -> int:  # noqa: N802
        return 12080


class compiler:  # noqa: N801
    class CompileException(Exception):
        pass


class cublas:  # noqa: N801
    class CUBLASError(RuntimeError):
        pass


class Device:
    """`with cupy.cuda.Device(n):` makes GPU n current; re-entrant like CuPy's."""

    def __init__(self, device: int | None = None) -> None:
        index = standin.current[0] if device is None else int(device)
        if not 0 <= index < standin.device_count:
            raise runtime.CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        self.id = index
        self._stack: list[int] = []

    def __enter__(self) -> Device:
        self._stack.append(standin.current[0])
        standin.current[0] = self.id
        return self

    def __exit__(self, *exc: object) -> None:
        standin.current[0] = self._stack.pop()

    def use(self) -> None:
        standin.current[0] = self.id

    def synchronize(self) -> None:
        pass

    @property
    def compute_capability(self) -> str:
        return "00"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


def get_device_id() -> int:
    return standin.current[0]
