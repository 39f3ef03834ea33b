"""The nn examples run end to end (as CI runs them) and report success."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )


def test_logic_gates_learns_or_and_xor() -> None:
    done = run_example("logic_gates.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OR target" in done.stdout and "XOR target" in done.stdout
    assert "learned: every prediction is within 0.05" in done.stdout


def test_logic_gates_fails_loudly_when_not_learned() -> None:
    done = run_example("logic_gates.py", "--steps", "1")
    assert done.returncode == 1
    assert "NOT LEARNED" in done.stderr


def test_custom_model_checks_gradients_trains_and_reloads() -> None:
    pytest.importorskip("sklearn", reason="the example trains on the sklearn digits")
    done = run_example("custom_model.py", "--epochs", "8")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Swish: gradcheck and gradgradcheck passed" in done.stdout
    assert "gradcheck through all 7 parameters passed" in done.stdout
    assert "predictions match" in done.stdout


def test_tiny_transformer_learns_to_reverse_digits() -> None:
    done = run_example("tiny_transformer.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reverse of [3, 1, 4, 1, 5, 9] -> [9, 5, 1, 4, 1, 3]" in done.stdout
    assert "learned" in done.stdout


def test_tiny_transformer_trains_on_every_device(device: str) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from tiny_transformer import train
    finally:
        sys.path.remove(str(ROOT / "examples"))
    _, accuracy = train(device, steps=250)
    assert accuracy >= 0.99
