"""Run folders: where a training run writes, chosen so that no run ever clobbers another.

A folder that is new or empty is used as it is; one that already holds files gets a new
numbered sub-folder (``runs/digits-mlp/2``, ``/3``, ...), unless ``overwrite`` says to replace
what is there. A replacing run trains in a hidden staging folder inside it and is swapped in
only at the end (``swap_in``), so a run killed at any moment leaves the earlier run whole. A
lock file held for the whole run refuses a second run into the same folder, and temporaries and
staging folders left by a killed run are removed when the next run takes the lock.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..serialization.atomic import atomic_write, is_temporary, temporary_name

__all__ = [
    "RunFolderBusy",
    "RunFolderError",
    "RunLock",
    "claim_run_folder",
    "discard_staging",
    "holds_run",
    "stage_run",
    "swap_in",
    "write_json",
]

LOCK_NAME = ".lock"
SWAP_NAME = ".swap.json"  # a swap_in under way: the next lock holder finishes it


class RunFolderError(RuntimeError):
    """The run folder can't be used: locked by another run, not writable, or not a folder."""


class RunFolderBusy(RunFolderError):
    """Another run holds the folder's lock."""


def holds_run(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds files besides its lock, temporaries and staging folders."""
    return any(p.name != LOCK_NAME and not is_temporary(p) for p in Path(folder).iterdir())


def claim_run_folder(base: str | os.PathLike, overwrite: bool = False) -> tuple[Path, str, RunLock]:
    """(the folder to write, why it was chosen, its lock, held). ``base`` itself when it is new,
    empty or ``overwrite`` is set; else the first free ``base/N`` (N >= 2), claimed with mkdir
    so that runs starting together never pick the same one."""
    base = Path(base)
    if base.exists() and not base.is_dir():
        raise RunFolderError(f"{base} exists and is not a folder")
    if overwrite or not base.exists() or not holds_run(base):
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
            if not holds_run(base):  # still empty now that it is ours
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
    stuck. Taking it also finishes a swap_in that a killed run began, and removes the
    temporaries and staging folders a killed run left behind."""

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
        if (self.folder / SWAP_NAME).is_file():
            _finish_swap(self.folder)
        for leftover in self.folder.iterdir():
            if is_temporary(leftover) and leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            elif is_temporary(leftover):
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
    "run.json",
    "config.json",
    "history.json",
    "last.safetensors",
    "model.safetensors",
    "model.tgd",
    "curves.png",
    "confusion_matrix_test.png",
    "results.json",
)  # in the order swap_in moves them: results.json last, its presence says the run finished


def stage_run(folder: str | os.PathLike) -> Path:
    """A new hidden staging folder inside ``folder`` (whose lock the caller holds) for a run
    that will replace the one there: a temporary to the lock's cleanup, never a run."""
    staging = temporary_name(Path(folder) / "staging")
    staging.mkdir()
    return staging


def swap_in(staging: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Replace the run in ``folder`` by the one in ``staging`` (both under the caller's lock).

    A journal naming the new files is written first (atomically): from then on the new run
    wins, and a swap cut short by a kill is finished by the next run that takes the lock.
    Before the journal, a kill leaves the earlier run untouched."""
    staging, folder = Path(staging), Path(folder)
    files = [name for name in RUN_FILES if (staging / name).is_file()]
    write_json(folder / SWAP_NAME, {"staging": staging.name, "files": files})
    _finish_swap(folder)


def _finish_swap(folder: Path) -> None:
    """Do what the swap journal says; safe to repeat after a kill at any point."""
    journal = json.loads((folder / SWAP_NAME).read_text())
    staging, files = folder / journal["staging"], journal["files"]
    (folder / "results.json").unlink(missing_ok=True)  # no claim of a finished run mid-swap
    for name in RUN_FILES:
        if name in files:
            if (staging / name).is_file():
                os.replace(staging / name, folder / name)
        else:
            (folder / name).unlink(missing_ok=True)  # the earlier run's, with no new one
    (folder / SWAP_NAME).unlink()
    shutil.rmtree(staging, ignore_errors=True)


def discard_staging(staging: str | os.PathLike) -> None:
    """Drop a replacing run that is not to be kept (nothing finished, or it diverged)."""
    shutil.rmtree(staging, ignore_errors=True)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomic, strict JSON: NaN or inf raise ValueError instead of writing invalid JSON."""
    return atomic_write(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
