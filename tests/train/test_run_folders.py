"""Run folders as a user meets them, through subprocesses and signals on the 8×8 digits: no run
clobbers another, a killed or interrupted run leaves whole files, Ctrl-C keeps the best and the
last epoch and --resume ends where an uninterrupted run ends, a diverging run saves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.training.run_folder import (
    SWAP_NAME,
    RunFolderError,
    RunLock,
    claim_run_folder,
    stage_run,
    write_json,
)

REPO = Path(__file__).resolve().parents[2]
FAST = ("--no-progress", "--no-plots", "--no-doctor", "--hidden", "16")


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TINYGRAD_DIGITS_DEBUG", None)
    return env


def train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", "train", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _weights(path: Path) -> dict[str, np.ndarray]:
    state = tg.load(path)
    state = state.get("model", state)
    return {k: v.numpy() for k, v in state.items()}


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_a_second_run_never_replaces_the_first(tmp_path: Path) -> None:
    first = train("--epochs", "2", *FAST, "--out", "runs/demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "run folder: runs/demo (new folder)"
    demo = tmp_path / "runs/demo"
    model = (demo / "model.safetensors").read_bytes()
    second = train("--epochs", "1", *FAST, "--lr", "1e-4", "--out", "runs/demo", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0].startswith("run folder: runs/demo/2 (runs/demo holds")
    assert (demo / "model.safetensors").read_bytes() == model  # the good model is untouched
    assert (demo / "2/model.safetensors").is_file() and (demo / "2/results.json").is_file()
    third = train("--epochs", "1", *FAST, "--out", "runs/demo", "--overwrite", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert (demo / "model.safetensors").read_bytes() != model
    assert "--overwrite" in third.stdout.splitlines()[0]


def test_every_file_is_whole_and_results_are_strict_json(tmp_path: Path) -> None:
    result = train("--epochs", "2", *FAST, "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    assert _visible(run) == [
        "config.json",
        "history.json",
        "last.safetensors",
        "model.safetensors",
        "results.json",
        "run.json",
    ]
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    json.loads((run / "results.json").read_text(), parse_constant=pytest.fail)


def test_the_lock_refuses_a_second_run_in_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.safetensors").write_bytes(b"a good model")
    with RunLock(run):
        result = train("--epochs", "1", *FAST, "--out", "run", "--overwrite", cwd=tmp_path)
        with pytest.raises(RunFolderError, match="another run"):
            RunLock(run).acquire()
    assert result.returncode == 1
    assert "another run (pid" in result.stderr and len(result.stderr.splitlines()) == 1
    assert (run / "model.safetensors").read_bytes() == b"a good model"


def test_leftover_temporaries_are_cleaned(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    leftover = run / ".model.tmp-99999-deadbeef.safetensors"
    leftover.write_bytes(b"half a file")
    folder, why, lock = claim_run_folder(run)  # temporaries are not a run
    lock.release()
    assert (folder, why) == (run, "new folder")
    leftover.write_bytes(b"half a file")
    result = train("--epochs", "1", *FAST, "--out", "run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not leftover.exists()


def test_concurrent_runs_each_get_their_own_folder(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tinygrad_digits", "train", "--epochs", "1", *FAST],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    folders = sorted(out.splitlines()[0].split()[2] for out, _ in outs)
    assert folders == ["runs/digits-mlp", "runs/digits-mlp/2", "runs/digits-mlp/3"]
    for folder in folders:
        assert (tmp_path / folder / "results.json").is_file()


def _start_and_wait_for(tmp_path: Path, marker: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "tinygrad_digits", "train", *args],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(marker):
            return proc
    raise AssertionError(f"never printed {marker!r}: {proc.communicate()}")


def test_ctrl_c_keeps_best_and_last_epoch_and_resume_finishes(tmp_path: Path) -> None:
    proc = _start_and_wait_for(tmp_path, "epoch  2/", "--epochs", "60", *FAST, "--out", "run")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "kept the best epoch" in err and "--resume run" in err
    run = tmp_path / "run"
    assert not (run / "results.json").exists()
    status = json.loads((run / "run.json").read_text())
    assert status["status"] == "interrupted"
    done = len(json.loads((run / "history.json").read_text())["epochs"])
    assert done >= 2 and f"last completed epoch ({done})" in err
    tg.load(run / "model.safetensors")  # whole
    resumed = train("--resume", "run", "--epochs", str(done + 1), "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {done} of {done + 1}" in resumed.stdout, resumed.stdout[:400]
    assert len(json.loads((run / "history.json").read_text())["epochs"]) == done + 1


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = train("--epochs", "4", *FAST, "--out", "whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    part = train("--epochs", "2", *FAST, "--out", "part", cwd=tmp_path)
    assert part.returncode == 0, part.stderr
    more = train("--resume", "part", "--epochs", "4", "--no-progress", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    for name in ("model.safetensors", "last.safetensors"):
        a, b = _weights(tmp_path / "whole" / name), _weights(tmp_path / "part" / name)
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    results = [json.loads((tmp_path / f / "results.json").read_text()) for f in ("whole", "part")]
    assert results[0]["test_accuracy"] == results[1]["test_accuracy"]


def test_sigkill_leaves_the_previous_or_the_new_whole_file(tmp_path: Path) -> None:
    proc = _start_and_wait_for(tmp_path, "epoch  3/", "--epochs", "60", *FAST, "--out", "run")
    time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=60)
    run = tmp_path / "run"
    tg.load(run / "model.safetensors")
    tg.load(run / "last.safetensors")
    json.loads((run / "history.json").read_text())
    json.loads((run / "config.json").read_text())
    assert not (run / "results.json").exists()
    resumed = train("--resume", "run", "--epochs", "61", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]


def _accuracy(run: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", "evaluate", run],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if "test accuracy" in line)


def test_a_killed_overwrite_keeps_the_earlier_run(tmp_path: Path) -> None:
    first = train("--epochs", "3", *FAST, "--out", "run", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "run"
    before, model = _accuracy("run", tmp_path), (run / "model.safetensors").read_bytes()
    args = ("--epochs", "60", *FAST, "--lr", "1e-4", "--out", "run", "--overwrite")
    proc = _start_and_wait_for(tmp_path, "epoch  2/", *args)
    proc.kill()
    proc.communicate(timeout=60)
    assert _accuracy("run", tmp_path) == before
    assert (run / "model.safetensors").read_bytes() == model
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    assert [p for p in run.iterdir() if p.is_dir()], "the killed run's staging folder"
    folder, why, lock = claim_run_folder(run)  # a staging folder is never taken for a run
    lock.release()
    assert folder == run / "2" and "holds an earlier run" in why
    done = train("--epochs", "1", *FAST, "--out", "run", "--overwrite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (run / "model.safetensors").read_bytes() != model
    assert _accuracy("run", tmp_path) != before
    assert sorted(p.name for p in run.iterdir() if p.is_dir()) == ["2"]  # staging cleaned
    assert json.loads((run / "history.json").read_text())["epochs"][-1]["epoch"] == 1


def test_an_overwrite_stopped_before_its_first_epoch_keeps_the_earlier_run(tmp_path) -> None:
    first = train("--epochs", "2", *FAST, "--out", "run", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    model = (tmp_path / "run/model.safetensors").read_bytes()
    args = ("--epochs", "3", *FAST, "--optimizer", "sgd", "--lr", "1e10", "--overwrite")
    diverged = train(*args, "--out", "run", cwd=tmp_path)
    assert diverged.returncode == 1 and "keeps the run it held before" in diverged.stderr
    assert (tmp_path / "run/model.safetensors").read_bytes() == model
    assert (tmp_path / "run/results.json").is_file()
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".staging")]
    (tmp_path / "bad.csv").write_text("1,2,3\n")
    failed = train("--csv", "bad.csv", *FAST, "--out", "run", "--overwrite", cwd=tmp_path)
    assert failed.returncode == 1 and len(failed.stderr.splitlines()) == 1, failed.stderr
    assert (tmp_path / "run/model.safetensors").read_bytes() == model
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".staging")]


def test_a_swap_cut_short_is_finished_by_the_next_lock(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("model.safetensors", "results.json", "curves.png"):
        (run / name).write_text(f"old {name}")
    staging = stage_run(run)
    for name in ("model.safetensors", "results.json", "history.json"):
        (staging / name).write_text(f"new {name}")
    files = ["history.json", "model.safetensors", "results.json"]
    write_json(run / SWAP_NAME, {"staging": staging.name, "files": files})
    os.replace(staging / "history.json", run / "history.json")  # then killed
    RunLock(run).acquire().release()
    assert {p.name: p.read_text() for p in run.iterdir() if p.name != ".lock"} == {
        name: f"new {name}" for name in files
    }


@pytest.mark.parametrize(
    "options",
    [("--optimizer", "sgd", "--lr", "1e10"), ("--optimizer", "adam", "--lr", "1e308")],
    ids=["sgd-1e10", "adam-1e308"],
)
def test_a_diverging_run_stops_and_saves_nothing_new(tmp_path: Path, options) -> None:
    result = train("--epochs", "3", *FAST, *options, "--out", "run", cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    stopped = [line for line in result.stderr.splitlines() if line.startswith("stopped:")]
    assert len(stopped) == 1 and "epoch 1, step " in stopped[0], result.stderr
    assert "doctor" in result.stderr
    assert not (tmp_path / "run/results.json").exists()
    if (tmp_path / "run/model.safetensors").exists():  # an epoch before the blow-up: finite
        for array in _weights(tmp_path / "run/model.safetensors").values():
            assert np.isfinite(array).all()


@pytest.mark.parametrize(
    "args, words",
    [
        (("--csv", "x.csv", "--dataset", "digits"), "either --dataset or --csv"),
        (("--channels", "4,8"), "only apply to --model cnn"),
        (("--dropout", "0.1"), "only apply to --model cnn"),
        (("--test-csv", "x.csv"), "--test-csv needs --csv"),
        (("--momentum", "0.5"), "--momentum only applies to --optimizer sgd"),
        (("--momentum", "nan", "--optimizer", "sgd"), "expected a momentum"),
        (("--weight-decay", "inf"), "expected a finite number"),
        (("--out", ""), "--out is empty"),
        (("--out", "afile/run"), "afile"),
        (("--resume", "nowhere"), "no last.safetensors"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path: Path, args, words: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    result = train("--dataset", "mnist", "--data-dir", "missing", *args, cwd=tmp_path)
    if "--dataset" in args:  # the conflict is --dataset itself
        result = train(*args, cwd=tmp_path)
    assert result.returncode in (1, 2)
    assert words in result.stderr and "MNIST" not in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()


def test_incompatible_test_csv_is_refused_before_training(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def csv(name: str, pixels: int) -> str:
        rows = [",".join(map(str, [i % 10, *rng.integers(0, 256, pixels)])) for i in range(40)]
        (tmp_path / name).write_text("\n".join(rows) + "\n")
        return name

    result = train(
        "--csv", csv("small.csv", 64), "--test-csv", csv("big.csv", 784), *FAST, "--out", "run",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "--csv small.csv holds 8×8 images (65 fields a row)" in result.stderr
    assert "--test-csv big.csv holds 28×28 (785 fields a row): they must match" in result.stderr
    assert not (tmp_path / "run").exists()  # refused before the run folder was made


def test_train_reads_csv_from_a_pipe(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [",".join(map(str, [i % 10, *rng.integers(0, 17, 64)])) for i in range(200)]
    read, write = os.pipe()
    with os.fdopen(write, "w") as w:
        w.write("\n".join(rows) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", "train", "--csv", f"/dev/fd/{read}",
         "--epochs", "1", *FAST, "--out", "run"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300, pass_fds=(read,),
    )  # fmt: skip
    os.close(read)
    assert result.returncode == 0, result.stderr
    assert "csv: 144 training, 16 validation, 40 test images" in result.stdout


def test_a_run_that_trained_nothing_leaves_no_folder(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("1,2,3\n")
    failed = train("--csv", "bad.csv", *FAST, "--out", "runs/new", cwd=tmp_path)
    assert failed.returncode == 1 and len(failed.stderr.splitlines()) == 1, failed.stderr
    assert not (tmp_path / "runs/new").exists()
    first = train("--epochs", "1", *FAST, "--out", "runs/demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = train("--csv", "bad.csv", *FAST, "--out", "runs/demo", cwd=tmp_path)
    assert again.returncode == 1 and not (tmp_path / "runs/demo/2").exists()
    (tmp_path / "empty").mkdir()  # a folder the user made stays, empty
    train("--csv", "bad.csv", *FAST, "--out", "empty", cwd=tmp_path)
    assert (tmp_path / "empty").is_dir()


def test_ctrl_c_while_the_data_loads_leaves_no_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)  # nobody writes: reading the training rows waits here
    proc = _start_and_wait_for(tmp_path, "run folder:", "--csv", str(fifo), *FAST, "--out", "r")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert not (tmp_path / "r").exists()
