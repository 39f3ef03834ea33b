"""Installing and diagnosing CuPy: the namespace must have every function the package calls,
and a broken toolkit, cuBLAS or driver fails at first use with one message naming the fix.
Failures are injected into the CuPy stand-in."""

from __future__ import annotations

import re
import sys
import types
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


# xp.NAME, getattr(xp, "NAME") and the names Tensor methods hand to getattr(xp, ...)
USES = (
    r"\bxp\.([a-z_][a-z_0-9]*)\b",
    r"getattr\((?:self\.)?xp, \"([a-z_0-9]+)\"",
    r"\._(?:stepwise|arg)\(\"([a-z_0-9]+)\"",
)


def test_the_list_of_needed_functions_is_complete() -> None:
    used = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name != "strict_backend.py":  # strict's own namespace, never CuPy's
            text = path.read_text()
            used |= {name for pattern in USES for name in re.findall(pattern, text)}
    used -= {"cumsum", "cumprod", "cumulative_prod"}  # fallbacks behind cumulative_sum/cumprod
    assert {"log1p", "argmin", "floor", "round"} <= used  # each pattern finds its names
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


@pytest.fixture
def compat(monkeypatch, standin):
    """An array-api-compat in front of a CuPy 13 that lacks the Array API names: its clip and
    sign written as array-api-compat (1.9 to 1.16) writes them, with boolean-mask assignments,
    which CuPy (and the stand-in) read to the host."""
    import cupy

    def clip(x, min=None, max=None):  # noqa: A002 (the Array API's names)
        out = cupy.empty(x.shape, dtype=x.dtype)
        out[...] = x
        for bound, outside in ((min, lambda a, b: a < b), (max, lambda a, b: a > b)):
            if bound is not None:
                b = cupy.broadcast_to(cupy.asarray(bound, dtype=x.dtype), x.shape)
                mask = outside(out, b) | cupy.isnan(b)
                out[mask] = b[mask]
        return out

    def sign(x):
        out = cupy.sign(x)
        out[cupy.isnan(x)] = cupy.nan
        return out

    namespace = types.ModuleType("array_api_compat.cupy")
    namespace.__getattr__ = lambda name: getattr(cupy, name)
    namespace.astype = lambda x, dtype, copy=True: x.astype(dtype, copy=copy)
    namespace.permute_dims = lambda x, axes: cupy.transpose(x, axes)
    namespace.concat = lambda arrays, axis=0: cupy.concatenate(arrays, axis=axis)
    namespace.clip, namespace.sign = clip, sign
    package = types.ModuleType("array_api_compat")
    package.cupy = namespace
    monkeypatch.setattr(registry, "_devices", {})
    monkeypatch.setitem(sys.modules, "array_api_compat", package)
    standin.hidden.update({"astype", "permute_dims", "concat"})
    return namespace


def test_cupy_13_with_array_api_compat_trains_through_it(compat) -> None:
    from tinygrad_digits import nn, optim
    from tinygrad_digits.nn import functional as F

    assert tg.get_device("cuda").xp._xp is compat
    model = nn.MLP(4, [8], 3).to("cuda")
    opt = optim.Adam(model.parameters(), lr=0.1)
    x, y = tg.randn(16, 4, device="cuda"), tg.randint(0, 3, (16,), device="cuda")
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x.permute(1, 0).permute(1, 0)), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_clip_and_sign_make_no_host_sync_through_array_api_compat(compat, host_syncs) -> None:
    from tinygrad_digits import nn
    from tinygrad_digits.nn import functional as F

    x = tg.randn(8, 3, device="cuda", requires_grad=True)
    target = tg.rand(8, 3, device="cuda")
    layer = nn.Linear(3, 3).to("cuda")
    before = host_syncs()
    loss = (
        x.clamp(-0.5, 0.5).sum()
        + F.softplus(x).sum()
        + F.binary_cross_entropy(x.sigmoid(), target)
        + F.binary_cross_entropy_with_logits(x, target)
        + F.l1_loss(layer(x), target)
        + x.abs().sum()
    )
    loss.backward()
    nn.utils.clip_grad_norm_(layer.parameters(), 0.1)
    nn.utils.clip_grad_value_(layer.parameters(), 0.01)
    assert host_syncs() == before
    assert float(layer.weight.grad.abs().max().item()) <= 0.01
