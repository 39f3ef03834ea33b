"""Read-only support for format 1: the NumPy .npz archive + JSON manifest of `.tgd` files.

Kept so that models trained before the switch to safetensors still load; convert one with
`tg.save(tg.load("model.tgd"), "model.safetensors")`. Arrays load with allow_pickle=False.
"""

from __future__ import annotations

import json
import zipfile
from typing import Any

import numpy as np

from .structure import ModelFileError, decode

_MANIFEST = "__tinygrad_digits_manifest__"


def load(path: str, device: Any) -> Any:
    with open(path, "rb") as f:  # our own handle: closed even when NumPy gives up half-way
        try:
            archive = np.load(f, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelFileError(f"load: can't read '{path}': {_why(exc)}") from None
        with archive:
            _check_sizes(archive, path)
            if _MANIFEST not in archive.files:
                raise ModelFileError(
                    f"load: '{path}' is a zip but not a tinygrad_digits file (files from "
                    "torch.save or pickle are not read, because loading them can run code)"
                )
            try:
                tree = _tree(archive[_MANIFEST], path)

                def get_array(key: str) -> np.ndarray:
                    if key not in archive.files:
                        raise ModelFileError(f"load: '{path}' is missing array '{key}'")
                    return archive[key]

                return decode(tree, get_array, device, path)
            except ModelFileError:
                raise
            except (OSError, zipfile.BadZipFile, EOFError, ValueError, KeyError) as exc:
                raise ModelFileError(
                    f"load: '{path}' is corrupt or truncated: {_why(exc)}"
                ) from None


MAX_INFLATION = 16  # weights barely compress; a member 1000x its stored size is a zip bomb


def _check_sizes(archive: Any, path: str) -> None:
    """Refuse members whose declared sizes add up to far more than the file holds, before
    any is inflated (a 2 MB file can declare a 2 GB array)."""
    import os

    declared = sum(info.file_size for info in archive.zip.infolist())
    bound = MAX_INFLATION * os.path.getsize(path) + 2**20
    if declared > bound:
        raise ModelFileError(
            f"load: '{path}' declares {declared:,} bytes of arrays in a "
            f"{os.path.getsize(path):,}-byte file: refused (a zip bomb?)"
        )


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _tree(raw: np.ndarray, path: str) -> Any:
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"load: the manifest in '{path}' is damaged: {_why(exc)}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "tinygrad_digits":
        raise ModelFileError(f"load: '{path}' has no valid tinygrad_digits manifest")
    if manifest.get("version") != 1 or "tree" not in manifest:
        raise ModelFileError(f"load: '{path}' has an unknown .npz format version")
    return manifest["tree"]
