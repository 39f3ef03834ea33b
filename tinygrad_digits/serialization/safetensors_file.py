"""save/load in the safetensors format: tensors as tensors, everything else as JSON metadata.

A file is what `safetensors.numpy.save` writes: an 8-byte header length, a JSON header naming
each tensor's dtype, shape and byte range, then the raw bytes. Tensors are stored under their
dotted path in the saved object, so a saved state dict has PyTorch's parameter names and
`safetensors.torch.load_file` gives what `torch_model.load_state_dict` wants. The nesting and
the non-tensor values (configs, optimizer settings, history) go into the header's
`__metadata__` as JSON, with anything the caller passes as `metadata`.

Reading checks the header before anything is allocated from it: its length against a cap and
the file size, every tensor's byte range against its dtype and shape and the file, and the
nesting depth; a bad file is a one-line ModelFileError naming the file and the problem.
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any

import numpy as np

from ..backend.registry import DeviceLike, get_device
from . import legacy_npz
from .atomic import atomic_write
from .structure import MAX_DEPTH, ModelFileError, as_tensor, decode, encode

FORMAT_KEY = "tinygrad_digits"  # its value is the format version
VERSION = 2  # 1 was the .npz + manifest format (legacy_npz.py reads it)
MAX_HEADER_BYTES = 64 * 2**20  # a header this big would describe a million tensors
MAX_DIMS = 32
_ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip
_NUMPY_READS = set(_ITEMSIZE) - {"BF16"}


# --- save -------------------------------------------------------------------------------------
def save(obj: Any, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> None:
    """Write `obj` (nested dicts/lists/tuples of Tensors, NumPy arrays, numbers, strings, None)
    and optional JSON-able `metadata` (read back with load_metadata).

    The file is written to a temporary name and renamed into place, so an interrupted save
    never leaves a half-written file under `path`.
    """
    from safetensors.numpy import save as to_bytes

    arrays: dict[str, np.ndarray] = {}
    tree = encode(obj, arrays)
    header = {FORMAT_KEY: str(VERSION), "structure": json.dumps(tree)}
    if metadata is not None:
        header["metadata"] = json.dumps(metadata)
    blob = to_bytes({k: a.copy(order="C") for k, a in arrays.items()}, metadata=header)
    atomic_write(path, blob)


# --- load -------------------------------------------------------------------------------------
def load(path: str | os.PathLike[str], map_location: DeviceLike = None) -> Any:
    """Read a file written by save() (or any safetensors file: a dict of name -> Tensor, or an
    old .tgd file); tensors land on `map_location` (default "cpu")."""
    path = os.fspath(path)
    device = get_device(map_location if map_location is not None else "cpu")
    kind = _kind(path)
    if kind == "npz":
        return legacy_npz.load(path, device)
    header = _header(path)
    meta = header.pop("__metadata__", None) or {}
    arrays = _reader(path, header)
    if FORMAT_KEY not in meta:  # written by another tool: its tensors by name
        return {name: as_tensor(arrays(name), device) for name in header}
    version = meta[FORMAT_KEY]
    if not version.isdigit() or int(version) > VERSION:
        raise ModelFileError(
            f"load: '{path}' was written in format version {version!r}, newer than this "
            f"tinygrad_digits reads ({VERSION}): upgrade tinygrad_digits"
        )
    return decode(_json(meta.get("structure", "null"), path, "structure"), arrays, device, path)


def load_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The `metadata` given to save() ({} if none); a foreign safetensors file's own metadata."""
    path = os.fspath(path)
    if _kind(path) == "npz":
        return {}
    meta = _header(path).get("__metadata__") or {}
    if FORMAT_KEY not in meta:
        return dict(meta)
    found = _json(meta.get("metadata", "{}"), path, "metadata")
    if not isinstance(found, dict):
        raise ModelFileError(f"load: the metadata in '{path}' is not a JSON object")
    return found


def _kind(path: str) -> str:
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: '{path}'")
    with open(path, "rb") as f:
        start = f.read(8)
    if start.startswith(b"PK"):
        return "npz"  # a zip: the old format (or torch.save, which legacy_npz refuses)
    if start.startswith(b"\x93NUMPY"):
        raise ModelFileError(
            f"load: '{path}' is a single NumPy array (.npy), not a model file; read it with "
            "numpy.load and wrap it with tinygrad_digits.tensor"
        )
    return "safetensors"


def _header(path: str) -> dict[str, Any]:
    """The checked JSON header: every tensor entry fits the file and its own dtype and shape."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelFileError(f"load: '{path}' is too short ({size} bytes) to be a model file")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise ModelFileError(
                f"load: '{path}' is not a safetensors model file, or is truncated: its header "
                f"claims {n} bytes (the file has {size}, the cap is {MAX_HEADER_BYTES})"
            )
        raw = f.read(n)
    header = _json(raw, path, "header")
    if not isinstance(header, dict):
        raise ModelFileError(f"load: the header of '{path}' is not a JSON object")
    meta = header.get("__metadata__")
    if meta is not None and not (
        isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())
    ):
        raise ModelFileError(f"load: the __metadata__ of '{path}' is not a map of strings")
    data_size = size - 8 - n
    ranges = []
    for name, entry in header.items():
        if name != "__metadata__":
            _check_entry(path, name, entry, data_size)
            ranges.append((*entry["data_offsets"], name))
    ranges.sort()
    for (_, end, first), (start, _, second) in zip(ranges, ranges[1:]):
        if start < end:  # shared bytes would be read (and allocated) once per name
            raise ModelFileError(
                f"load: tensors '{first:.40}' and '{second:.40}' in '{path}' overlap"
            )
    return header


def _check_entry(path: str, name: str, entry: Any, data_size: int) -> None:
    bad = f"load: tensor '{name:.60}' in '{path}'"
    if not isinstance(entry, dict):
        raise ModelFileError(f"{bad} has a malformed header entry")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in _ITEMSIZE:
        raise ModelFileError(f"{bad} has an unknown dtype {dtype!r:.20}")
    if dtype not in _NUMPY_READS:
        raise ModelFileError(f"{bad} is {dtype}, which NumPy can't hold; convert it to F32")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(type(d) is int and d >= 0 for d in shape)
    ):
        raise ModelFileError(f"{bad} has an invalid shape {shape!r:.60}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise ModelFileError(
            f"{bad} has byte range {offsets!r:.60} outside the file's {data_size} data bytes "
            "(truncated or corrupt)"
        )
    if offsets[1] - offsets[0] != math.prod(shape) * _ITEMSIZE[dtype]:
        raise ModelFileError(f"{bad}: its byte range does not match its shape {shape} and dtype")


def _json(raw: bytes | str, path: str, what: str) -> Any:
    try:
        found = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = (
            f"nested too deeply (over {MAX_DEPTH} levels)"
            if isinstance(exc, RecursionError)
            else exc
        )
        raise ModelFileError(f"load: the {what} of '{path}' is not valid JSON: {why}") from None
    return found


def _reader(path: str, header: dict[str, Any]) -> Any:
    """get_array(name) for a checked header: reads just that tensor's bytes."""
    from safetensors import SafetensorError, safe_open

    try:
        handle = safe_open(path, framework="numpy")
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(f"load: can't read '{path}': {exc}") from None

    def get_array(name: str) -> np.ndarray:
        if name not in header:
            raise ModelFileError(f"load: '{path}' is missing tensor '{name:.60}' it refers to")
        try:
            return handle.get_tensor(name)
        except (SafetensorError, OSError) as exc:
            raise ModelFileError(f"load: can't read tensor '{name}' of '{path}': {exc}") from None

    return get_array
