"""pyproject.toml's CuPy extras: one per CUDA major version (the driver decides which), `cuda`
the alias of the common one, each with array-api-compat (CuPy 13 lacks astype, concat, ...);
[test] installs no CuPy, so the suite runs cuda on the stand-in without a GPU."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
ROOT = Path(__file__).resolve().parents[2]
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _names(extra: str) -> set[str]:
    return {re.split(r"[<>=!\[ ;]", req, maxsplit=1)[0] for req in EXTRAS[extra]}


def test_one_cupy_extra_per_cuda_major_version() -> None:
    assert _names("cuda12") == {"cupy-cuda12x", "array-api-compat"}
    assert _names("cuda13") == {"cupy-cuda13x", "array-api-compat"}
    assert EXTRAS["cuda"] == ["tinygrad-digits[cuda12]"]


def test_cupy_13_and_14_are_both_allowed() -> None:
    for extra, wheel in (("cuda12", "cupy-cuda12x"), ("cuda13", "cupy-cuda13x")):
        (spec,) = [r for r in EXTRAS[extra] if r.startswith(wheel)]
        assert re.fullmatch(rf"{wheel}>=13(\.\d+)*", spec), spec  # no upper bound below 15


def test_no_other_extra_pulls_in_cupy() -> None:
    for extra, requirements in EXTRAS.items():
        if extra not in ("cuda12", "cuda13", "cuda"):
            assert not any("cupy" in r or "[cuda" in r for r in requirements), extra
