"""The layout of docs/design.md holds: each folder imports only from the layers below it, library
code never imports the CLI, and no two modules outside cli/ share a file name."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tinygrad_digits"

# Bottom-up, as in docs/design.md; names on one line are one layer and may import each other.
LAYERS = [
    {"errors", "dtypes", "progress"},
    {"backend"},
    {"ops", "autograd"},
    {"nn"},
    {"optim", "data"},
    {"serialization"},
    {"training"},
    {"diagnostics"},
    {"viz", "doctor", "onnx"},
    {"serve"},
    {"cli", "__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _imports(path: Path) -> set[str]:
    """The top-level parts of tinygrad_digits that one module imports."""
    parts = path.relative_to(PACKAGE).parts
    package = ["tinygrad_digits", *parts[:-1]]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            module = package[: len(package) - node.level + 1] + (node.module or "").split(".")
        elif (node.module or "").startswith("tinygrad_digits"):
            module = node.module.split(".")
        else:
            continue
        module = [m for m in module if m]
        found.update([a.name for a in node.names] if len(module) == 1 else [module[1]])
    return found


def _top(path: Path) -> str:
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def test_every_part_of_the_package_has_a_layer() -> None:
    tops = {_top(p) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert tops <= set(RANK), f"add {sorted(tops - set(RANK))} to LAYERS and docs/design.md"


def test_nothing_imports_a_layer_above_it() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        top = _top(path)
        if top == "__init__":
            continue
        for name in _imports(path) & set(RANK):
            if RANK[name] > RANK[top]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not wrong, wrong


def test_the_import_reader_finds_relative_and_absolute_imports() -> None:
    # nn/layers.py imports ..autograd (relative); the CLI's entry imports its own package
    assert "autograd" in _imports(PACKAGE / "nn" / "layers.py")
    assert {"training", "viz", "serve"} <= _imports(PACKAGE / "cli" / "parser.py") | set().union(
        *(_imports(p) for p in (PACKAGE / "cli").glob("*.py"))
    )


def test_no_two_modules_outside_cli_share_a_file_name() -> None:
    names = Counter(
        p.name
        for p in PACKAGE.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
        and "cli" not in p.relative_to(PACKAGE).parts
    )
    assert [n for n, k in names.items() if k > 1] == []


def test_few_loose_files_at_the_root() -> None:
    assert len([p for p in PACKAGE.glob("*.py")]) <= 10
