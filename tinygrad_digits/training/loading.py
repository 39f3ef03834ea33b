"""Datasets by name and saved models by path, as the CLI, the examples and notebooks load them:
load_data and load_model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..serialization import ModelFileError
from .checkpoints import CHECKPOINT_NAME, LEGACY_CHECKPOINT_NAME, load_checkpoint
from .models import build_model


def load_data(
    dataset: str | None,
    *,
    flatten: bool,
    csv: str | None = None,
    test_csv: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    train: bool = True,
    normalization: dict[str, float] | None = None,
) -> tuple[Any, Any]:
    """(training set or None, test set) as torch-style datasets, normalised from the training
    data (or with ``normalization`` from a saved config, so evaluation matches training)."""
    from ..data import MNIST, CSVDigits, Digits, FashionMNIST

    stats = normalization or {}
    mean, std = stats.get("mean"), stats.get("std")
    if csv is not None:
        if test_csv is not None:
            train_set = (
                CSVDigits(csv, "all", flatten=flatten, mean=mean, std=std) if train else None
            )
            ref = train_set if train_set is not None else None
            m = ref.mean if ref is not None else mean
            s = ref.std if ref is not None else std
            test_set = CSVDigits(test_csv, "all", flatten=flatten, mean=m, std=s)
            return train_set, test_set
        train_set = CSVDigits(csv, "train", flatten=flatten, mean=mean, std=std) if train else None
        return train_set, CSVDigits(csv, "test", flatten=flatten, mean=mean, std=std)
    if dataset in (None, "digits"):
        train_set = Digits(True, flatten=flatten, mean=mean, std=std) if train else None
        return train_set, Digits(False, flatten=flatten, mean=mean, std=std)
    cls = MNIST if dataset == "mnist" else FashionMNIST
    kw = {"flatten": flatten, "mean": mean, "std": std, "download": download}
    train_set = cls(data_dir, train=True, **kw) if train else None
    return train_set, cls(data_dir, train=False, **kw)


def _model_path(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        legacy = path / LEGACY_CHECKPOINT_NAME
        path = path / CHECKPOINT_NAME
        if not path.is_file() and legacy.is_file():
            path = legacy
        if not path.is_file():
            raise FileNotFoundError(
                f"{text}: folder has no {CHECKPOINT_NAME} (is it a train --out folder?)"
            )
    elif not path.exists():
        raise FileNotFoundError(f"{text}: no such model file or folder")
    return path


def load_model(text: str, device: Any = None, dtype: Any = None) -> tuple[Any, dict[str, Any]]:
    """(model in eval mode, config) from a saved model file or train --out folder."""
    path = _model_path(text)
    config, state = load_checkpoint(path, map_location=device)
    if not config.get("model") or not config.get("in_features"):
        raise ModelFileError(
            f"{path}: the model file carries no config (model, in_features, ...) and there is "
            "no config.json beside it; save models with train.save_checkpoint"
        )
    model = build_model(config, device=device, dtype=dtype)
    model.load_state_dict(state)
    model.eval()
    return model, config


__all__ = ["load_data", "load_model"]
