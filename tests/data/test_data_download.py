"""download(): mirrors, cache, checksums and error reports, against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_digits.data.download import default_cache_dir, download
from tinygrad_digits.data.exceptions import DownloadError
from tinygrad_digits.data.idx import write_idx


def _labels_file(folder: Path, name: str = "labels-idx1-ubyte.gz") -> tuple[Path, str]:
    labels = np.random.default_rng(0).integers(0, 10, 500).astype(np.uint8)
    path = write_idx(folder / name, labels, gzip=True)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_success_then_cached_without_request(server, tmp_path):
    base, served, requests = server
    src, sha = _labels_file(served)
    cache = tmp_path / "cache"
    got = download(src.name, [base + "/"], sha, cache_dir=cache, progress=False)
    assert got == cache / src.name and got.read_bytes() == src.read_bytes()
    assert requests == ["/" + src.name]
    again = download(src.name, [base], sha, cache_dir=cache, progress=False)
    assert again == got and len(requests) == 1  # served from cache, no network
    assert sorted(p.name for p in cache.iterdir()) == [src.name]  # no temp files left


def test_md5_is_accepted_instead_of_sha256(server, tmp_path):
    base, served, _ = server
    src, _ = _labels_file(served)
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    got = download(src.name, [base], md5=md5, cache_dir=tmp_path / "c", progress=False)
    assert got.read_bytes() == src.read_bytes()


def test_full_file_url_as_mirror(server, tmp_path):
    base, served, _ = server
    src, sha = _labels_file(served)
    got = download(src.name, [f"{base}/{src.name}"], sha, cache_dir=tmp_path / "c", progress=False)
    assert got.is_file()


def test_dead_mirror_then_good_one(server, dead_url, tmp_path):
    base, served, requests = server
    src, sha = _labels_file(served)
    got = download(src.name, [dead_url, base], sha, cache_dir=tmp_path / "c", progress=False)
    assert got.read_bytes() == src.read_bytes()
    assert len(requests) == 1


def test_checksum_mismatch_deletes_partial_and_lists_mirrors(server, tmp_path):
    base, served, _ = server
    src, _ = _labels_file(served)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        download(src.name, [base], "0" * 64, cache_dir=cache, progress=False)
    message = str(info.value)
    assert f"{base}/{src.name}" in message and "checksum mismatch" in message
    assert list(cache.iterdir()) == []  # neither the partial nor a renamed file remains


def test_every_mirror_failing_lists_each_with_its_reason(server, dead_url, tmp_path):
    base, served, _ = server
    src, sha = _labels_file(served)
    mirrors = [dead_url, base + "/missing", base + "/short"]
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        download(src.name, mirrors, sha, cache_dir=cache, progress=False, timeout=5)
    error = info.value
    reasons = dict(error.attempts)
    assert list(reasons) == [f"{m}/{src.name}" for m in mirrors]
    assert reasons[f"{dead_url}/{src.name}"] == "connection refused"
    assert reasons[f"{base}/missing/{src.name}"].startswith("HTTP 404")
    assert "closed early" in reasons[f"{base}/short/{src.name}"]
    message = str(error)
    assert all(url in message for url in reasons)
    assert "--data-dir" in message and sha in message
    assert list(cache.iterdir()) == []


def test_wrong_cached_copy_is_replaced(server, tmp_path):
    base, served, requests = server
    src, sha = _labels_file(served)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / src.name).write_bytes(b"stale")
    got = download(src.name, [base], sha, cache_dir=cache, progress=False)
    assert got.read_bytes() == src.read_bytes() and len(requests) == 1


def test_progress_output(server, tmp_path, capsys, monkeypatch):
    base, served, _ = server
    src, sha = _labels_file(served)
    download(src.name, [base], sha, cache_dir=tmp_path / "quiet", progress=False)
    assert capsys.readouterr() == ("", "")
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain stderr fallback
    download(src.name, [base], sha, cache_dir=tmp_path / "loud", progress=True)
    out, err = capsys.readouterr()
    assert out == "" and src.name in err and "100%" in err


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="sha256"):
        download("x.gz", ["http://127.0.0.1:9"], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="no mirrors"):
        download("x.gz", [], "0" * 64, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="plain file name"):
        download("../x.gz", ["http://127.0.0.1:9"], "0" * 64, cache_dir=tmp_path)


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_DIGITS_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("TINYGRAD_DIGITS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "tinygrad_digits"
