"""Bounded reading and downloading: a small hostile file or a hostile mirror can't take memory,
disk or time without bound, and a cut download leaves nothing half-written behind."""

from __future__ import annotations

import gzip
import hashlib
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tinygrad_digits.data import DataFormatError, read_digits_csv
from tinygrad_digits.data.arrays import SOURCES
from tinygrad_digits.data.download import download, partial_path
from tinygrad_digits.data.exceptions import DownloadError
from tinygrad_digits.data.idx import read_idx_images, write_idx

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "fashion-mnist"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data/fashion-mnist")


# --- IDX and CSV -------------------------------------------------------------------------------
def test_a_gzip_idx_declaring_gigabytes_is_refused_before_inflating(tmp_path: Path) -> None:
    header = bytes([0, 0, 8, 3]) + (70000).to_bytes(4, "big") + (256).to_bytes(4, "big") * 2
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:  # 4.6 GB declared, 64 MB of zeros actually there
        f.write(header)
        block = bytes(1 << 20)
        for _ in range(64):
            f.write(block)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    with pytest.raises(DataFormatError, match="declares dimensions .70000, 256, 256."):
        read_idx_images(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20


def test_a_real_gzip_idx_still_reads(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / "x-idx3-ubyte.gz", images, gzip=True)
    np.testing.assert_array_equal(read_idx_images(path), images)


def _csv_lines(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    return [",".join(map(str, [i % 10, *rng.integers(0, 256, 64)])) for i in range(n)]


def test_csv_reads_from_a_pipe(tmp_path: Path) -> None:
    lines = _csv_lines(30)
    read, write = os.pipe()
    with os.fdopen(write, "w") as w:
        w.write("\n".join(lines) + "\n")
    images, labels = read_digits_csv(f"/dev/fd/{read}")
    os.close(read)
    assert images.shape == (30, 8, 8) and labels[:3].tolist() == [0, 1, 2]


def test_csv_refuses_endless_input_with_bounded_memory() -> None:
    tracemalloc.start()
    with pytest.raises(DataFormatError, match="line 1: longer than 65,536 characters"):
        read_digits_csv("/dev/zero")
    assert tracemalloc.get_traced_memory()[1] < 4 << 20
    tracemalloc.stop()


def test_csv_row_limit(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("\n".join(_csv_lines(50)) + "\n")
    with pytest.raises(DataFormatError, match="more than 20 rows"):
        read_digits_csv(path, max_rows=20)


def test_whitespace_only_lines_are_blank_and_numbers_stay_right(tmp_path: Path) -> None:
    lines = _csv_lines(5)
    lines.insert(2, "   \t ")
    lines[4] = lines[4] + ",7"  # file line 5
    path = tmp_path / "ws.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"ws.csv, line 5: expected 65 fields"):
        read_digits_csv(path)


# --- downloads ---------------------------------------------------------------------------------
def _file(folder: Path, size: int = 5000) -> tuple[Path, str]:
    path = folder / "data.bin"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_trickling_mirror_meets_the_overall_deadline(server, tmp_path: Path) -> None:
    base, served, _ = server
    _, sha = _file(served)
    with pytest.raises(DownloadError, match="overall deadline of 1 s") as info:
        download("data.bin", [f"{base}/trickle/"], sha, tmp_path / "c", False, deadline=1.0)
    assert "To work offline" in str(info.value)
    assert list((tmp_path / "c").iterdir()) == []


def test_an_endless_body_stops_at_the_size_cap(server, tmp_path: Path) -> None:
    base, served, _ = server
    _, sha = _file(served)
    with pytest.raises(DownloadError, match="larger than the 1,000,000-byte cap"):
        download("data.bin", [f"{base}/endless/"], sha, tmp_path / "c", False, max_bytes=10**6)
    assert list((tmp_path / "c").iterdir()) == []


def test_https_mirrors_are_tried_first(server, dead_url, tmp_path: Path) -> None:
    base, served, _ = server
    _, sha = _file(served)
    https_dead = "https://127.0.0.1:1/"
    with pytest.raises(DownloadError) as info:
        download("data.bin", [dead_url, https_dead], sha, tmp_path / "c", False)
    assert [url for url, _ in info.value.attempts][0].startswith("https://")


def test_a_partial_file_left_by_sigkill_is_resumed(server, tmp_path: Path) -> None:
    base, served, _ = server
    src, sha = _file(served)
    cache = tmp_path / "c"
    cache.mkdir()
    partial_path(cache / "data.bin").write_bytes(src.read_bytes()[:3000])
    _, _, requests = server
    got = download("data.bin", [f"{base}/ranged/"], sha, cache, False)
    assert got.read_bytes() == src.read_bytes()
    assert not partial_path(got).exists()


def test_sigterm_removes_the_partial_file(server, tmp_path: Path) -> None:
    base, served, _ = server
    _, sha = _file(served)
    cache = tmp_path / "c"
    code = (
        "import sys; from tinygrad_digits.data.download import download; "
        f"download('data.bin', ['{base}/trickle/'], '{sha}', r'{cache}', True)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stderr=subprocess.PIPE,
        text=True,
    )
    part = partial_path(cache / "data.bin")
    for _ in range(400):
        if part.exists() and part.stat().st_size > 0:
            break
        proc.poll()
        __import__("time").sleep(0.05)
    assert part.exists()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode != 0 and not part.exists()


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared Fashion-MNIST copy")
def test_fashion_mnist_sha256_matches_the_real_files() -> None:
    for name, checks in SOURCES["fashion-mnist"]["checksums"].items():
        with gzip.open(SHARED / name) as f:
            assert hashlib.sha256(f.read()).hexdigest() == checks["gunzipped_sha256"], name


def test_every_known_file_has_a_sha256_and_an_md5_and_https_comes_first() -> None:
    for source in SOURCES.values():
        assert source["mirrors"][0].startswith("https://")
        for checks in source["checksums"].values():
            sha256 = checks.get("sha256") or checks.get("gunzipped_sha256")
            assert len(sha256) == 64 and int(sha256, 16) >= 0
            assert len(checks["md5"]) == 32
