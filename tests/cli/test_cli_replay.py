"""`train` and `doctor` replay a learner's post (issue 18): one definition of the data, loss
and optimizer options serves both, with the logic gates, --l2 and every optimizer."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import pytest

from tinygrad_digits.cli import doctor as cli_doctor
from tinygrad_digits.cli.entry import main

OR_GATE = (
    "--dataset or --hidden 6 --activation sigmoid --no-bias --init normal:0.01 --loss mse "
    "--optimizer sgd --momentum 0 --batch-size 4"
)


def train(argv: str, out: Path) -> int:
    return main(shlex.split(f"train {argv} --no-plots --no-progress --out {out}"))


def test_train_replays_the_or_gate_and_doctor_diagnoses_the_run(tmp_path, capsys) -> None:
    """Case 4's 2-6-1 network: at the learner's lr 1e-6 it fits nothing; the doctor, run on
    that run, measures a rate that fits all four rows."""
    assert train(f"{OR_GATE} --lr 5 --epochs 150", tmp_path / "fits") == 0
    out = capsys.readouterr().out
    assert "or: 4 training, 0 validation, 4 test images; mlp 2 -> 6 -> 1 (sigmoid" in out
    assert "test accuracy: 100.00% (4/4)" in out
    config = json.loads((tmp_path / "fits" / "config.json").read_text())
    assert (config["in_features"], config["num_classes"], config["side"]) == (2, 1, None)
    assert "labels_out_of_range" not in out  # one output with 0/1 labels: a two-class logit
    assert cli_doctor.main(["--run", str(tmp_path / "fits")]) == 0  # a net that fits: quiet
    assert main(["evaluate", str(tmp_path / "fits")]) == 0
    assert "test accuracy 100.00%" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "fits"), "digit.png"]) == 2
    assert "a logic gate's rows, not on pictures" in capsys.readouterr().err

    assert train(f"{OR_GATE} --lr 1e-6 --epochs 20", tmp_path / "stuck") == 0
    assert "(4/4)" not in capsys.readouterr().out
    assert cli_doctor.main(["--run", str(tmp_path / "stuck"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["summary"].startswith("2-6-1 MLP (sigmoid), mse loss, SGD(lr=1e-06)")
    found = {f["code"]: f for f in data["findings"]}
    assert found["lr_too_low"]["value"] >= 0.1


def test_train_l2_writes_the_penalty_into_the_loss(tmp_path, capsys) -> None:
    """--l2 LAMBDA adds λ/(2m)·ΣW² (m the training rows); the run keeps it, so doctor --run
    weighs the same loss."""
    argv = "--hidden 16 --l2 5 --optimizer sgd --lr 0.1 --epochs 1 --no-doctor"
    assert train(argv, tmp_path / "run") == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["training"]["l2"] == 5.0
    capsys.readouterr()
    cli_doctor.main(["--run", str(tmp_path / "run"), "--json"])
    codes = {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "weight_penalty" in codes


def test_a_gate_trains_with_bce_unless_cross_entropy_is_asked(tmp_path, capsys) -> None:
    assert train("--dataset and --epochs 1", tmp_path / "run") == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["training"]["loss"] == "bce"
    capsys.readouterr()
    assert train("--dataset and --loss cross_entropy --epochs 1", tmp_path / "ce") == 2
    assert "--loss cross_entropy needs 2 or more outputs" in capsys.readouterr().err
    assert train("--dataset xor --loss bce --model cnn", tmp_path / "cnn") == 2
    assert "a logic gate's rows are no pictures" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "shown"),
    [("adamw", "AdamW(lr=0.001, weight_decay=0.01)"), ("rmsprop", "RMSprop(lr=0.001)")],
)
def test_doctor_run_keeps_the_runs_optimizer(name: str, shown: str, tmp_path, capsys) -> None:
    assert train(f"--hidden 16 --optimizer {name} --epochs 1 --no-doctor", tmp_path / "r") == 0
    capsys.readouterr()
    cli_doctor.main(["--run", str(tmp_path / "r"), "--json"])
    assert shown in json.loads(capsys.readouterr().out)["summary"]


def test_the_data_options_are_one_definition_with_each_commands_share() -> None:
    from tinygrad_digits.cli import parser

    p = parser.build_parser()
    doctor = p.parse_args(["doctor", "--dataset", "Fashion_MNIST", "--download"])
    assert (doctor.dataset, doctor.download) == ("fashion-mnist", True)
    assert p.parse_args(["train", "--dataset", "xor", "--l2", "1"]).dataset == "xor"
    for argv in (["doctor", "--test-csv", "t.csv"], ["evaluate", "m", "--dataset", "or"]):
        with pytest.raises(SystemExit):
            p.parse_args(argv)
    assert isinstance(p, argparse.ArgumentParser)


def test_train_replays_raw_pixels_and_doctor_keeps_the_runs_batch(tmp_path, capsys) -> None:
    """Case 1's set-up (raw 0–16 pixels, full-batch gradient descent): the run feeds the raw
    pixels, its normalisation says so (for predict), and doctor --run diagnoses the same."""
    argv = (
        "--hidden 4,4,4 --activation sigmoid --no-bias --init uniform:-1,1 --unnormalised "
        "--loss bce --optimizer sgd --lr 1e-3 --momentum 0.9 --batch-size 2000 "
        "--val-fraction 0 --epochs 3 --no-doctor"
    )
    assert train(argv, tmp_path / "run") == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["normalization"] == {"max_value": 16.0, "mean": 0.0, "std": 1 / 16}
    capsys.readouterr()
    cli_doctor.main(["--run", str(tmp_path / "run"), "--json", "--steps", "5"])
    data = json.loads(capsys.readouterr().out)
    assert data["summary"].endswith("5 full-batch steps")
    codes = {f["code"] for f in data["findings"]}
    assert {"inputs_not_normalised", "bottleneck"} <= codes


def test_graph_and_export_take_a_gate_run(tmp_path, capsys) -> None:
    """graph draws a gate's net on its four rows with its own loss; export writes its weights
    and refuses the ONNX file (which takes pictures) in one line."""
    assert train("--dataset xor --hidden 4 --epochs 2", tmp_path / "run") == 0
    capsys.readouterr()
    assert main(["graph", str(tmp_path / "run"), "--out", str(tmp_path / "g.dot"), "--grads"]) == 0
    assert "xor gate's 4 rows" in (tmp_path / "g.dot").read_text()
    assert main(["export", str(tmp_path / "run"), "-o", str(tmp_path / "w.safetensors")]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "run"), "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "logic gate" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()
