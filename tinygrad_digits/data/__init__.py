"""Data for handwritten digits: IDX and CSV files, downloads, splits, scaling, a person's own
digit pictures turned into model input (all NumPy), and on top of them torch-style datasets and a
DataLoader that hand out batches as Tensors."""

from .arrays import SOURCES, load_digits_arrays, load_mnist_arrays, mnist_search_dirs
from .csv_digits import read_digits_csv
from .datasets import (
    DIGIT_CLASSES,
    FASHION_CLASSES,
    MNIST,
    ArrayDataset,
    CSVDigits,
    Digits,
    FashionMNIST,
    LogicGate,
    normalize_images,
)
from .download import default_cache_dir, download, file_digest
from .exceptions import BlankImageError, DataFormatError, DatasetNotFoundError, DownloadError
from .idx import read_idx, read_idx_images, read_idx_labels, write_idx
from .images import preprocess_digit_image
from .loader import DataLoader, Dataset, Subset, TensorDataset, random_split, split_dataset
from .scaling import MEAN_STD, normalize, scale_to_unit, standardize
from .splits import stratified_split, train_val_split

__all__ = [
    "ArrayDataset",
    "BlankImageError",
    "CSVDigits",
    "DIGIT_CLASSES",
    "DataFormatError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "Digits",
    "DownloadError",
    "FASHION_CLASSES",
    "FashionMNIST",
    "LogicGate",
    "MEAN_STD",
    "MNIST",
    "SOURCES",
    "Subset",
    "TensorDataset",
    "default_cache_dir",
    "download",
    "file_digest",
    "load_digits_arrays",
    "load_mnist_arrays",
    "mnist_search_dirs",
    "normalize",
    "normalize_images",
    "preprocess_digit_image",
    "random_split",
    "read_digits_csv",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "scale_to_unit",
    "split_dataset",
    "standardize",
    "stratified_split",
    "train_val_split",
    "write_idx",
]
