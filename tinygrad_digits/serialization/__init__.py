"""save/load for state dicts, optimizer state and configs as safetensors: no pickle, no code.

    tg.save(model.state_dict(), "model.safetensors")
    model.load_state_dict(tg.load("model.safetensors"))

Old `.tgd` files (the NumPy-archive format of earlier versions) still load.
"""

from .safetensors_file import load, load_metadata, save
from .structure import ModelFileError

__all__ = ["ModelFileError", "load", "load_metadata", "save"]
