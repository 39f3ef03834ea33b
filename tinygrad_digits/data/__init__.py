"""Data for handwritten digits as NumPy arrays: IDX and CSV files, downloads, splits, scaling,
and a person's own digit pictures turned into model input. Nothing here needs a Tensor."""

from .csv_digits import read_digits_csv
from .datasets import SOURCES, load_digits_arrays, load_mnist_arrays, mnist_search_dirs
from .download import default_cache_dir, download, file_digest
from .errors import BlankImageError, DataFormatError, DatasetNotFoundError, DownloadError
from .idx import read_idx, read_idx_images, read_idx_labels, write_idx
from .images import preprocess_digit_image
from .scaling import MEAN_STD, normalize, scale_to_unit, standardize
from .splits import stratified_split, train_val_split

__all__ = [
    "MEAN_STD",
    "SOURCES",
    "BlankImageError",
    "DataFormatError",
    "DatasetNotFoundError",
    "DownloadError",
    "default_cache_dir",
    "download",
    "file_digest",
    "load_digits_arrays",
    "load_mnist_arrays",
    "mnist_search_dirs",
    "normalize",
    "preprocess_digit_image",
    "read_digits_csv",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "scale_to_unit",
    "standardize",
    "stratified_split",
    "train_val_split",
    "write_idx",
]
