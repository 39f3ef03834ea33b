"""The MLP's and the CNN's state dicts have PyTorch's names, shapes and dtypes, so the equivalent
torch.nn model loads a saved file with safetensors.torch.load_file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits.training.models import build_model, make_config

MLP_LAYOUT = {
    "layers.0.weight": (128, 64),
    "layers.0.bias": (128,),
    "layers.1.weight": (64, 128),
    "layers.1.bias": (64,),
    "layers.2.weight": (10, 64),
    "layers.2.bias": (10,),
}
CNN_LAYOUT = {
    "features.0.weight": (32, 1, 3, 3),
    "features.1.weight": (32,),
    "features.1.bias": (32,),
    "features.1.running_mean": (32,),
    "features.1.running_var": (32,),
    "features.1.num_batches_tracked": (),
    "features.4.weight": (64, 32, 3, 3),
    "features.5.weight": (64,),
    "features.5.bias": (64,),
    "features.5.running_mean": (64,),
    "features.5.running_var": (64,),
    "features.5.num_batches_tracked": (),
    "classifier.layers.0.weight": (128, 3136),
    "classifier.layers.0.bias": (128,),
    "classifier.layers.1.weight": (10, 128),
    "classifier.layers.1.bias": (10,),
}


@pytest.mark.parametrize(
    "config, layout",
    [(make_config("mlp", side=8), MLP_LAYOUT), (make_config("cnn", side=28), CNN_LAYOUT)],
    ids=["mlp", "cnn"],
)
def test_saved_names_and_shapes_are_pytorchs(config, layout, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    path = tmp_path / "model.safetensors"
    tg.save(build_model(config).state_dict(), path)
    arrays = load_file(path)
    assert {k: v.shape for k, v in arrays.items()} == layout
    for k, v in arrays.items():
        assert v.dtype == (np.int64 if k.endswith("num_batches_tracked") else np.float32)


def test_torch_loads_the_mlp_and_gives_the_same_outputs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    model = build_model(make_config("mlp", side=8)).eval()
    path = tmp_path / "model.safetensors"
    tg.save(model.state_dict(), path)

    class TorchMLP(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            sizes = [64, 128, 64, 10]
            self.layers = torch.nn.ModuleList(
                torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])
            )

        def forward(self, x):
            for layer in self.layers[:-1]:
                x = torch.relu(layer(x))
            return self.layers[-1](x)

    twin = TorchMLP()
    twin.load_state_dict(load_file(path))
    x = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    with tg.no_grad():
        want = model(tg.tensor(x)).numpy()
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(), want, atol=1e-5)
