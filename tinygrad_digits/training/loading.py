"""Datasets by name and saved models by path, as the CLI, the examples and notebooks load them:
load_data and load_model."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..serialization import ModelFileError
from .checkpoints import CHECKPOINT_NAME, LEGACY_CHECKPOINT_NAME, load_checkpoint
from .models import MODELS, build_model


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
    data (or with ``normalization`` from a saved config, so evaluation matches training).
    A logic gate ("or", "and", "xor") is its own test set."""
    from ..data import MNIST, CSVDigits, Digits, FashionMNIST, LogicGate, read_digits_csv
    from ..data.arrays import LOGIC_GATES

    if dataset in LOGIC_GATES and csv is None:  # four rows: the same for training and test
        gate = LogicGate(dataset)
        return (gate if train else None), gate
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


def load_model(
    text: str | None, device: Any = None, dtype: Any = None, model_def: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """(model in eval mode, config) from a saved model file or train --out folder; with
    ``model_def`` ("file.py:factory"), the factory's model with the weights in ``text``."""
    if model_def is not None:
        return load_custom_model(model_def, text, device=device, dtype=dtype)
    if text is None:
        raise FileNotFoundError("no model file given")
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


# the sizes a config may declare; each must be a positive int (lists: hidden, channels)
_SIZE_KEYS = ("in_features", "side", "in_channels", "kernel_size", "num_classes")


def check_config_against_weights(path: Path, config: dict[str, Any], state: Any) -> None:
    """Refuse a config that does not fit the weights in its file, BEFORE the model is built:
    a 72 KB file whose config says hidden=[30000, 30000] would otherwise allocate gigabytes
    first. Every declared size must be a positive int, and the model kind's parameter count
    (ModelSpec.parameters: mlp and cnn have one) may not exceed the values in the file, so
    what gets allocated is bounded by the file's size. Also refuses weights that are not
    finite (a diverged run); integer or complex values for float parameters are refused by
    Module.load_state_dict."""
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
    sizes = [(key, config.get(key)) for key in _SIZE_KEYS if config.get(key) is not None]
    for key in ("hidden", "channels"):
        listed = config.get(key)
        if listed is not None and not isinstance(listed, list):
            raise ModelFileError(f"{path}: its config's {key} is not a list of sizes")
        sizes += [(f"{key}[{i}]", size) for i, size in enumerate(listed or [])]
    for key, size in sizes:
        if type(size) is not int or size < 1:
            raise ModelFileError(f"{path}: its config says {key}={size!r:.40}: not a size")
        if key.startswith(("num_classes", "hidden", "channels")) and size not in shapes:
            raise ModelFileError(
                f"{path}: its config says {key}={size!r:.40}, but no weight in the file has "
                "that size: the config does not belong to these weights"
            )
    spec = MODELS.get(config.get("model"))
    try:
        implied = spec.parameters(config) if spec is not None and spec.parameters else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: its config can't describe a model: {exc!r:.80}") from None
    if implied is not None and implied > values:
        raise ModelFileError(
            f"{path}: its config describes a model of {implied:,} parameters, but the file "
            f"holds {values:,} values: the config does not belong to these weights"
        )
    classes = config.get("classes")
    outputs = config.get("num_classes", len(classes or []))
    if classes is not None and (
        not isinstance(classes, list) or len(classes) != (2 if outputs == 1 else outputs)
    ):  # one output: a two-class logit (a logic gate's network)
        raise ModelFileError(
            f"{path}: its config lists {len(classes) if isinstance(classes, list) else '?'} "
            f"class names for {config.get('num_classes')} classes"
        )


def _factory(model_def: str) -> Callable[[], Any]:
    """The function named by "path/to/file.py:factory"."""
    file, sep, name = model_def.rpartition(":")
    if not sep or not file.endswith(".py") or not name.isidentifier():
        raise ValueError(
            f"--model-def {model_def!r}: expected FILE.py:FUNCTION, a Python file and the name of "
            "the function in it that returns the model, e.g. my_net.py:make_model"
        )
    path = Path(file)
    if not path.is_file():
        raise FileNotFoundError(f"--model-def: no such Python file: {file}")
    spec = importlib.util.spec_from_file_location(f"_model_def_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    factory = getattr(module, name, None)
    if not callable(factory):
        found = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
        raise ValueError(
            f"--model-def: {file} has no function {name!r} (it has: {', '.join(found) or 'none'})"
        )
    return factory


# The inputs a digits model may take, tried in turn: (side, flat).
_LAYOUTS = ((28, False), (28, True), (8, True), (8, False))


def _input_layout(model: Any, device: Any) -> dict[str, Any]:
    """side, flatten_input and num_classes of a custom model, found by running it on one blank
    image in each layout a digits model may take."""
    from ..autograd.factories import zeros
    from ..autograd.grad_mode import no_grad

    for side, flat in _LAYOUTS:
        shape = (1, side * side) if flat else (1, 1, side, side)
        try:
            with no_grad():
                out = model(zeros(*shape, device=device))
        except Exception:  # noqa: BLE001 - a layout the model does not take: try the next
            continue
        if out.ndim == 2:
            return {"side": side, "flatten_input": flat, "num_classes": int(out.shape[1])}
    raise ModelFileError(
        "the custom model takes none of the inputs a digits model takes: (N, 1, 28, 28), "
        "(N, 784), (N, 64) or (N, 1, 8, 8), giving (N, classes) scores"
    )


def load_custom_model(
    model_def: str, weights: str | None = None, device: Any = None, dtype: Any = None
) -> tuple[Any, dict[str, Any]]:
    """(model in eval mode, config) from "file.py:factory" (a function returning the model)
    and the weights saved with ``tg.save(model.state_dict(), path)`` (or train's model file).

    The config says what the CLI needs (side, flat or image input, classes), found by running
    the model once; a config saved with the weights (normalisation, class names) is kept."""
    from ..nn import Module
    from ..serialization import load, load_metadata

    model = _factory(model_def)()
    if not isinstance(model, Module):
        raise ValueError(
            f"--model-def {model_def}: the function returned {type(model).__name__}, not an "
            "nn.Module; it should build and return the model, e.g. return nn.Sequential(...)"
        )
    if device is not None:
        model.to(device)
    if dtype is not None:
        model.to(dtype)
    saved: dict[str, Any] = {}
    if weights is not None:
        path = _model_path(weights)
        model.load_state_dict(load(path, map_location=device))
        saved = load_metadata(path).get("config") or {}
    model.eval()
    layout = _input_layout(model, device)
    config = {**saved, **layout, "model": "custom", "model_def": model_def}
    config["in_features"] = config["side"] ** 2
    return model, config


__all__ = ["check_config_against_weights", "load_custom_model", "load_data", "load_model"]
