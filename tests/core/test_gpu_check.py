"""scripts/gpu_check.py runs end to end on the CuPy stand-in (its timings mean nothing there)
and exits non-zero when something is wrong."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tinygrad_digits.backend import registry

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.py"


@pytest.fixture
def gpu_check(cupy_module):
    if not getattr(cupy_module, "STANDIN", False):
        pytest.skip("on a GPU, run the script itself (make gpu-check)")
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    cupy_module.standin.reset()
    sys.path[:] = [p for p in sys.path if p != str(SCRIPT.parents[1])]


@pytest.mark.slow
def test_it_runs_end_to_end_and_finds_nothing_wrong(gpu_check, capsys) -> None:
    assert gpu_check.main(["--steps", "2", "--timed-steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "STAND-IN" in out and "namespace: cupy" in out and "cuda:0 = CuPy stand-in" in out
    assert out.count("host syncs in a training step: 0") == 2
    assert "mlp: ms per step" in out and "cnn, adam: largest |loss cpu - loss cuda:0|" in out
    assert "mlp, sgd+momentum: largest" in out
    assert out.rstrip().endswith("gpu check: all good")


def test_a_broken_install_makes_it_fail(gpu_check, cupy_module, monkeypatch, capsys) -> None:
    monkeypatch.setattr(registry, "_devices", {})
    cupy_module.standin.fail_kernel = cupy_module.cuda.compiler.CompileException(
        'cannot open source file "vector_types.h"'
    )
    assert gpu_check.main([]) == 1
    assert "FAIL: CuPy cannot compile GPU kernels" in capsys.readouterr().out


def test_a_host_sync_in_the_step_makes_it_fail(gpu_check, monkeypatch, capsys) -> None:
    from tinygrad_digits.nn import functional as F

    real = F.cross_entropy
    monkeypatch.setattr(F, "cross_entropy", lambda x, y: real(x, y) + 0 * float(x.sum()))
    monkeypatch.setattr(gpu_check, "MODELS", {"mlp": gpu_check.MODELS["mlp"]})
    assert gpu_check.main(["--steps", "2", "--timed-steps", "1"]) == 1
    assert "FAIL: mlp: a training step synchronizes with the host" in capsys.readouterr().out
