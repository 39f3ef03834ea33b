"""`tinygrad-digits doctor`: the subcommand's parser, report and exit status."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_digits.cli import doctor as cli_doctor


def test_default_configuration_is_healthy(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_doctor.main(["--steps", "10"]) == 0
    out = capsys.readouterr().out
    assert "64-128-64-10 MLP (relu), cross_entropy loss, Adam(lr=0.001), 10 steps of 64" in out
    assert "no problems found" in out


def test_the_textbook_failure_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split("--hidden 4,4 --activation sigmoid --loss mse --optimizer sgd --lr 2")
    assert cli_doctor.main(argv) == 1
    out = capsys.readouterr().out
    assert "64-4-4-10 MLP (sigmoid), mse loss, SGD(lr=2)" in out
    for code in ("bottleneck", "sigmoid_mse", "predictions_uniform"):
        assert f"[{code}]" in out
    assert "fix:" in out and "layers.0 4x64" in out


def test_unnormalised_upsampled_inputs_and_weight_decay(capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(
        "--hidden 5,5 --activation sigmoid --optimizer sgd --lr 2 --weight-decay 0.1 "
        "--upsample --unnormalised --json"
    )
    assert cli_doctor.main(argv) == 1
    data = json.loads(capsys.readouterr().out)
    found = {f["code"] for f in data["findings"]}
    assert {"inputs_not_normalised", "weights_shrinking", "bottleneck"} <= found
    assert data["layers"][0]["shape"] == [5, 784]


def test_mse_without_an_output_sigmoid(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_doctor.main(["--loss", "mse", "--output-activation", "none", "--steps", "5"]) == 0
    assert "[mse_classification]" in capsys.readouterr().out  # a note, not a warning


def test_strict_device(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("array_api_strict")
    assert cli_doctor.main(["--device", "strict", "--steps", "3", "--hidden", "4"]) == 1
    assert "[bottleneck]" in capsys.readouterr().out


def test_add_parser_registers_the_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="tinygrad-digits")
    sub = parser.add_subparsers(dest="command")
    cli_doctor.add_parser(sub)
    args = parser.parse_args(["doctor", "--hidden", "64,4,4", "--lr", "0.5", "--unnormalised"])
    assert args.command == "doctor" and args.hidden == [64, 4, 4]
    assert args.lr == 0.5 and args.unnormalised and args.steps is None  # the doctor: 20
    assert parser.parse_args(["doctor", "--hidden", ""]).hidden == []


@pytest.mark.parametrize(
    "argv", [["--hidden", "4,x"], ["--hidden", "0"], ["--lr", "-1"], ["--activation", "nope"]]
)
def test_bad_arguments_exit_with_status_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_doctor.main(argv)
    assert exc.value.code == 2
    assert "tinygrad-digits doctor" in capsys.readouterr().err


def test_python_dash_m_runs_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", "doctor", "--steps", "2", "--hidden", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 1 and "[bottleneck]" in done.stdout


def test_main_parser_seed_and_device_are_not_overwritten_by_the_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="tinygrad-digits")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    cli_doctor.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--device", "strict", "--seed", "3", "doctor"])
    assert args.device == "strict" and args.seed == 3
    args = parser.parse_args(["doctor", "--device", "strict"])
    assert args.device == "strict" and args.seed == 0
    bare = argparse.ArgumentParser()
    cli_doctor.add_arguments(bare)
    assert not hasattr(bare.parse_args([]), "device")  # run() then uses the default device


def _no_numbers(text: str) -> str:
    return re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?", "#", text)


@pytest.mark.parametrize(
    "argv",
    [
        "--hidden 4,4 --activation sigmoid --loss mse --optimizer sgd --lr 2",
        "--hidden 5,5 --activation sigmoid --optimizer sgd --lr 2 --weight-decay 0.1 --upsample",
    ],
)
def test_the_words_quoted_in_the_docs_are_the_doctors(argv: str, capsys) -> None:
    """docs/doesnt-learn.md quotes these runs; if a message changes, update the page."""
    cli_doctor.main(shlex.split(argv))
    out = capsys.readouterr().out
    page = (Path(__file__).resolve().parents[2] / "docs" / "doesnt-learn.md").read_text()
    # numbers may differ in the last digit on another BLAS; the words must not
    page_words = {_no_numbers(line.strip()) for line in page.splitlines()}
    quoted = [line.strip() for line in out.splitlines() if line.strip()]
    missing = [line for line in quoted if _no_numbers(line) not in page_words]
    assert not missing, "docs/doesnt-learn.md is out of date:\n" + "\n".join(missing)


def test_a_learners_or_gate_replays_from_the_command_line(capsys) -> None:
    argv = shlex.split(
        "--dataset or --hidden 6 --activation sigmoid --no-bias --init normal:0.01 --loss mse "
        "--optimizer sgd --lr 1e-6 --batch-size 4 --steps 50 --json"
    )
    assert cli_doctor.main(argv) == 1
    data = json.loads(capsys.readouterr().out)
    found = {f["code"]: f for f in data["findings"]}
    assert data["summary"].startswith("2-6-1 MLP (sigmoid), mse loss, SGD(lr=1e-06)")
    assert found["lr_too_low"]["value"] >= 0.1 and found["no_bias"]["severity"] == "info"
    assert data["first_fix"]["code"] == "lr_too_low"


def test_bce_with_an_l2_penalty_clears_lambda(capsys) -> None:
    argv = shlex.split(
        "--hidden 32 --activation sigmoid --loss bce --l2 1 --optimizer sgd --lr 0.5 --json"
    )
    assert cli_doctor.main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    (penalty,) = [f for f in data["findings"] if f["code"] == "weight_penalty"]
    assert penalty["severity"] == "info" and "plays no part" in penalty["message"]
    assert "bce loss" in data["summary"]


@pytest.mark.parametrize("spec", ["gauss:1", "normal:", "uniform:1,0", "normal:-1"])
def test_a_bad_init_is_a_usage_error(spec: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli_doctor.main(["--init", spec])
    assert exit_.value.code == 2 and "normal:STD" in capsys.readouterr().err


def test_a_saved_run_is_diagnosed_with_its_own_settings(tmp_path, capsys) -> None:
    from tinygrad_digits.cli.entry import main

    out = tmp_path / "run"
    argv = "train --hidden 32 --loss bce --init xavier --no-bias --optimizer sgd --lr 0.5"
    argv += " --momentum 0.5 --batch-size 64 --epochs 1 --no-plots --no-progress --no-doctor"
    assert main(shlex.split(f"{argv} --out {out}")) == 0
    capsys.readouterr()
    assert cli_doctor.main(["--run", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"] == (
        "64-32-10 MLP (relu), bce loss, SGD(lr=0.5, momentum=0.5), 20 steps of 64 samples "
        "(0.71 epochs of 1797)"
    )  # the run's optimizer, momentum, loss and batch size
    assert "no_bias" in {f["code"] for f in data["findings"]}
