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
    from ..data import MNIST, CSVDigits, Digits, FashionMNIST, read_digits_csv

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
        rows = read_digits_csv(csv)  # once: --csv may be a pipe
        kw = {"flatten": flatten, "mean": mean, "std": std, "rows": rows}
        train_set = CSVDigits(csv, "train", **kw) if train else None
        return train_set, CSVDigits(csv, "test", **kw)
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
    check_config_against_weights(path, config, state)
    model = build_model(config, device=device, dtype=dtype)
    model.load_state_dict(state)
    model.eval()
    return model, config


def check_config_against_weights(path: Path, config: dict[str, Any], state: Any) -> None:
    """Refuse a config that does not fit the weights in its file, BEFORE the model is built:
    a 72 KB file whose config says hidden=[30000, 30000] would otherwise allocate gigabytes
    first. Also refuses weights that are not finite (a diverged run); integer or complex
    values for float parameters are refused by Module.load_state_dict."""
    import numpy as np

    if not isinstance(state, dict) or not state:
        raise ModelFileError(f"{path}: holds no weights")
    shapes, values = set(), 0
    for name, tensor in state.items():
        array = tensor.device.to_numpy(tensor.data) if hasattr(tensor, "device") else tensor
        array = np.asarray(array)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ModelFileError(
                f"{path}: weight '{name}' holds NaN or inf: the run that saved it diverged; "
                "retrain it (a lower --lr, or check the data)"
            )
        shapes.update(array.shape)
        values += array.size
    sizes = [("num_classes", config.get("num_classes"))]
    sizes += [(f"hidden[{i}]", h) for i, h in enumerate(config.get("hidden") or [])]
    sizes += [(f"channels[{i}]", c) for i, c in enumerate(config.get("channels") or [])]
    for key, size in sizes:
        if size is not None and (type(size) is not int or size not in shapes):
            raise ModelFileError(
                f"{path}: its config says {key}={size!r:.40}, but no weight in the file has "
                "that size: the config does not belong to these weights"
            )
    implied = _least_parameters(config)
    if implied is not None and implied > values:
        raise ModelFileError(
            f"{path}: its config describes a model of at least {implied:,} parameters, but the "
            f"file holds {values:,} values: the config does not belong to these weights"
        )
    classes = config.get("classes")
    if classes is not None and (
        not isinstance(classes, list) or len(classes) != config.get("num_classes", len(classes))
    ):
        raise ModelFileError(
            f"{path}: its config lists {len(classes) if isinstance(classes, list) else '?'} "
            f"class names for {config.get('num_classes')} classes"
        )


def _least_parameters(config: dict[str, Any]) -> int | None:
    """How many parameters the config's model has at least (None: a model we don't know)."""
    hidden = [int(h) for h in config.get("hidden") or []]
    classes = int(config.get("num_classes", 10))
    name = config.get("model")
    if name == "mlp":
        sizes = [int(config.get("in_features", 0)), *hidden, classes]
    elif name == "cnn":  # the convolutions, then a head whose input has at least 1×1 pixel
        channels = [1, *[int(c) for c in config.get("channels") or []]]
        k = int(config.get("kernel_size", 3))
        conv = sum(a * k * k * b for a, b in zip(channels, channels[1:]))
        sizes = [channels[-1], *hidden, classes]
        return conv + sum(a * b for a, b in zip(sizes, sizes[1:]))
    else:
        return None
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


__all__ = ["check_config_against_weights", "load_data", "load_model"]
