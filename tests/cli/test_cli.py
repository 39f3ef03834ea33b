"""The command line through subprocess, as a user runs it: `python -m tinygrad_digits ...`.

One module-scoped run trains the default model (built-in digits, MLP 128-64, default epochs)
and must reach >= 97% test accuracy; the other commands use the model it saved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PIL = pytest.importorskip("PIL")
from PIL import Image, ImageDraw  # noqa: E402


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TINYGRAD_DIGITS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_digits", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=300,
    )


def assert_clean_failure(result: subprocess.CompletedProcess, *words: str) -> None:
    """Non-zero exit, exactly one line on stderr naming the problem, no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "digits"
    result = run("train", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


def test_default_train_reaches_97_percent(trained):
    out, result = trained
    assert "epoch 40/40" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy:")
    accuracy = float(last.split()[2].rstrip("%")) / 100
    assert accuracy >= 0.97, result.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    for name in ("model.safetensors", "config.json", "history.json"):
        assert (out / name).is_file(), name
    if "plots skipped" not in result.stdout:
        assert (out / "curves.png").is_file() and (out / "confusion_matrix_test.png").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["hidden"] == [128, 64] and config["dataset"] == "digits"
    assert config["normalization"]["max_value"] == 16.0


def test_evaluate_matches_train(trained, tmp_path):
    out, train_result = trained
    result = run("evaluate", str(out), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    trained_acc = train_result.stdout.strip().splitlines()[-1].split()[2]
    assert f"test accuracy {trained_acc}" in result.stdout
    assert "rows: true class" in result.stdout
    result = run("evaluate", str(out / "model.safetensors"))
    assert result.returncode == 0 and f"test accuracy {trained_acc}" in result.stdout


def _draw(
    kind: int,
    path: Path,
    *,
    size=(200, 200),
    box=(60, 30, 140, 170),
    ink=0,
    paper=255,
    width=14,
    mode="L",
) -> Path:
    image = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    if kind == 1:
        pen.line([((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1)], fill=ink, width=width)
    else:
        pen.ellipse(box, outline=ink, width=width)
    image.save(path)
    return path


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    out = {}
    for digit in (0, 1):
        out[f"{digit}_plain"] = _draw(digit, folder / f"{digit}_plain.png")
        out[f"{digit}_offcentre"] = _draw(
            digit,
            folder / f"{digit}_off.png",
            size=(400, 300),
            box=(280, 140, 360, 290),
            width=12,
        )
        out[f"{digit}_inverted"] = _draw(digit, folder / f"{digit}_inv.png", ink=255, paper=0)
        out[f"{digit}_large"] = _draw(
            digit,
            folder / f"{digit}_large.jpg",
            size=(2400, 2400),
            box=(700, 300, 1700, 2100),
            width=160,
        )
        out[f"{digit}_coloured"] = _draw(
            digit,
            folder / f"{digit}_colour.png",
            ink=(200, 30, 30),
            paper=(250, 240, 180),
            mode="RGB",
        )
    return out


def test_predict_json_on_drawn_digits(trained, pictures, tmp_path):
    out, _ = trained
    names = sorted(pictures)
    result = run(
        "predict",
        str(out),
        *(str(pictures[n]) for n in names),
        "--json",
        "--show-input",
        str(tmp_path / "seen"),
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert len(answers) == len(names)
    for name, answer in zip(names, answers):
        assert answer["image"] == str(pictures[name])
        probs = [t["probability"] for t in answer["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        assert answer["prediction"] == answer["top"][0]["class"]
        assert answer["prediction"] == int(name[0]), (name, answer)
        seen = Path(answer["input_image"])
        assert seen.is_file() and Image.open(seen).size[0] % 8 == 0


def test_predict_text_and_single_show_input(trained, pictures, tmp_path):
    out, _ = trained
    target = tmp_path / "what_it_sees.png"
    result = run("predict", str(out), str(pictures["1_plain"]), "--show-input", str(target))
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.split()[1] == "1" and "top 3:" in line
    assert target.is_file()


def test_predict_shows_the_clean_up_steps_and_warns_of_doubts(trained, pictures, tmp_path):
    out, _ = trained
    target = tmp_path / "seen.png"
    result = run("predict", str(out), str(pictures["0_plain"]), "--show-input", str(target))
    assert result.returncode == 0, result.stderr
    steps = Image.open(tmp_path / "seen_steps.png")
    assert steps.height == 140 and steps.width > 4 * 140  # five panels side by side
    two = Image.new("L", (400, 200), 255)  # two digits in one picture: ambiguous ink
    pen = ImageDraw.Draw(two)
    pen.ellipse((30, 30, 150, 170), outline=0, width=14)
    pen.line([(300, 30), (300, 170)], fill=0, width=14)
    two.save(tmp_path / "two.png")
    result = run("predict", str(out), str(tmp_path / "two.png"), "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert any("separate marks" in w for w in answer["warnings"]), answer
    assert "warning: " in result.stderr and "separate marks" in result.stderr


def test_gradcheck_default_and_saved(trained):
    out, _ = trained
    for args in ((), (str(out),)):
        result = run("gradcheck", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.strip().splitlines()
        assert lines[-1] == "PASS"
        assert sum("worst relative error" in line for line in lines) == 6  # 3 weights, 3 biases


def test_train_from_csv_then_evaluate(tmp_path):
    from tinygrad_digits.data import load_digits_arrays

    x, y = load_digits_arrays()
    rows = np.column_stack([y[:300], x[:300].astype(int)])
    csv = tmp_path / "digits.csv"
    np.savetxt(
        csv, rows, fmt="%d", delimiter=",", header="label," + ",".join(["p"] * 64), comments=""
    )
    out = tmp_path / "csvrun"
    result = run("train", "--csv", str(csv), "--epochs", "3", "--out", str(out), "--no-plots")
    assert result.returncode == 0, result.stderr
    assert "csv: 216 training, 24 validation, 60 test images" in result.stdout
    assert json.loads((out / "config.json").read_text())["dataset"] == "csv"
    result = run("evaluate", str(out))
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout


def test_train_on_small_idx_files_with_strict_device(tmp_path):
    from tinygrad_digits.data import write_idx

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(
            tmp_path / f"{prefix}-images-idx3-ubyte",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    out = tmp_path / "mnistrun"
    result = run(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        str(tmp_path),
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--device",
        "strict",
        "--out",
        str(out),
        "--no-plots",
    )
    assert result.returncode == 0, result.stderr
    assert "mlp 784 -> 16 -> 10" in result.stdout and "on strict" in result.stdout
    assert json.loads((out / "config.json").read_text())["normalization"]["max_value"] == 255
    result = run("evaluate", str(out), "--device", "strict")  # finds the data dir it trained on
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    picture = _draw(1, tmp_path / "one.png")
    result = run(
        "predict", str(out), str(picture), "--json", "--show-input", str(tmp_path / "s.png")
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert 0 <= answer["prediction"] <= 9 and len(answer["top"]) == 3
    assert Image.open(tmp_path / "s.png").size == (280, 280)  # 28×28 enlarged 10×


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "predict", "export", "gradcheck", "graph", "doctor"):
        assert command in result.stdout


# --- bad input: one line on stderr, non-zero exit, no traceback -------------------------------
def test_missing_model_file(tmp_path):
    assert_clean_failure(run("evaluate", str(tmp_path / "nope.tgd")), "no such")
    assert_clean_failure(
        run("predict", str(tmp_path), str(tmp_path / "x.png")), "model.safetensors"
    )


def test_corrupt_model_files(trained, tmp_path):
    out, _ = trained
    junk = tmp_path / "junk.tgd"
    junk.write_bytes(os.urandom(300))
    assert_clean_failure(run("evaluate", str(junk)), "junk.tgd")
    truncated = tmp_path / "truncated.tgd"
    truncated.write_bytes((out / "model.safetensors").read_bytes()[:500])
    assert_clean_failure(run("evaluate", str(truncated)), "truncated.tgd")
    assert_clean_failure(run("gradcheck", str(truncated)), "truncated.tgd")


@pytest.mark.parametrize("hidden", ["12,x", "0", "-3", "1.5"])
def test_bad_hidden(hidden):
    assert_clean_failure(run("train", f"--hidden={hidden}"), "hidden")


def test_unknown_dataset_and_device():
    assert_clean_failure(run("train", "--dataset", "cifar"), "unknown dataset")
    assert_clean_failure(run("train", "--device", "tpu", "--epochs", "1"), "tpu")


def test_missing_mnist_files(tmp_path):
    assert_clean_failure(
        run("train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path)), "not found"
    )


def test_bad_images(trained, tmp_path):
    out, _ = trained
    fake = tmp_path / "fake.png"
    fake.write_text("this is not a picture")
    assert_clean_failure(run("predict", str(out), str(fake)), "fake.png")
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    assert_clean_failure(run("predict", str(out), str(blank)), "blank.png")
    assert_clean_failure(run("predict", str(out), str(tmp_path / "gone.png")), "gone.png")


def test_bad_csv(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("5," + ",".join(["1"] * 64) + "\n7,1,2\n")
    assert_clean_failure(run("train", "--csv", str(csv)), "line 2")


def test_usage_errors_are_one_line():
    assert_clean_failure(run("train", "--epochs", "0"), "epochs")
    assert_clean_failure(run(), "command")
    assert_clean_failure(run("predict"), "required")


def test_show_input_never_overwrites_and_names_one_view_per_input(trained, pictures, tmp_path):
    out, _ = trained
    photo = pictures["1_plain"]
    before = photo.read_bytes()
    result = run("predict", str(out), str(photo), "--show-input", str(photo))
    assert_clean_failure(result, "would overwrite", "--overwrite")
    assert photo.read_bytes() == before
    model = out / "model.safetensors"
    result = run("predict", str(out), str(photo), "--show-input", str(model))
    assert_clean_failure(result, "would overwrite")
    twin = tmp_path / "other" / photo.name  # the same stem in another folder
    twin.parent.mkdir()
    twin.write_bytes(before)
    seen = tmp_path / "seen"
    result = run("predict", str(out), str(photo), str(twin), "--json", "--show-input", str(seen))
    assert result.returncode == 0, result.stderr
    views = [Path(a["input_image"]) for a in json.loads(result.stdout)]
    assert len(set(views)) == 2 and all(v.is_file() for v in views)
    again = run("predict", str(out), str(photo), str(twin), "--show-input", str(seen))
    assert_clean_failure(again, "would overwrite")
    forced = run(
        "predict", str(out), str(photo), str(twin), "--show-input", str(seen), "--overwrite"
    )
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (("graph", "--batch", "0"), ("--batch", "positive")),
        (("graph", "--depth", "-1"), ("--depth",)),
    ],
)
def test_graph_refuses_meaningless_sizes(args, words):
    result = run(*args)
    assert result.returncode == 2 and all(w in result.stderr for w in words), result.stderr
