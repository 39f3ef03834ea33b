"""Whole files or none: every file the project writes goes to a unique temporary name beside
its destination and is renamed over it, so a reader (or a run killed half-way) only ever sees
the previous complete file or the new one, and two writers never share a temporary name."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["TEMP_MARK", "atomic_write", "is_temporary", "replacing"]

TEMP_MARK = ".tmp-"  # in every temporary name: ".NAME.tmp-PID-RANDOM.SUFFIX"


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path``, unique per process and call, keeping the suffix (so
    writers that pick a format from the suffix, like matplotlib, still work)."""
    return path.with_name(
        f".{path.stem}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}"
    )


def is_temporary(path: Path) -> bool:
    """True for a temporary left behind by a killed write (what run folders clean up)."""
    return path.name.startswith(".") and TEMP_MARK in path.name


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, else it is removed."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` all at once, flushed to disk before the rename."""
    path = Path(path)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(path) as tmp, open(tmp, "xb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    return path
