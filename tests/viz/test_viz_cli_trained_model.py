"""`tinygrad-digits graph` draws a model saved by `tinygrad-digits train`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")),
    )


def test_graph_of_a_trained_model_and_a_clear_error_for_a_bad_file(tmp_path: Path) -> None:
    trained = run(
        "train",
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--out",
        "run",
        "--no-plots",
        "--no-progress",
        "--no-doctor",
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    drawn = run("graph", "run", "-o", "g.dot", cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    dot = (tmp_path / "g.dot").read_text()
    assert "layers.0.weight" in dot and "(16, 64)" in dot
    (tmp_path / "bad.tgd").write_bytes(b"not a model")
    bad = run("graph", "bad.tgd", "-o", "x.svg", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "bad.tgd" in bad.stderr
