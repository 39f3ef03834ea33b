"""Handwritten digits (and Fashion-MNIST) as plain NumPy arrays.

``load_digits_arrays`` gives sklearn's bundled 8×8 digits (no download). ``load_mnist_arrays`` finds
the four standard IDX files of MNIST or Fashion-MNIST in the usual places (or downloads them from
checksummed mirrors when asked) and checks they agree with each other.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .download import default_cache_dir
from .download import download as download_file
from .exceptions import DataFormatError, DatasetNotFoundError
from .idx import read_idx_images, read_idx_labels

__all__ = [
    "LOGIC_GATES",
    "logic_gate_arrays",
    "SOURCES",
    "load_digits_arrays",
    "load_mnist_arrays",
    "mnist_search_dirs",
    "upsample_digits",
]

# Where each dataset can be downloaded (https first), and the checksums of its .gz files: the
# MD5 its publishers and torchvision list; for MNIST the SHA-256 of the .gz files every mirror
# serves (as published by many independent projects that download them, TensorFlow's mirror
# among them), for Fashion-MNIST the SHA-256 of each file's gunzipped content, computed from the
# copies Debian ships (the same IDX bytes, recompressed, so that check holds for any mirror's
# gzip). A file must pass both checks.
MAX_FILE_BYTES = 64 * 2**20  # the largest file (Fashion-MNIST's training images) is 26 MB
SOURCES: dict[str, dict] = {
    "mnist": {
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        "checksums": {
            "train-images-idx3-ubyte.gz": {
                "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "sha256": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            },
            "train-labels-idx1-ubyte.gz": {
                "md5": "d53e105ee54ea40749a09fcbcd1e9432",
                "sha256": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            },
            "t10k-images-idx3-ubyte.gz": {
                "md5": "9fb629c4189551a2d022fa330f9573f3",
                "sha256": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            },
            "t10k-labels-idx1-ubyte.gz": {
                "md5": "ec29112dd5afa0611ce80d1b7f02629c",
                "sha256": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            },
        },
    },
    "fashion-mnist": {
        "mirrors": [
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ],
        "checksums": {
            "train-images-idx3-ubyte.gz": {
                "md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "gunzipped_sha256": (
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
                ),
            },
            "train-labels-idx1-ubyte.gz": {
                "md5": "25c81989df183df01b3e8a0aad5dffbe",
                "gunzipped_sha256": (
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
                ),
            },
            "t10k-images-idx3-ubyte.gz": {
                "md5": "bef4ecab320f06d8554ea6380940ec79",
                "gunzipped_sha256": (
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
                ),
            },
            "t10k-labels-idx1-ubyte.gz": {
                "md5": "bb300cfdad3c16e7a12a480ee83cd310",
                "gunzipped_sha256": (
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
                ),
            },
        },
    },
}
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_NICE_NAME = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_REPO_ROOT = Path(__file__).resolve().parents[2]


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8×8 digits: X float32 (1797, 64) with values 0–16, y int64 (1797,)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            "The 8×8 digits ship with scikit-learn, which is not installed. "
            'Install it with: pip install "tinygrad-digits[digits]"'
        ) from exc
    bunch = load_digits()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)


LOGIC_GATES = {"or": (0, 1, 1, 1), "and": (0, 0, 0, 1), "xor": (0, 1, 1, 0)}


def logic_gate_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The four rows of a two-input logic gate (or, and, xor) and its outputs: the first
    network many learners build."""
    if name not in LOGIC_GATES:
        raise ValueError(f"unknown gate {name!r}; choose one of: {', '.join(LOGIC_GATES)}")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    return x, np.array(LOGIC_GATES[name], np.int64)


def upsample_digits(x: np.ndarray) -> np.ndarray:
    """(N, 64) 8×8 digits -> (N, 784): each pixel becomes a 4×4 block, cropped to 28×28, so the
    bundled digits can stand in for MNIST-sized inputs."""
    images = x.reshape(-1, 8, 8)
    big = np.kron(images, np.ones((4, 4), dtype=x.dtype))[:, 2:30, 2:30]
    return np.ascontiguousarray(big.reshape(-1, 28 * 28))


def _canonical_kind(kind: str) -> str:
    name = kind.lower().replace("_", "-")
    name = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}.get(name, name)
    if name not in SOURCES:
        raise ValueError(f"kind must be one of {sorted(SOURCES)}, got {kind!r}")
    return name


def mnist_search_dirs(kind: str = "mnist", root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for the IDX files, in order; with ``root`` only root and its subfolders."""
    kind = _canonical_kind(kind)
    bases = [Path(root).expanduser()] if root is not None else []
    if root is None:
        if os.environ.get("TINYGRAD_DIGITS_DATA"):
            bases.append(Path(os.environ["TINYGRAD_DIGITS_DATA"]).expanduser())
        bases.append(default_cache_dir())
    dirs = []
    for base in bases:  # the folder itself, a per-dataset subfolder, torchvision's layout
        dirs += [base, base / kind, base / _TORCHVISION_FOLDER[kind] / "raw"]
    if root is None:  # shared copies: beside this checkout or the working folder, and Debian's
        shared = [_REPO_ROOT.parent, Path.cwd().parent]
        dirs += [base / "shared" / "data" / kind for base in shared]
        dirs.append(Path("/usr/share/datasets") / kind)
    return list(dict.fromkeys(dirs))


def _split_names(train: bool) -> tuple[str, str]:
    prefix = "train" if train else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _not_found(kind: str, train: bool, dirs: list[Path]) -> DatasetNotFoundError:
    images, labels = _split_names(train)
    split = "training" if train else "test"
    looked = "\n".join(f"  - {d}" for d in dirs)
    return DatasetNotFoundError(
        f"{_NICE_NAME[kind]} {split} files ({images}[.gz], {labels}[.gz]) not found. "
        f"Looked in:\n{looked}\n"
        f"Get them with load_mnist_arrays(kind={kind!r}, download=True) (--download on the "
        f"command line), or download them by "
        f"hand and pass their folder as root=FOLDER (--data-dir FOLDER on the command line, "
        f"or set TINYGRAD_DIGITS_DATA)."
    )


def _fetch_split(kind: str, train: bool, folder: Path, progress: bool) -> tuple[Path, Path]:
    source = SOURCES[kind]
    paths = []
    for stem in _split_names(train):
        found = _find(folder, stem)
        if found is None:
            name = stem + ".gz"
            checksum = source["checksums"][name]
            found = download_file(
                name,
                source["mirrors"],
                cache_dir=folder,
                progress=progress,
                max_bytes=MAX_FILE_BYTES,
                **checksum,
            )
        paths.append(found)
    return paths[0], paths[1]


def load_mnist_arrays(
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool = False,
    kind: str = "mnist",
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST as (images uint8 (N, 28, 28), labels int64 (N,)).

    Looks in ``mnist_search_dirs(kind, root)``. With ``download=True`` missing files are fetched
    into ``root`` (or the cache folder) from checksummed mirrors; files found locally are used as
    they are, after the IDX format checks.
    """
    kind = _canonical_kind(kind)
    dirs = mnist_search_dirs(kind, root)
    image_stem, label_stem = _split_names(train)
    for folder in dirs:
        image_path, label_path = _find(folder, image_stem), _find(folder, label_stem)
        if image_path and label_path:
            break
    else:
        if not download:
            raise _not_found(kind, train, dirs)
        target = Path(root).expanduser() if root is not None else default_cache_dir() / kind
        target.mkdir(parents=True, exist_ok=True)
        image_path, label_path = _fetch_split(kind, train, target, progress)
    images, labels = read_idx_images(image_path), read_idx_labels(label_path)
    _check_pair(image_path, images, label_path, labels)
    return images, labels


def _check_pair(image_path: Path, images: np.ndarray, label_path: Path, labels: np.ndarray) -> None:
    """Images and labels must describe the same N 28×28 examples with labels 0–9."""
    fix = "Delete both files and download them again (download=True)."
    if images.shape[1:] != (28, 28):
        raise DataFormatError(
            f"{image_path}: expected 28×28 images, found {images.shape[1]}×{images.shape[2]}. {fix}"
        )
    if len(images) != len(labels):
        raise DataFormatError(
            f"{image_path} holds {len(images):,} images but {label_path} holds {len(labels):,} "
            f"labels; expected the same count (are they from different splits?). {fix}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataFormatError(
            f"{label_path}: expected labels 0–9, found {labels.min()}–{labels.max()}. {fix}"
        )
