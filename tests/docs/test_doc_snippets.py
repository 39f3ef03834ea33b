"""Run every ```python block of README.md and docs/*.md, so the documentation stays true.

Each file's blocks run in order in one namespace (later blocks use names from earlier ones), in a
temporary working directory, after ``tinygrad_digits.manual_seed(0)``. A block that cannot run by
design (it needs a GPU, the internet, a user's own photo, or it is a fragment of a signature) is
marked in the Markdown by an HTML comment on the line just before its fence::

    <!-- skip-snippet: needs a CUDA GPU -->
    ```python
    ...

The runner skips it and reports it as a skipped test of its own, with the reason. Tracebacks
point at the Markdown file's own line numbers. A file whose block needs an optional extra that is
not installed (scikit-learn, Graphviz's dot, ...) is skipped, as the other tests skip then.
"""

from __future__ import annotations

import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# Extras a block may need (see pyproject.toml); without them its file is skipped, not failed.
OPTIONAL_PACKAGES = {"sklearn", "PIL", "matplotlib", "graphviz", "tqdm", "scipy", "cupy", "onnx"}
OPTIONAL_PACKAGES |= {"onnxruntime", "torch"}  # torch: never a dependency; used where installed
SKIP = re.compile(r"^\s*<!--\s*skip-snippet:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced ```python block: where it is, its code, and why it is skipped (if it is)."""

    path: Path
    index: int  # 1-based among the file's python blocks
    line: int  # 1-based line of the first code line
    code: str
    skip: str | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()} block {self.index} (line {self.line})"


def extract_blocks(path: Path) -> list[Block]:
    """Every ```python block of a Markdown file, in order, with its skip-snippet marker if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        info = match["info"].strip().split()
        start = i + 1
        end = start
        while end < len(lines):
            close = FENCE.match(lines[end])
            if (
                close is not None
                and close["fence"][0] == fence[0]
                and len(close["fence"]) >= len(fence)
                and not close["info"].strip()
            ):
                break
            end += 1
        if info and info[0].lower() in ("python", "py"):
            body = [
                line[len(indent) :] if line.startswith(indent) else line
                for line in lines[start:end]
            ]
            skip = SKIP.match(lines[i - 1]) if i > 0 else None
            blocks.append(
                Block(
                    path=path,
                    index=len(blocks) + 1,
                    line=start + 1,
                    code="\n".join(body) + "\n",
                    skip=skip["reason"] if skip else None,
                )
            )
        i = end + 1
    return blocks


def stray_markers(path: Path) -> list[int]:
    """Lines of skip-snippet markers that are not directly followed by a ```python fence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    stray = []
    for number, line in enumerate(lines, start=1):
        if SKIP.match(line):
            following = FENCE.match(lines[number]) if number < len(lines) else None
            words = following["info"].strip().split() if following else []
            if not words or words[0].lower() not in ("python", "py"):
                stray.append(number)
    return stray


def _doc_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


WITH_BLOCKS = [path for path in DOC_FILES if extract_blocks(path)]
SKIPPED = [block for path in DOC_FILES for block in extract_blocks(path) if block.skip]


# docs/doesnt-learn.md demonstrates a log(0) caught by detect_anomaly(): NumPy warns about it.
@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
@pytest.mark.parametrize("path", WITH_BLOCKS, ids=_doc_id)
def test_doc_snippets(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the file's runnable blocks in order, in one namespace, in a fresh directory."""
    assert not stray_markers(path), (
        f"{_doc_id(path)}: skip-snippet markers not directly before a ```python fence, "
        f"lines {stray_markers(path)}"
    )
    blocks = [block for block in extract_blocks(path) if block.skip is None]
    if not blocks:
        pytest.skip(f"every python block of {_doc_id(path)} is marked skip-snippet")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # plots go to files, never to a window
    monkeypatch.setenv("TINYGRAD_DIGITS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYGRAD_DIGITS_DEVICE", raising=False)
    # A module of its own, so classes and dataclasses defined in a block have a home.
    module = types.ModuleType("doc_snippets_" + re.sub(r"\W", "_", _doc_id(path)))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    tg.manual_seed(0)
    np.random.seed(0)
    previous_device = tg.get_default_device()
    tg.set_default_device("cpu")  # the docs assume the CPU; a block may change it
    try:
        _run_blocks(blocks, module.__dict__)
    finally:
        tg.set_default_device(previous_device)


def _run_blocks(blocks: list[Block], namespace: dict) -> None:
    """exec each block; line numbers in tracebacks are the Markdown file's own."""
    for block in blocks:
        # Blank lines in front put each statement on its line of the .md file, and naming the
        # code after the file lets tracebacks (and anomaly messages) quote the doc itself.
        source = "\n" * (block.line - 1) + block.code
        failure = missing = None
        try:
            exec(compile(source, str(block.path), "exec"), namespace)
        except Exception as exc:
            missing = _missing_extra(exc)
            failure = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if missing is not None:
            pytest.skip(f"{block.name}: {missing}")
        if failure is not None:  # outside `except`, so pytest shows no chained exception
            pytest.fail(f"{block.name} failed:\n{failure}", pytrace=False)


def _missing_extra(exc: Exception) -> str | None:
    """Why a block could not run when an optional extra is missing (other tests skip then)."""
    if type(exc).__name__ == "GraphvizNotFoundError":  # tinygrad_digits.viz: no `dot` program
        return "Graphviz's dot program is not installed"
    if isinstance(exc, ImportError):
        name = (exc.name or "").split(".")[0]
        if name in OPTIONAL_PACKAGES:
            return f"the optional package {name!r} is not installed"
        if exc.name is None and "graphviz" in str(exc):  # viz.draw without the graphviz package
            return "the graphviz Python package is not installed"
    return None


@pytest.mark.parametrize(
    "block", SKIPPED or [None], ids=[b.name for b in SKIPPED] or ["none skipped"]
)
def test_skipped_snippets_are_reported(block: Block | None) -> None:
    """One skipped test per block marked `<!-- skip-snippet: reason -->`, showing the reason."""
    if block is None:
        return
    assert block.skip, f"{block.name}: a skip-snippet marker needs a reason"
    pytest.skip(f"{block.name}: {block.skip}")
