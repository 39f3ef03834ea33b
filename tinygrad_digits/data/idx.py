"""Read and write IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values in C order. Files may be gzipped; we detect that
from the gzip magic bytes, not from the name, because renamed and unpacked copies are common.
Every check names the file, what was expected and what was found, so a half-downloaded file is
reported as such instead of surfacing later as a reshape error.
"""

from __future__ import annotations

import gzip as _gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import DataFormatError

__all__ = ["read_idx", "read_idx_images", "read_idx_labels", "write_idx"]

GZIP_MAGIC = b"\x1f\x8b"
IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions
LABELS_MAGIC = 0x00000801  # uint8, 1 dimension

# IDX type code -> big-endian dtype of the payload.
_CODE_TO_DTYPE = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KIND_TO_CODE = {(dt.kind, dt.itemsize): code for code, dt in _CODE_TO_DTYPE.items()}

_FIX = "The file is probably truncated or corrupt: delete it and download it again (download=True)."


def _fail(path: Path, problem: str, fix: str = _FIX) -> DataFormatError:
    return DataFormatError(f"{path}: {problem}. {fix}")


# MNIST-style IDX files gzip about 5:1; a file that claims far more than this is refused before
# anything is inflated (a 2 MB gzip can declare, and inflate to, 4 GB)
MAX_INFLATION = 64


def _read_bytes(path: Path) -> bytes:
    """The file's IDX bytes, gunzipped when the gzip magic is present. Only as many bytes as
    the header declares are inflated, after checking that count against the file's size."""
    size = path.stat().st_size
    with open(path, "rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            return raw.read()
        raw.seek(0)
        try:
            with _gzip.GzipFile(fileobj=raw) as stream:
                return _read_declared(path, stream, size)
        except (OSError, EOFError, zlib.error) as exc:
            raise _fail(path, f"gzip data is damaged ({exc}); {size:,} compressed bytes") from None


def _read_declared(path: Path, stream: Any, compressed: int) -> bytes:
    head = stream.read(4)
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _CODE_TO_DTYPE:
        return head + stream.read(4096)  # _parse names what it is
    dims_raw = stream.read(4 * head[3])
    dims = [int.from_bytes(dims_raw[i : i + 4], "big") for i in range(0, len(dims_raw) - 3, 4)]
    declared = math.prod(dims) * _CODE_TO_DTYPE[head[2]].itemsize
    bound = MAX_INFLATION * compressed + 2**20
    if declared > bound:
        raise _fail(
            path,
            f"its header declares dimensions {tuple(dims)} ({declared:,} bytes) but the file has "
            f"only {compressed:,} compressed bytes (at most {bound:,} when inflated)",
        )
    return head + dims_raw + stream.read(declared + 1)  # one more: a longer file is reported


def _parse(path: Path, data: bytes) -> np.ndarray:
    if len(data) < 4:
        raise _fail(path, f"expected an IDX header of at least 4 bytes, found {len(data)} bytes")
    if data[:1] == b"<" or data[:5].lower() == b"<!doc":
        raise _fail(
            path,
            "expected an IDX file, found text that looks like an HTML page "
            "(an error page saved by a failed download?)",
        )
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in _CODE_TO_DTYPE:
        magic = int.from_bytes(data[:4], "big")
        raise _fail(
            path,
            f"expected an IDX magic number such as 0x{IMAGES_MAGIC:08X} (images) or "
            f"0x{LABELS_MAGIC:08X} (labels), found 0x{magic:08X}",
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _fail(
            path, f"expected a {header}-byte header for {ndim} dimensions, found {len(data)} bytes"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _CODE_TO_DTYPE[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else f"{found - expected:,} bytes too long"
        raise _fail(
            path,
            f"payload size mismatch ({what}): dimensions {dims} of {dtype.name} need "
            f"{expected:,} bytes after the header, found {found:,}",
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return array.reshape(dims).astype(dtype.newbyteorder("="), copy=True)


def _magic(path: Path, data: bytes) -> int:
    return int.from_bytes(data[:4], "big") if len(data) >= 4 else -1


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read any IDX file (gzipped or not) into a native-endian, writable array."""
    path = Path(path)
    return _parse(path, _read_bytes(path))


# magic -> (what the file is, its layout, the file to pass instead)
_EXPECTED = {
    IMAGES_MAGIC: ("an image", "uint8, 3 dimensions", "*-images-idx3-ubyte"),
    LABELS_MAGIC: ("a label", "uint8, 1 dimension", "*-labels-idx1-ubyte"),
}


def _read_expected(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read an IDX file that must carry ``magic``; a swapped image/label path is named as such."""
    path = Path(path)
    data = _read_bytes(path)
    array = _parse(path, data)
    found = _magic(path, data)
    if found != magic:
        what, layout, pattern = _EXPECTED[magic]
        swapped = (
            f" (it is {_EXPECTED[found][0]} file: are the image and label paths swapped?)"
            if found in _EXPECTED
            else ""
        )
        raise _fail(
            path,
            f"expected {what} file with magic 0x{magic:08X} ({layout}), "
            f"found 0x{found:08X} ({array.dtype}, ndim {array.ndim}){swapped}",
            f"Pass the {pattern} file of the dataset.",
        )
    return array


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX image file (magic 0x00000803) as uint8 of shape (N, rows, cols)."""
    return _read_expected(path, IMAGES_MAGIC)


def read_idx_labels(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX label file (magic 0x00000801) as int64 of shape (N,)."""
    return _read_expected(path, LABELS_MAGIC).astype(np.int64)


def write_idx(path: str | os.PathLike, array: np.ndarray, gzip: bool = False) -> Path:
    """Write ``array`` as an IDX file (gzipped when ``gzip``); used to make test fixtures."""
    path = Path(path)
    array = np.asarray(array)
    code = _KIND_TO_CODE.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        supported = ", ".join(dt.name for dt in _CODE_TO_DTYPE.values())
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code; use {supported}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: IDX allows at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    payload = np.ascontiguousarray(array, dtype=_CODE_TO_DTYPE[code]).tobytes()
    blob = header + payload
    if gzip:
        blob = _gzip.compress(blob, mtime=0)
    path.write_bytes(blob)
    return path
