"""Fused kernels (Device.fuse): on a GPU each is one cupy.fuse kernel, elsewhere the same Python
function runs op by op. Each kernel of the library stays inside what CuPy's fusion accepts (the
stand-in refuses the rest, as CuPy does), costs one launch, and gives the op-by-op numbers."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.ops.elementwise import relu_backward_kernel
from tinygrad_digits.ops.loss import (
    ce_backward_kernel,
    picked_neglogp_kernel,
    shifted_exp_kernel,
    smoothed_ce_backward_kernel,
)
from tinygrad_digits.optim.adam import adam_kernel
from tinygrad_digits.optim.rmsprop import rmsprop_kernel
from tinygrad_digits.optim.sgd import sgd_kernel

RNG = np.random.default_rng(0)
A, B, C = (RNG.standard_normal((4, 3)).astype(np.float32) for _ in range(3))
V = RNG.random((4, 3)).astype(np.float32)  # a second moment is never negative
TOP = A.max(axis=1, keepdims=True)
TOTAL = np.exp(A - TOP).sum(axis=1, keepdims=True)
HITS = np.eye(4, 3, dtype=bool)
ROWS = np.ones((4, 1), np.float32)
G = np.float32(0.5)

# (kernel, options, arguments: NumPy arrays or Python scalars; the arrays written in place are
# the kernel's outputs when it returns nothing)
CASES = {
    "adam": (adam_kernel, {"decoupled": False, "amsgrad": False}, (A, B, C, V, None, 1.0)),
    "adamw+amsgrad": (adam_kernel, {"decoupled": True, "amsgrad": True}, (A, B, C, V, V, 0.99)),
    "sgd": (sgd_kernel, {"momentum": False, "nesterov": False, "dampened": False}, (A, B, None)),
    "sgd+nesterov": (
        sgd_kernel,
        {"momentum": True, "nesterov": True, "dampened": False},
        (A, B, C),
    ),
    "sgd+dampening": (
        sgd_kernel,
        {"momentum": True, "nesterov": False, "dampened": True},
        (A, B, C),
    ),
    "rmsprop": (rmsprop_kernel, {"centered": False, "momentum": False}, (A, B, V, None, None)),
    "rmsprop+centered+momentum": (
        rmsprop_kernel,
        {"centered": True, "momentum": True},
        (A, B, V + 1, C * 0.1, C),
    ),
    "relu_backward": (relu_backward_kernel, {"multiplies_bools": True}, (A, B)),
    "relu_backward_where": (relu_backward_kernel, {"multiplies_bools": False}, (A, B)),
    "shifted_exp": (shifted_exp_kernel, {}, (A, TOP)),
    "picked_neglogp": (picked_neglogp_kernel, {}, (A, TOP, TOTAL, HITS)),
    "ce_backward": (ce_backward_kernel, {}, (np.exp(A - TOP), TOTAL, HITS, ROWS, G, 4.0)),
    "smoothed_ce_backward": (
        smoothed_ce_backward_kernel,
        {},
        (np.exp(A - TOP), TOTAL, V, ROWS, G, 1.0),
    ),
}
SCALARS = {  # the trailing hyperparameters of the optimizer kernels
    "adam": (0.9, 0.1, 0.999, 0.001, 0.01, 1e-8),
    "adamw+amsgrad": (0.9, 0.1, 0.999, 0.001, 0.01, 1e-8),
    "rmsprop": (0.01, 0.99, 0.01, 1e-8, 0.0),
    "rmsprop+centered+momentum": (0.01, 0.99, 0.01, 1e-8, 0.9),
    "sgd": (0.1, 0.0, 1.0),
    "sgd+nesterov": (0.1, 0.9, 1.0),
    "sgd+dampening": (0.1, 0.9, 0.5),
}


def _run(device: tg.Device, name: str) -> list[np.ndarray]:
    kernel, options, args = CASES[name]
    moved = [device.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a for a in args]
    with device.context:
        out = device.fuse(kernel, **options)(*moved, *SCALARS.get(name, ()))
    arrays = [m for a, m in zip(args, moved) if isinstance(a, np.ndarray)]
    return [device.to_numpy(r) for r in ([out] if out is not None else arrays)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_kernel_is_one_launch_with_the_op_by_op_numbers(name, cupy_module) -> None:
    if not getattr(cupy_module, "STANDIN", False):
        pytest.skip("launches are counted on the CuPy stand-in")
    cuda = tg.get_device("cuda")
    _run(cuda, name)  # first call builds the kernel
    before = cupy_module.standin.launches
    fused = _run(cuda, name)
    launches = cupy_module.standin.launches - before
    uploads = sum(isinstance(a, np.ndarray) for a in CASES[name][2])
    assert launches == uploads + 1  # the copies made on the device, then one kernel
    for a, b in zip(fused, _run(tg.get_device("cpu"), name)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_strict_runs_each_kernel_as_one_call_with_the_cpu_numbers(name, monkeypatch) -> None:
    """strict runs a kernel on its arrays' private memory, as a GPU kernel would: same numbers
    and dtypes, and nothing but the kernel's own result is made."""
    try:
        strict = tg.get_device("strict")
    except tg.DeviceUnavailableError as exc:
        pytest.skip(str(exc))
    from array_api_strict._array_object import Array

    new, made = Array.__dict__["_new"], []

    def counted_new(cls, x, *args, **kwargs):
        made.append(x)
        return new.__func__(cls, x, *args, **kwargs)

    kernel, options, args = CASES[name]
    moved = [strict.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a for a in args]
    step = strict.fuse(kernel, **options)
    monkeypatch.setattr(Array, "_new", classmethod(counted_new))
    out = step(*moved, *SCALARS.get(name, ()))
    monkeypatch.undo()
    assert len(made) == (name not in SCALARS)  # the optimizer kernels write in place
    assert out is None if name in SCALARS else made[0] is out._array
    fused = _run(strict, name)
    for a, b in zip(fused, _run(tg.get_device("cpu"), name)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_a_fused_kernel_on_strict_refuses_host_arrays() -> None:
    try:
        strict = tg.get_device("strict")
    except tg.DeviceUnavailableError as exc:
        pytest.skip(str(exc))
    kernel = strict.fuse(relu_backward_kernel, multiplies_bools=False)
    with pytest.raises(TypeError, match="not ndarray: move the value to the device"):
        kernel(strict.from_numpy(A), B)
    np.testing.assert_array_equal(
        strict.to_numpy(kernel(strict.from_numpy(A), strict.from_numpy(B))),
        np.where(B > 0, A, 0),
    )


def test_a_kernel_is_built_once_per_device_and_variant() -> None:
    cpu = tg.get_device("cpu")
    first = cpu.fuse(sgd_kernel, momentum=True, nesterov=False, dampened=False)
    assert cpu.fuse(sgd_kernel, momentum=True, nesterov=False, dampened=False) is first
    assert cpu.fuse(sgd_kernel, momentum=False, nesterov=False, dampened=False) is not first


def _standin_refuses(cupy_module, body, match: str) -> None:
    if not getattr(cupy_module, "STANDIN", False):
        pytest.skip("the stand-in's imitation of CuPy's fusion rules")
    x = cupy_module.asarray(np.ones((2, 3), np.float32))
    with pytest.raises((TypeError, ValueError, NotImplementedError, RuntimeError), match=match):
        cupy_module.fuse(body)(x)
    assert cupy_module.standin.fusing[0] == 0 and cupy_module.standin.allow_sync[0]


def test_the_standin_refuses_shapes_inside_a_fused_kernel(cupy_module) -> None:
    _standin_refuses(cupy_module, lambda x: x * x.shape[0], "shape")


def test_the_standin_refuses_indexing_inside_a_fused_kernel(cupy_module) -> None:
    _standin_refuses(cupy_module, lambda x: x[0] + 1, "indexing")


def test_the_standin_refuses_non_elementwise_functions_inside_a_fused_kernel(cupy_module) -> None:
    _standin_refuses(cupy_module, lambda x: cupy_module.reshape(x, (3, 2)), "reshape")


def test_the_standin_refuses_reads_to_the_host_inside_a_fused_kernel(cupy_module) -> None:
    _standin_refuses(cupy_module, lambda x: x * float(x.sum()), "synchronization")
