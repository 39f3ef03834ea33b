"""Installing and diagnosing CuPy: the namespace must have every function the package calls,
and a broken toolkit, cuBLAS or driver fails at first use with one message naming the fix.
Failures are injected into the CuPy stand-in."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import tinygrad_digits as tg
from tinygrad_digits.backend import cupy_backend, registry

PACKAGE = Path(tg.__file__).parent


@pytest.fixture
def standin(cupy_module):
    if not getattr(cupy_module, "STANDIN", False):
        pytest.skip("failures are injected into the CuPy stand-in")
    yield cupy_module.standin
    cupy_module.standin.reset()


@pytest.fixture
def fresh(monkeypatch, standin):
    """No device made yet, and no array-api-compat (the raw CuPy namespace is used)."""
    monkeypatch.setattr(registry, "_devices", {})
    monkeypatch.setitem(sys.modules, "array_api_compat", None)
    return standin


def test_the_list_of_needed_functions_is_complete() -> None:
    used = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name != "strict_backend.py":  # strict's own namespace, never CuPy's
            used |= set(re.findall(r"\bxp\.([a-z_]+)\b", path.read_text()))
    assert used <= set(cupy_backend.ARRAY_API_NAMES), used - set(cupy_backend.ARRAY_API_NAMES)


def test_a_cupy_without_array_api_functions_is_refused_with_the_fix(fresh) -> None:
    fresh.hidden.update({"astype", "permute_dims", "concat"})
    with pytest.raises(tg.DeviceUnavailableError) as info:
        tg.get_device("cuda")
    message = str(info.value)
    assert "astype, concat, permute_dims" in message and "array-api-compat" in message


def test_a_cupy_with_the_functions_needs_no_compat_layer(fresh) -> None:
    assert tg.get_device("cuda").xp._xp is sys.modules["cupy"]


@pytest.mark.parametrize(
    "where, make, fix",
    [
        (
            "fail_kernel",
            lambda cp: cp.cuda.compiler.CompileException(
                'catastrophic error: cannot open source file "vector_types.h"'
            ),
            r"CUDA headers are missing.*cupy-cuda12x\[ctk\]",
        ),
        (
            "fail_gemm",
            lambda cp: cp.cuda.cublas.CUBLASError("CUBLAS_STATUS_NOT_INITIALIZED"),
            r"cuBLAS failed .*\[ctk\]",
        ),
        (
            "fail_kernel",
            lambda cp: cp.cuda.runtime.CUDARuntimeError(
                "cudaErrorInsufficientDriver: CUDA driver version is insufficient"
            ),
            r"update the driver",
        ),
    ],
)
def test_first_use_turns_a_broken_install_into_one_message(fresh, where, make, fix) -> None:
    import cupy

    setattr(fresh, where, make(cupy))
    with pytest.raises(tg.DeviceUnavailableError, match=fix):
        tg.get_device("cuda:0")
    assert getattr(fresh, where) is None  # the check did run that kernel
    assert tg.get_device("cuda:0").type == "cuda"  # a working install passes the check
