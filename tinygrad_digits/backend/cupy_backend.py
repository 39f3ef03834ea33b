"""The "cuda:N" devices: CuPy arrays on one GPU each, imported lazily and checked on first use."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DeviceUnavailableError
from .device import Device

# Every Array API function the package calls as `xp.NAME` or `getattr(xp, "NAME")`
# (tests/core/test_cuda_install.py keeps this list complete). A namespace lacking one is refused
# with one message instead of failing in the middle of a training run; each runs under its
# GPU's context (_OnDevice).
ARRAY_API_NAMES = [
    "abs",
    "all",
    "any",
    "arange",
    "argmax",
    "argmin",
    "argsort",
    "asarray",
    "astype",
    "bool",
    "broadcast_arrays",
    "broadcast_to",
    "ceil",
    "clip",
    "concat",
    "cos",
    "count_nonzero",
    "cumprod",
    "cumulative_sum",
    "empty",
    "exp",
    "eye",
    "flip",
    "float32",
    "floor",
    "floor_divide",
    "full",
    "full_like",
    "int64",
    "isfinite",
    "isinf",
    "isnan",
    "linspace",
    "log",
    "log1p",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "nonzero",
    "ones_like",
    "permute_dims",
    "prod",
    "remainder",
    "reshape",
    "roll",
    "round",
    "searchsorted",
    "sign",
    "sin",
    "sort",
    "sqrt",
    "stack",
    "std",
    "sum",
    "take",
    "take_along_axis",
    "tan",
    "tanh",
    "trunc",
    "where",
    "zeros",
    "zeros_like",
]

_INSTALL = 'pip install "tinygrad-digits[cuda12]" (CUDA 12 driver) or "[cuda13]" (CUDA 13)'


def _import_cupy() -> Any:
    try:
        import cupy
    except ImportError as exc:
        raise DeviceUnavailableError(
            f"device 'cuda' needs CuPy, which is not installed: {_INSTALL}, or use device='cpu'."
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise DeviceUnavailableError(
            f"CuPy is installed but no CUDA GPU is usable ({exc}). "
            "Check the NVIDIA driver with nvidia-smi, or use device='cpu'."
        ) from exc
    if count == 0:
        raise DeviceUnavailableError("CuPy is installed but this machine has no CUDA GPU.")
    return cupy


def array_api_namespace(cupy: Any) -> Any:
    """CuPy through array-api-compat when it is installed, else CuPy itself if it has every
    function the package needs (never a namespace that would fail later)."""
    try:
        from array_api_compat import cupy as compat
    except ImportError:
        compat = None
    namespace = compat if compat is not None else cupy
    missing = [name for name in ARRAY_API_NAMES if not hasattr(namespace, name)]
    if missing:
        raise DeviceUnavailableError(
            f"CuPy {getattr(cupy, '__version__', '?')} lacks the Array API functions "
            f"{', '.join(missing)} that tinygrad_digits uses: install array-api-compat "
            f"(pip install array-api-compat, or {_INSTALL})."
        )
    return namespace


class _OnDevice:
    """An Array API namespace whose functions run on one GPU: CuPy makes new arrays and runs
    kernels on the current GPU, so `dev.xp.zeros(...)` lands on `dev` from any code."""

    def __init__(self, xp: Any, cupy: Any, context: Any) -> None:
        self._xp = xp
        kernels = _one_kernel_each(cupy)
        for name in ARRAY_API_NAMES:
            found = kernels[name] if name in kernels else getattr(xp, name)
            wrap = callable(found) and not isinstance(found, type)  # dtypes stay themselves
            setattr(self, name, _under(context, found) if wrap else found)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._xp, name)


def _one_kernel_each(cupy: Any) -> dict[str, Any]:
    """clip and sign as CuPy's own kernels: array-api-compat writes them with boolean-mask
    assignments, and CuPy reads a mask's count to the host first (a sync at every clamp,
    softplus, BCE, L1 loss or gradient clipping). Both keep NumPy's answers: CuPy's clip
    promotes as np.clip does, and sign of NaN is NaN (CuPy's own gives 0)."""

    def sign(x: Any) -> Any:
        signs = cupy.sign(x)
        return cupy.where(cupy.isnan(x), x, signs) if x.dtype.kind == "f" else signs

    return {"clip": cupy.clip, "sign": sign}


def _under(context: Any, fn: Any) -> Any:
    def on_device(*args: Any, **kwargs: Any) -> Any:
        with context:
            return fn(*args, **kwargs)

    return on_device


def explain_failure(exc: BaseException, name: str) -> str:
    """One message saying what broke on a GPU's first kernels, and the fix."""
    kind, text = type(exc).__name__, str(exc)
    what = f"{kind}: {text}"
    if "Compile" in kind or "NVRTC" in text.upper() or ".h" in text:
        return (
            f"CuPy cannot compile GPU kernels on {name} ({what}). The CUDA headers are missing: "
            'install them with pip install "cupy-cuda12x[ctk]" (or cupy-cuda13x[ctk]), or '
            "install the CUDA Toolkit that matches your driver."
        )
    if "CUBLAS" in kind.upper() or "CUBLAS" in text.upper():
        return (
            f"cuBLAS failed on {name} ({what}): install the CUDA libraries with "
            'pip install "cupy-cuda12x[ctk]" (or cupy-cuda13x[ctk]), or the CUDA Toolkit.'
        )
    if "driver" in text.lower() or "CUDA_ERROR" in text or "cudaError" in text:
        return (
            f"The NVIDIA driver cannot run CuPy's kernels on {name} ({what}): update the "
            "driver (nvidia-smi shows the newest CUDA it supports) or install the CuPy wheel "
            "for that CUDA version (cupy-cuda12x or cupy-cuda13x)."
        )
    return f"CuPy failed its first kernels on {name} ({what})."


def _first_use_check(xp: Any, name: str) -> None:
    """Run one elementwise kernel (compiled by NVRTC) and one GEMM (cuBLAS), then read the
    result back, so a broken install fails here with its fix instead of inside a model."""
    try:
        a = xp.reshape(xp.arange(4, dtype=xp.float32), (2, 2))
        total = float(xp.sum(xp.matmul(a * 2.0 + 1.0, a)))
    except Exception as exc:
        raise DeviceUnavailableError(explain_failure(exc, name)) from exc
    if total != 56.0:
        raise DeviceUnavailableError(f"{name} computed a wrong result in its first-use check.")


class _CupyRandom:
    """cupy.random with the NumPy Generator's name for integers."""

    def __init__(self, random: Any) -> None:
        self.random = random.random
        self.standard_normal = random.standard_normal
        self.permutation = random.permutation
        self._randint = random.randint

    def integers(self, low: int, high: int, size: Any) -> Any:
        return self._randint(low, high, size=size)


def _out_of_bounds(device: Device, index: Any, axis: int, size: int) -> None:
    host = device.to_numpy(index).reshape(-1)
    bad = host[(host < -size) | (host >= size)]
    raise IndexError(f"index {int(bad[0])} is out of bounds for axis {axis} with size {size}")


class CUDADevice(Device):
    defers_checks = True
    launch_bound = True

    def __init__(self, index: int = 0) -> None:
        cupy = _import_cupy()
        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= index < count:
            raise DeviceUnavailableError(
                f"device 'cuda:{index}' does not exist: this machine has {count} GPU(s), "
                f"cuda:0 to cuda:{count - 1}."
            )
        self.native = cupy
        self.index = index
        self.name = f"cuda:{index}"
        self.context = cupy.cuda.Device(index)
        self.xp = _OnDevice(array_api_namespace(cupy), cupy, self.context)
        with self.context:
            _first_use_check(self.xp, self.name)

    def from_numpy(self, array: np.ndarray) -> Any:
        with self.context:
            return self.native.asarray(array)

    def to_numpy(self, array: Any) -> np.ndarray:
        self.raise_deferred()
        return self.native.asnumpy(array)

    def receive(self, array: Any, source: Device) -> Any:
        """From another GPU without the host: ndarray.copy() copies to the current device."""
        if isinstance(source, CUDADevice) and source is not self:
            with self.context:
                return array.copy()
        return super().receive(array, source)

    def seed(self, seed: int) -> None:
        with self.context:
            self.native.random.seed(seed)

    def random_source(self, dtype: np.dtype) -> tuple[Any, Any]:
        """This GPU's cupy.random stream (seeded by manual_seed), in float32 unless float64
        is asked for; from_numpy leaves the drawn CuPy array where it is."""
        wide = np.float64 if np.dtype(dtype) == np.float64 else np.float32
        return _CupyRandom(self.native.random), wide

    def _build_fused(self, kernel: Any, options: dict[str, Any]) -> Any:
        """cupy.fuse compiles the function into one kernel; inside it, the math is CuPy's own
        ufuncs (array-api-compat's wrappers ask for shapes, which fusion does not give)."""
        name = "_".join([kernel.__name__, *(f"{k}{int(v)}" for k, v in sorted(options.items()))])
        fused = self.native.fuse(kernel_name=name)(kernel(self.native, **options))
        return _under(self.context, fused)

    # CuPy wraps out-of-range integer array indices around where NumPy raises: each advanced
    # index is checked by a device-side flag, raised at the next read to the host.
    def getitem(self, array: Any, key: Any) -> Any:
        self._check_bounds(array.shape, key)
        return array[key]

    def setitem(self, array: Any, key: Any, value: Any) -> Any:
        self._check_bounds(array.shape, key)
        array[key] = value
        return array

    def _check_bounds(self, shape: tuple[int, ...], key: Any) -> None:
        for axis, part in enumerate(key if isinstance(key, tuple) else (key,)):
            if part is None or part is Ellipsis:
                return  # the axes after it are not counted from here
            dtype = getattr(part, "dtype", None)
            if dtype is None or dtype.kind not in "iu" or axis >= len(shape):
                continue
            size = shape[axis]
            self.defer_check(
                self.xp.any((part < -size) | (part >= size)),
                lambda part=part, axis=axis, size=size: _out_of_bounds(self, part, axis, size),
            )

    def copy(self, array: Any) -> Any:
        with self.context:
            return array.copy()  # cupy.asarray takes no copy= before CuPy 14

    def index_add(self, shape: tuple[int, ...], key: Any, values: Any) -> Any:
        import cupyx

        with self.context:
            self._check_bounds(shape, key)
            out = self.native.zeros(shape, dtype=values.dtype)
            cupyx.scatter_add(out, key, values)
            return out

    def erf(self, array: Any) -> Any:
        """cupyx's erf returns float32 for float16 input: cast back, as NumPy and torch do."""
        from cupyx.scipy.special import erf

        return erf(array).astype(array.dtype, copy=False)
