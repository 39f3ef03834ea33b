"""The notebooks of docs/notebooks run top to bottom without an error, on a kernel of the Python
running the tests (so they use this checkout's tinygrad_digits), and are what
scripts/make_notebooks.py makes from its cells (so the readable source and the stored notebook
cannot drift apart). Their execution also gives each displayed object's representation: the graphs
must come out as pictures and the plots as images, not as object addresses."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
KERNEL = "tinygrad-digits-tests"


def _make_notebooks():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", ROOT / "scripts/make_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory, monkeypatch_module):
    """A kernelspec that starts this very Python, found first through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    monkeypatch_module.setenv("JUPYTER_PATH", str(root))
    monkeypatch_module.setenv("PYTHONPATH", str(ROOT), prepend=os.pathsep)
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_notebooks_are_made_from_the_script():
    make = _make_notebooks()
    assert sorted(make.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        stored = make.cell_sources(nbformat.read(path, as_version=4))
        assert stored == make.NOTEBOOKS[path.name], (
            f"{path.name} differs from scripts/make_notebooks.py: run it"
        )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, kernel_path, tmp_path):
    if "viz.draw" in path.read_text():
        from tinygrad_digits import viz

        if not viz.dot_available():
            pytest.skip("Graphviz's dot is not installed (make graphviz)")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name=KERNEL, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if list(data) == ["text/plain"]:  # no richer form: it must read well as text
                assert " at 0x" not in data["text/plain"], data["text/plain"]
    # the stored copy (what the docs site shows) has the outputs a fresh run gives
    assert _output_kinds(nb) == _output_kinds(nbformat.read(path, as_version=4))


def _output_kinds(nb) -> list[list[str]]:
    """Each displayed output's MIME types, in order (printed text, which may come in one piece
    or several, is left out)."""
    return [
        sorted(output["data"])
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "data" in output
    ]
