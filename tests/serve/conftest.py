"""Fixtures for the web page: a CNN run on 28×28 digits, the `serve` command running it, and a
headless Chromium (Debian's, driven by Playwright; never a downloaded browser).

MNIST is not available offline, so the run learns sklearn's 8×8 digits made 28×28 the way the
page makes a drawing 28×28: each digit, enlarged smoothly, goes through `preprocess_digit_image`
(crop, fit into 20×20, centre of mass in the middle). A drawing and a training image then differ
only in handwriting, and the small CNN reads drawn 0, 1 and 7 reliably.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette", reason="serve needs the [serve] extra (starlette, uvicorn)")
pytest.importorskip("uvicorn", reason="serve needs the [serve] extra (starlette, uvicorn)")

CHROMIUM = os.environ.get("TINYGRAD_DIGITS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]


def _digits_28_csv(path: Path) -> Path:
    """sklearn's digits as a 28×28 CSV (label, 784 pixels 0–255), preprocessed like a drawing."""
    from PIL import Image

    from tinygrad_digits.data import load_digits_arrays, preprocess_digit_image

    x, y = load_digits_arrays()
    rows = np.empty((len(y), 785), dtype=np.int64)
    for i, (image, label) in enumerate(zip(x.reshape(-1, 8, 8), y)):
        grey = Image.fromarray(np.round(image * (255 / 16)).astype(np.uint8))
        smooth = grey.resize((32, 32), Image.Resampling.BILINEAR)
        pixels = preprocess_digit_image(smooth, size=28, invert=False)
        rows[i, 0] = label
        rows[i, 1:] = np.round(pixels.ravel() * 255)
    np.savetxt(path, rows, fmt="%d", delimiter=",")
    return path


@pytest.fixture(scope="session")
def cnn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The --out folder of `train --model cnn` on 28×28 digits (trained once per session)."""
    from tinygrad_digits.cli import main

    folder = tmp_path_factory.mktemp("serve-cnn")
    csv = _digits_28_csv(folder / "digits28.csv")
    out = folder / "run"
    args = f"train --csv {csv} --model cnn --channels 8,16 --hidden 64 --epochs 6 --seed 0"
    code = main([*args.split(), "--out", str(out), "--no-plots", "--no-doctor", "--no-progress"])
    assert code == 0
    return out


@pytest.fixture(scope="session")
def server(cnn_run: Path) -> Iterator[str]:
    """`tinygrad-digits serve RUN --port 0` in a subprocess; yields its address."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "tinygrad_digits", "serve", str(cnn_run), "--port", "0"]
    log = cnn_run.parent / "serve.log"  # a file, not a pipe nobody reads: the server never blocks
    with open(log, "w") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    try:
        line = proc.stdout.readline()
        if "http://" not in line:
            proc.wait(timeout=10)
            raise AssertionError(f"serve did not start: {line!r} {log.read_text()}")
        yield line.split(" at ", 1)[1].split()[0].rstrip("/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh headless Chromium profile (a Playwright browser context)."""
    if not Path(CHROMIUM).is_file() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or make chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
