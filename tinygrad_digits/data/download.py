"""Fetch a data file from a list of mirrors into a local cache, verified by checksum.

Mirrors come and go (yann.lecun.com has been refusing downloads for years), so every file has
several, tried https first. A download streams into a hidden partial file next to its
destination and is renamed into place only once its checksums match, so the cache never holds a
half-written or tampered file; the partial file is removed on any failure, Ctrl-C or SIGTERM (and
resumed, where the server allows, after a SIGKILL). One call has an overall deadline and a size
cap, so a mirror that trickles bytes or never stops sending can't hold it forever. When every
mirror fails, the error lists each one and why, and says how to supply the file by hand.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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


def _checksums(
    sha256: str | None, md5: str | None, gunzipped_sha256: str | None = None
) -> dict[str, str]:
    pairs = (("sha256", sha256), ("md5", md5), ("gunzipped_sha256", gunzipped_sha256))
    wanted = {name: value.lower() for name, value in pairs if value}
    if not wanted:
        raise ValueError("download() needs sha256= or md5= so a corrupt file is never used")
    return wanted


def _gunzipped_digest(path: Path) -> str:
    """SHA-256 of a gzip file's content: the same for every mirror's (re)compression of it."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        return f"unreadable ({exc})"
    return digest.hexdigest()


def _mismatch(path: Path, wanted: dict[str, str]) -> str | None:
    """None when every expected digest matches, else which one differs."""
    for algorithm, expected in wanted.items():
        if algorithm == "gunzipped_sha256":
            found = _gunzipped_digest(path)
        else:
            found = file_digest(path, algorithm)
        if found != expected:
            return f"{algorithm} is {found}, expected {expected}"
    return None


class _Limits:
    """What one download() may spend: a deadline for all mirrors together, bytes per file."""

    def __init__(self, deadline: float, max_bytes: int | None) -> None:
        self.ends = time.monotonic() + deadline
        self.deadline, self.max_bytes = deadline, max_bytes

    def left(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the overall deadline of {self.deadline:g} s passed")
        return left

    def expired(self) -> bool:
        return time.monotonic() >= self.ends

    def check_size(self, count: int) -> None:
        if self.max_bytes is not None and count > self.max_bytes:
            raise OSError(f"larger than the {self.max_bytes:,}-byte cap for this file")


def partial_path(dest: Path) -> Path:
    """Where a download of ``dest`` streams to: a fixed hidden name, so that one cut short by
    SIGKILL (which no program can clean up after) is resumed by the next download()."""
    return dest.with_name(f".{dest.name}.part")


def _fetch(
    url: str, dest: Path, wanted: dict[str, str], timeout: float, progress: bool, limits: _Limits
) -> None:
    """Stream ``url`` into the partial file beside ``dest`` (resuming one that is there when
    the server allows); rename it into place if the checksums match. On any failure, Ctrl-C or
    SIGTERM, the partial file is removed."""
    part = partial_path(dest)
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": _USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        with (
            _signals_raise(),
            urllib.request.urlopen(request, timeout=min(timeout, limits.left())) as resp,
        ):
            resumed = have and resp.status == 206
            length = resp.headers.get("Content-Length")
            total = int(length) + (have if resumed else 0) if length and length.isdigit() else None
            if total is not None:
                limits.check_size(total)
            count = have if resumed else 0
            enabled = "always" if progress else False  # logs show downloads too
            bar = ProgressBar(total, dest.name, unit="B", enabled=enabled, leave=True)
            try:
                with open(part, "ab" if resumed else "wb") as out:
                    while True:
                        if resp.fp is not None and resp.fp.raw is not None:
                            _set_timeout(resp, min(timeout, limits.left()))
                        chunk = resp.read1(_CHUNK)
                        if not chunk:
                            break
                        count += len(chunk)
                        limits.check_size(count)
                        out.write(chunk)
                        limits.left()
                        if bar.update(len(chunk)):
                            bar.show()
            finally:
                bar.close()
        if total is not None and count != total:
            raise OSError(f"connection closed early after {count:,} of {total:,} bytes")
        problem = _mismatch(part, wanted)
        if problem is not None:
            raise ValueError(f"checksum mismatch: {problem} (partial file deleted)")
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _set_timeout(resp: Any, seconds: float) -> None:
    """Shorten the socket's timeout to what the deadline leaves (each read waits at most that)."""
    sock = getattr(getattr(resp.fp, "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM becomes KeyboardInterrupt while a download runs, so its partial file is removed
    like after Ctrl-C (only the main thread can install handlers; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def download(
    filename: str,
    mirrors: Sequence[str],
    sha256: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    *,
    md5: str | None = None,
    gunzipped_sha256: str | None = None,
    timeout: float = 30.0,
    deadline: float = 900.0,
    max_bytes: int | None = 2**30,
) -> Path:
    """Return the path of ``filename`` in ``cache_dir``, downloading it from the first good mirror.

    A file already there with the right checksums is used without any network access. ``md5``
    is accepted because that is the checksum most public dataset listings publish;
    ``gunzipped_sha256`` checks the content of a .gz file, whatever gzip settings a mirror
    used. ``timeout`` bounds each wait for the network, ``deadline`` the whole call (all
    mirrors), ``max_bytes`` the file's size (None: no cap).
    """
    if not filename or Path(filename).name != filename:
        raise ValueError(f"download(): filename must be a plain file name, got {filename!r}")
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    if not mirrors:
        raise ValueError(f"download(): no mirrors given for {filename}")
    wanted = _checksums(sha256, md5, gunzipped_sha256)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / filename
    stale = None
    if dest.is_file():
        stale = _mismatch(dest, wanted)
        if stale is None:
            return dest

    limits = _Limits(deadline, max_bytes)
    attempts: list[tuple[str, str]] = []
    for mirror in sorted(mirrors, key=lambda m: not m.startswith("https:")):  # https first
        url = _mirror_url(mirror, filename)
        try:
            _fetch(url, dest, wanted, timeout, progress, limits)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else _describe(exc, timeout)
            if limits.expired():
                reason = f"stopped: the overall deadline of {deadline:g} s passed"
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
