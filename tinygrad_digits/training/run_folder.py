"""Run folders: where a training run writes, chosen so that no run ever clobbers another.

A folder that is new or empty is used as it is; one that already holds files gets a new
numbered sub-folder (``runs/digits-mlp/2``, ``/3``, ...), unless ``overwrite`` says to replace
what is there. A lock file held for the whole run refuses a second run into the same folder,
and temporaries left by a killed run are removed when the next run takes the lock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..serialization.atomic import atomic_write, is_temporary

__all__ = [
    "RunFolderBusy",
    "RunFolderError",
    "RunLock",
    "claim_run_folder",
    "clear_run",
    "write_json",
]

LOCK_NAME = ".lock"


class RunFolderError(RuntimeError):
    """The run folder can't be used: locked by another run, not writable, or not a folder."""


class RunFolderBusy(RunFolderError):
    """Another run holds the folder's lock."""


def _holds_files(folder: Path) -> bool:
    return any(p.name != LOCK_NAME and not is_temporary(p) for p in folder.iterdir())


def claim_run_folder(base: str | os.PathLike, overwrite: bool = False) -> tuple[Path, str, RunLock]:
    """(the folder to write, why it was chosen, its lock, held). ``base`` itself when it is new,
    empty or ``overwrite`` is set; else the first free ``base/N`` (N >= 2), claimed with mkdir
    so that runs starting together never pick the same one."""
    base = Path(base)
    if base.exists() and not base.is_dir():
        raise RunFolderError(f"{base} exists and is not a folder")
    if overwrite or not base.exists() or not _holds_files(base):
        _make(base)
        lock = RunLock(base)
        try:
            lock.acquire()
        except RunFolderBusy:
            if overwrite:
                raise
        else:
            if overwrite:
                return base, "replacing the run there (--overwrite)", lock
            if not _holds_files(base):  # still empty now that it is ours
                return base, "new folder", lock
            lock.release()
    n = 2
    while True:
        candidate = base / str(n)
        try:
            candidate.mkdir()
        except FileExistsError:
            n += 1
            continue
        except OSError as exc:
            raise RunFolderError(f"can't create {candidate}: {exc.strerror or exc}") from None
        why = f"{base} holds an earlier run; --overwrite replaces it"
        return candidate, why, RunLock(candidate).acquire()


def _make(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"can't create {folder}: {exc.strerror or exc}") from None


class RunLock:
    """Held while a run writes into ``folder``: a second run there is refused at once with one
    line. The kernel drops the lock when the process dies, so a killed run never leaves it
    stuck. Taking it also removes the temporaries a killed run left behind."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        path = self.folder / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunFolderError(f"can't write into {self.folder}: {exc.strerror or exc}") from None
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; the run folder choice still holds
            self._fd = fd
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunFolderBusy(
                f"another run (pid {holder}) is writing into {self.folder}; wait for it or pick "
                "another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        for leftover in self.folder.iterdir():
            if is_temporary(leftover) and leftover.is_file():
                leftover.unlink(missing_ok=True)
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays, empty of meaning
            self._fd = None

    def __enter__(self) -> RunLock:
        return self if self._fd is not None else self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


RUN_FILES = (
    "results.json",
    "model.safetensors",
    "model.tgd",
    "last.safetensors",
    "history.json",
    "config.json",
    "run.json",
    "curves.png",
    "confusion_matrix_test.png",
)


def clear_run(folder: str | os.PathLike) -> list[str]:
    """Remove the files of the run in ``folder`` (for ``--overwrite``), results first so that a
    run killed while clearing never leaves results that describe a missing model."""
    removed = []
    for name in RUN_FILES:
        path = Path(folder) / name
        if path.is_file():
            path.unlink()
            removed.append(name)
    return removed


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomic, strict JSON: NaN or inf raise ValueError instead of writing invalid JSON."""
    return atomic_write(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
