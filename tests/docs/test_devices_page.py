"""docs/devices.md lists the code only the cuda device runs; the list stays true both ways:
every module that names CuPy or the cuda device in its code is on it, every module on it
still does, and every function it names in backend/cupy_backend.py exists there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tinygrad_digits as tg
from tinygrad_digits.backend import cupy_backend

PACKAGE = Path(tg.__file__).parent
PAGE = PACKAGE.parent / "docs" / "devices.md"
BACKEND = "backend/cupy_backend.py"


def _section() -> str:
    text = PAGE.read_text()
    start = text.index("### Code only the cuda device runs")
    return text[start : text.index("\n## ", start)]


def names_cuda(path: Path) -> bool:
    """Whether the module's code (not its docstrings) imports CuPy, uses it, or names the
    cuda device ("cuda", "cuda:N", a module name starting with "cupy")."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(m.split(".")[0] in ("cupy", "cupyx") for m in modules):
                return True
        elif isinstance(node, ast.Name) and node.id in ("cupy", "cupyx"):
            return True
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            value = node.value
            if isinstance(value, str) and (value == "cuda" or value.startswith(("cuda:", "cupy"))):
                return True
    return False


def test_every_module_with_cuda_only_code_is_listed() -> None:
    found = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if not path.relative_to(PACKAGE).as_posix().startswith("cli/") and names_cuda(path)
    }
    listed = set(re.findall(r"`([a-z_]+/[a-z_]+\.py)`", _section()))
    assert BACKEND in found and "autograd/factories.py" in found  # the scan sees both kinds
    assert found == listed, f"unlisted: {found - listed}, no longer cuda-only: {listed - found}"


def test_every_function_it_names_in_the_cuda_backend_exists() -> None:
    """`CUDADevice.X`, the names after it (`/`Y`, `and `Y``) and the other bare names are
    defined in backend/cupy_backend.py (or are the Array API functions it lists)."""
    text = _section()
    remaining = text[text.index(f"What remains in `{BACKEND}`") :]
    methods = re.findall(r"`(?:CUDADevice\.)?([A-Za-z_]+)`", remaining)
    assert {"random_source", "seed", "_one_kernel_each", "explain_failure"} <= set(methods)
    source = (PACKAGE / BACKEND).read_text()
    defined = set(re.findall(r"^\s*(?:def|class) ([A-Za-z_]+)", source, re.M))
    defined |= set(cupy_backend.ARRAY_API_NAMES)
    assert set(methods) <= defined, set(methods) - defined
