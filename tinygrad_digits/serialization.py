"""save/load for state dicts, optimizer state and configs, in a format that cannot run code.

A file is a NumPy .npz archive (a zip of .npy arrays, loaded with allow_pickle=False) plus one
JSON manifest inside it that records the structure (dicts, lists, numbers, strings), each
tensor's dtype and shape, and a format tag. Tensors are copied to the host explicitly on save,
whatever their device, and placed on `map_location` (default "cpu") on load.
"""

from __future__ import annotations

import json
import math
import os
import uuid
import zipfile
from typing import Any

import numpy as np

from .autograd.tensor import Tensor
from .backend.registry import DeviceLike, get_device

FORMAT = "tinygrad_digits"
VERSION = 1
_MANIFEST = "__tinygrad_digits_manifest__"


class ModelFileError(ValueError):
    """load() got a file that is missing pieces, corrupt, truncated or not from save()."""


# --- save ---------------------------------------------------------------------------------------
def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write `obj` (nested dicts/lists/tuples of Tensors, NumPy arrays, numbers, strings, None).

    The file is written to a temporary name and renamed into place, so an interrupted save
    never leaves a half-written file under `path`.
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, arrays, "obj")
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    arrays[_MANIFEST] = np.frombuffer(manifest.encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with open(tmp, "xb") as f:  # a file object keeps np.savez from appending ".npz"
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _encode(obj: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(obj, Tensor):
        from .nn.parameter import Parameter

        host = np.asarray(obj.device.to_numpy(obj.data))
        key = f"a{len(arrays)}"
        arrays[key] = host
        node = {"t": "tensor", "key": key, "dtype": host.dtype.str, "shape": list(host.shape)}
        if obj.requires_grad:
            node["requires_grad"] = True
        if isinstance(obj, Parameter):
            node["parameter"] = True
        return node
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"save: can't store a NumPy array of dtype {obj.dtype} at {where}")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"t": "ndarray", "key": key, "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if obj is None or isinstance(obj, bool | str):
        return {"t": "value", "v": obj}
    if isinstance(obj, int | np.integer):
        return {"t": "value", "v": int(obj)}
    if isinstance(obj, float | np.floating):
        v = float(obj)
        if math.isfinite(v):
            return {"t": "value", "v": v}
        return {"t": "float", "v": repr(v)}  # 'nan', 'inf', '-inf': strict JSON has none
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise TypeError(
                    f"save: dict keys must be strings or ints, got {type(k).__name__} at {where}"
                )
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"t": "dict", "items": items}
    if isinstance(obj, list | tuple):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {
            "t": kind,
            "items": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)],
        }
    raise TypeError(
        f"save: can't store a {type(obj).__name__} at {where}; save() takes nested dicts/lists "
        "of tensors, arrays, numbers and strings (e.g. model.state_dict(), "
        "optimizer.state_dict()); nothing is pickled"
    )


# --- load ---------------------------------------------------------------------------------------
def load(path: str | os.PathLike[str], map_location: DeviceLike = None) -> Any:
    """Read a file written by save(); tensors land on `map_location` (default "cpu")."""
    path = os.fspath(path)
    device = get_device(map_location if map_location is not None else "cpu")
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: '{path}'")
    with open(path, "rb") as f:  # our own handle: closed even when NumPy gives up half-way
        try:
            archive = np.load(f, allow_pickle=False)
        except ValueError as exc:  # not a zip or .npy: NumPy would need pickle to read it
            raise ModelFileError(
                f"load: '{path}' is not a tinygrad_digits file (not an .npz archive; files from "
                "torch.save or pickle are not read, because loading them can run code)"
            ) from exc
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelFileError(f"load: can't read '{path}': {_why(exc)}") from exc
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ModelFileError(
                f"load: '{path}' is a single NumPy array (.npy), not a tinygrad_digits file; "
                "read it with numpy.load and wrap it with tinygrad_digits.tensor"
            )
        with archive:
            try:
                if _MANIFEST not in archive.files:
                    raise ModelFileError(
                        f"load: '{path}' is an .npz archive but not a tinygrad_digits file (no "
                        f"manifest; it holds {_names(archive.files)}); read it with numpy.load"
                    )
                manifest = _manifest(archive[_MANIFEST], path)
                return _decode(manifest["tree"], archive, device, path)
            except ModelFileError:
                raise
            except (OSError, zipfile.BadZipFile, EOFError, ValueError, KeyError) as exc:
                raise ModelFileError(
                    f"load: '{path}' is corrupt or truncated: {_why(exc)}. Save it again from "
                    "the model if you can."
                ) from exc


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _names(files: list[str]) -> str:
    shown = ", ".join(files[:5])
    return shown + (f" and {len(files) - 5} more" if len(files) > 5 else "") if files else "nothing"


def _manifest(raw: np.ndarray, path: str) -> dict[str, Any]:
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"load: the manifest in '{path}' is damaged: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "tree" not in manifest:
        raise ModelFileError(f"load: '{path}' has no valid tinygrad_digits manifest")
    version = manifest.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ModelFileError(
            f"load: '{path}' was written in format version {version}, newer than this "
            f"tinygrad_digits reads ({VERSION}): upgrade tinygrad_digits"
        )
    return manifest


def _decode(node: Any, archive: Any, device: Any, path: str) -> Any:
    if not isinstance(node, dict) or "t" not in node:
        raise ModelFileError(f"load: the manifest in '{path}' has a malformed entry: {node!r:.80}")
    kind = node["t"]
    if kind == "value":
        return node["v"]
    if kind == "float":
        return float(node["v"])
    if kind == "dict":
        return {k: _decode(v, archive, device, path) for k, v in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v, archive, device, path) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind in ("tensor", "ndarray"):
        key = node["key"]
        if key not in archive.files:
            raise ModelFileError(f"load: '{path}' is missing array '{key}' named in its manifest")
        array = archive[key]
        want_dtype, want_shape = np.dtype(node["dtype"]), tuple(node["shape"])
        if array.dtype != want_dtype or array.shape != want_shape:
            raise ModelFileError(
                f"load: array '{key}' in '{path}' has dtype {array.dtype} and shape "
                f"{array.shape}, but the manifest says {want_dtype} and {want_shape}: the file "
                "was modified or mixed with another"
            )
        if kind == "ndarray":
            return array
        t = Tensor._make(device.from_numpy(array), device, False)
        if node.get("parameter"):
            from .nn.parameter import Parameter

            return Parameter(t, requires_grad=bool(node.get("requires_grad")))
        if node.get("requires_grad"):
            t.requires_grad_(True)
        return t
    raise ModelFileError(f"load: the manifest in '{path}' has an unknown entry type {kind!r}")


__all__ = ["ModelFileError", "load", "save"]
