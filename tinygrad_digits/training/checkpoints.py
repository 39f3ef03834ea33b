"""A model file that can rebuild its model: the state dict saved together with its config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..backend.registry import DeviceLike
from ..nn.module import Module
from ..serialization import load, load_metadata, save

__all__ = ["CHECKPOINT_NAME", "LEGACY_CHECKPOINT_NAME", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_NAME = "model.safetensors"
LEGACY_CHECKPOINT_NAME = "model.tgd"  # run folders of earlier versions


def save_checkpoint(
    path: str | os.PathLike, model: Module, config: dict[str, Any] | None = None
) -> Path:
    """Write ``model.state_dict()`` as safetensors with ``{"config": config}`` as its metadata.

    The tensors keep PyTorch's names, so torch loads the file directly; the config (see
    models.make_config) is what ``load_checkpoint`` + ``build_model`` need to rebuild the model.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(model.state_dict(), path, metadata={"config": dict(config or {})})
    return path


def load_checkpoint(
    path: str | os.PathLike, map_location: DeviceLike = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, state_dict) from a file written by save_checkpoint, an old ``.tgd`` checkpoint
    or a bare state dict with a config.json beside it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    obj = load(path, map_location=map_location)
    if isinstance(obj, dict) and "state_dict" in obj:  # the .tgd layout
        return dict(obj.get("config") or {}), obj["state_dict"]
    if isinstance(obj, dict):
        config = load_metadata(path).get("config")
        beside = path.with_name("config.json")
        if not isinstance(config, dict):
            config = json.loads(beside.read_text()) if beside.is_file() else {}
        return config, obj
    raise ValueError(f"{path}: expected a saved model (a dict), found {type(obj).__name__}")
