"""Fetch a data file from a list of mirrors into a local cache, verified by checksum.

Mirrors come and go (yann.lecun.com has been refusing downloads for years), so every file has
several, tried in order. A download streams into a temporary file next to its destination and is
renamed into place only once its checksum matches, so the cache never holds a half-written or
tampered file. When every mirror fails, the error lists each one and why, and says how to supply
the file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..progress import ProgressBar
from .exceptions import DownloadError

__all__ = ["default_cache_dir", "download", "file_digest"]

_CHUNK = 1 << 16
_USER_AGENT = "tinygrad-digits (python urllib)"


def default_cache_dir() -> Path:
    """$TINYGRAD_DIGITS_CACHE, else ($XDG_CACHE_HOME or ~/.cache)/tinygrad_digits."""
    if os.environ.get("TINYGRAD_DIGITS_CACHE"):
        return Path(os.environ["TINYGRAD_DIGITS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "tinygrad_digits"


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks so large files need little memory."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mirror_url(mirror: str, filename: str) -> str:
    """A mirror is a base URL the file name is appended to, or the file's full URL."""
    if mirror.rstrip("/").endswith("/" + filename):
        return mirror
    return mirror.rstrip("/") + "/" + filename


def _describe(exc: BaseException, timeout: float) -> str:
    """A short, human reason for a failed request."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"host not found ({exc.strerror or exc})"
    if isinstance(exc, http.client.IncompleteRead):
        return f"connection closed early after {len(exc.partial):,} bytes"
    return f"{type(exc).__name__}: {exc}"


def _checksums(sha256: str | None, md5: str | None) -> dict[str, str]:
    wanted = {name: value.lower() for name, value in (("sha256", sha256), ("md5", md5)) if value}
    if not wanted:
        raise ValueError("download() needs sha256= or md5= so a corrupt file is never used")
    return wanted


def _mismatch(path: Path, wanted: dict[str, str]) -> str | None:
    """None when every expected digest matches, else which one differs."""
    for algorithm, expected in wanted.items():
        found = file_digest(path, algorithm)
        if found != expected:
            return f"{algorithm} is {found}, expected {expected}"
    return None


def _fetch(url: str, dest: Path, wanted: dict[str, str], timeout: float, progress: bool) -> None:
    """Stream ``url`` into a temp file beside ``dest``; rename it into place if checksums match."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            enabled = "always" if progress else False  # logs show downloads too
            bar = ProgressBar(total, dest.name, unit="B", enabled=enabled, leave=True)
            try:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(chunk)
                    if bar.update(len(chunk)):
                        bar.show()
            finally:
                bar.close()
        if total is not None and bar.count != total:
            raise OSError(f"connection closed early after {bar.count:,} of {total:,} bytes")
        problem = _mismatch(tmp, wanted)
        if problem is not None:
            raise ValueError(f"checksum mismatch: {problem} (partial file deleted)")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download(
    filename: str,
    mirrors: Sequence[str],
    sha256: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    md5: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Return the path of ``filename`` in ``cache_dir``, downloading it from the first good mirror.

    A file already there with the right checksum is used without any network access. ``md5`` is
    accepted because that is the checksum most public dataset listings publish.
    """
    if not filename or Path(filename).name != filename:
        raise ValueError(f"download(): filename must be a plain file name, got {filename!r}")
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    if not mirrors:
        raise ValueError(f"download(): no mirrors given for {filename}")
    wanted = _checksums(sha256, md5)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / filename
    stale = None
    if dest.is_file():
        stale = _mismatch(dest, wanted)
        if stale is None:
            return dest

    attempts: list[tuple[str, str]] = []
    for mirror in mirrors:
        url = _mirror_url(mirror, filename)
        try:
            _fetch(url, dest, wanted, timeout, progress)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else _describe(exc, timeout)
            attempts.append((url, reason))
            continue
        return dest
    raise DownloadError(_failure_message(filename, dest, wanted, attempts, stale), attempts)


def _failure_message(
    filename: str,
    dest: Path,
    wanted: dict[str, str],
    attempts: list[tuple[str, str]],
    stale: str | None,
) -> str:
    lines = [f"could not download {filename} from any of its {len(attempts)} mirror(s):"]
    lines += [f"  - {url}: {reason}" for url, reason in attempts]
    if stale is not None:
        lines.append(f"The copy already at {dest} was not used: its {stale}.")
    checks = ", ".join(f"{name} {value}" for name, value in wanted.items())
    lines.append(
        f"To work offline, download {filename} by hand (any mirror above, or a copy from a "
        f"colleague), check its {checks}, put it in a folder and pass --data-dir FOLDER "
        f"(root=FOLDER in Python), or copy it to {dest}."
    )
    return "\n".join(lines)
