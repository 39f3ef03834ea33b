"""save/load: exact round trips across devices, no pickle, clear errors for bad files."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.nn import functional as F
from tinygrad_digits.serialization import ModelFileError, load, load_metadata, save


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def trained(device: str) -> tuple[nn.Module, optim.Optimizer]:
    model = nn.MLP(4, [5], 3).to(device)
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = tg.randn(6, 4, device=device)
    y = tg.tensor([0, 1, 2, 0, 1, 2], device=device)
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model, opt


@pytest.mark.parametrize("src, dst", [("acc", "cpu"), ("cpu", "acc"), ("cpu", None)])
def test_checkpoint_round_trips_exactly_across_devices(
    tmp_path: Path, src: str, dst: str | None, accelerator: str
) -> None:
    src, dst = (accelerator if d == "acc" else d for d in (src, dst))
    model, opt = trained(src)
    config = {"hidden": [5], "lr": 0.01, "name": "mlp", "seed": None, "shape": (4, 3)}
    path = tmp_path / "ckpt.safetensors"
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "config": config}, path)
    assert path.exists() and not list(tmp_path.glob("*.tmp-*"))

    ckpt = load(path, map_location=dst)
    assert ckpt["config"] == config and isinstance(ckpt["config"]["shape"], tuple)
    want = dst or "cpu"
    for k, v in model.state_dict().items():
        got = ckpt["model"][k]
        assert got.device == want and got.dtype == v.dtype and not got.requires_grad
        np.testing.assert_array_equal(host(got), host(v))

    model2 = nn.MLP(4, [5], 3).to(want)
    model2.load_state_dict(ckpt["model"])
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for m, o in ((model, opt), (model2, opt2)):  # one more identical step on each
        o.zero_grad()
        x = tg.ones(2, 4, device=m.layers[0].weight.device)
        F.cross_entropy(m(x), tg.tensor([0, 1], device=x.device)).backward()
        o.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(host(a), host(b))


def test_values_of_every_supported_kind(tmp_path: Path) -> None:
    obj = {
        "f64": tg.tensor(np.arange(6.0).reshape(2, 3)),
        "i64": tg.tensor([1, 2, 3]),
        "bool": tg.tensor([True, False]),
        "scalar": tg.tensor(2.5),
        "param": nn.Parameter(tg.ones(2)),
        "grad": tg.ones(2, requires_grad=True),
        "array": np.arange(4, dtype=np.int32),
        "numbers": [1, 2.5, float("nan"), float("inf"), True, None, "text"],
        7: {"nested": ({"deep": tg.zeros(0, 3)},)},
    }
    path = tmp_path / "all.safetensors"
    save(obj, path)
    back = load(path)
    assert back["f64"].dtype == tg.float64 and back["i64"].dtype == tg.int64
    assert host(back["bool"]).tolist() == [True, False] and back["scalar"].shape == ()
    assert isinstance(back["param"], nn.Parameter) and back["param"].requires_grad
    assert back["grad"].requires_grad and not isinstance(back["grad"], nn.Parameter)
    assert isinstance(back["array"], np.ndarray) and back["array"].dtype == np.int32
    nums = back["numbers"]
    assert (
        nums[:2] == [1, 2.5]
        and np.isnan(nums[2])
        and nums[3:] == [float("inf"), True, None, "text"]
    )
    assert back[7]["nested"][0]["deep"].shape == (0, 3)
    on_strict = load(path, map_location="strict")
    assert on_strict["scalar"].shape == () and on_strict["f64"].device == "strict"


def test_the_file_is_safetensors_with_pytorch_names_and_json_metadata(tmp_path: Path) -> None:
    from safetensors import safe_open
    from safetensors.numpy import load_file

    model = nn.MLP(4, [5], 3)
    path = tmp_path / "m.safetensors"
    save(model.state_dict(), path, metadata={"config": {"hidden": [5]}})
    arrays = load_file(path)  # plain safetensors reads it: PyTorch's names and layouts
    assert {k: v.shape for k, v in arrays.items()} == {
        "layers.0.weight": (5, 4),
        "layers.0.bias": (5,),
        "layers.1.weight": (3, 5),
        "layers.1.bias": (3,),
    }
    with safe_open(path, framework="numpy") as f:
        assert f.metadata()["tinygrad_digits"] == "2"
    assert load_metadata(path) == {"config": {"hidden": [5]}}


def test_a_foreign_safetensors_file_loads_as_a_dict_of_tensors(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, path, metadata={"a": "b"})
    back = load(path)
    assert list(back) == ["w"] and back["w"].shape == (2, 3)
    assert load_metadata(path) == {"a": "b"}


def test_old_tgd_files_still_load(tmp_path: Path) -> None:
    tree = {
        "t": "dict",
        "items": [["w", {"t": "tensor", "key": "a0", "dtype": "<f4", "shape": [2]}]],
    }
    manifest = json.dumps({"format": "tinygrad_digits", "version": 1, "tree": tree})
    path = tmp_path / "model.tgd"
    with open(path, "wb") as f:
        np.savez(
            f,
            a0=np.ones(2, np.float32),
            __tinygrad_digits_manifest__=np.frombuffer(manifest.encode(), np.uint8),
        )
    np.testing.assert_array_equal(host(load(path)["w"]), np.ones(2, np.float32))


def _forged(path: Path, header: bytes, data: bytes = b"") -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


@pytest.mark.parametrize(
    "header, data, problem",
    [
        (b"{}", b"", "claims 18446744073709551615 bytes"),  # length field replaced below
        (
            b'{"w": {"dtype": "F32", "shape": [1000000000, 1000000000], "data_offsets": [0, 4]}}',
            b"\0" * 4,
            "does not match its shape",
        ),
        (
            b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4000000000]}}',
            b"\0" * 8,
            "outside the file",
        ),
        (b'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', b"", "invalid shape"),
        (b'{"w": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}', b"", "unknown dtype"),
        (b"[" * 100000 + b"]" * 100000, b"", "not valid JSON"),
        (
            b'{"__metadata__": {"tinygrad_digits": "2", "structure": "' + b"[" * 100000 + b'"}}',
            b"",
            "not valid JSON",
        ),
        (
            b'{"__metadata__": {"tinygrad_digits": "2", "structure": "'
            + b'{\\"t\\": \\"list\\", \\"items\\": [' * 80
            + b"]}" * 80
            + b'"}}',
            b"",
            "nests deeper",
        ),
        (b'{"__metadata__": {"tinygrad_digits": "99"}}', b"", "newer than"),
        (b'{"__metadata__": 5}', b"", "not a map of strings"),
    ],
)
def test_hostile_headers_give_one_line_errors(
    tmp_path: Path, header: bytes, data: bytes, problem: str
) -> None:
    path = _forged(tmp_path / "evil.safetensors", header, data)
    if problem.startswith("claims"):
        path.write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(ModelFileError, match=problem) as info:
        load(path)
    assert "evil.safetensors" in str(info.value) and "\n" not in str(info.value)


def test_unsupported_objects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="can't store a Linear"):
        save({"model": nn.Linear(2, 2)}, tmp_path / "x")
    with pytest.raises(TypeError, match="dict keys"):
        save({(1, 2): 3}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save(trained("cpu")[0].state_dict(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, 10, 0):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=str(path.name)):
            load(path)


def test_corrupt_bytes_inside(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save({"w": tg.ones(1000)}, path)
    data = bytearray(path.read_bytes())
    data[8:20] = b"X" * 12  # inside the header
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load(path)


def test_files_that_are_not_ours(tmp_path: Path) -> None:
    plain = tmp_path / "plain.npz"
    np.savez(plain, weights=np.ones(3))
    with pytest.raises(ModelFileError, match="not a tinygrad_digits file.*can run code"):
        load(plain)
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps({"w": [1, 2]}))
    with pytest.raises(ModelFileError, match="model.pt"):
        load(pickled)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="notes.txt"):
        load(text)
    single = tmp_path / "one.npy"
    np.save(single, np.ones(2))
    with pytest.raises(ModelFileError, match="single NumPy array"):
        load(single)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load(tmp_path / "missing.npz")


def test_structure_mismatch_is_caught(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "m.safetensors"
    save({"w": tg.ones(3)}, path)
    meta = dict(load_metadata_raw(path))
    save_file({"w": np.ones(4, np.float32)}, path, metadata=meta)  # swapped in from elsewhere
    with pytest.raises(ModelFileError, match="the structure says"):
        load(path)


def load_metadata_raw(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(path, framework="numpy") as f:
        return f.metadata()


def test_an_array_referenced_many_times_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.safetensors"
    save({"w": tg.ones(4)}, path)
    meta = dict(load_metadata_raw(path))
    node = '{"t": "tensor", "key": "w", "dtype": "<f4", "shape": [4]}'
    meta["structure"] = '{"t": "list", "items": [' + ", ".join([node] * 500) + "]}"
    from safetensors.numpy import save_file

    save_file({"w": np.ones(4, np.float32)}, path, metadata=meta)
    with pytest.raises(ModelFileError, match="refers to array 'w' more than once"):
        load(path)


@pytest.mark.parametrize(
    "structure",
    ['{"t": "dict", "items": 5}', '{"t": "value"}', '{"t": "list", "items": [[1, 2]]}'],
)
def test_malformed_structures_stay_model_file_errors(tmp_path: Path, structure: str) -> None:
    path = tmp_path / "evil.safetensors"
    save({"w": tg.ones(1)}, path)
    meta = dict(load_metadata_raw(path))
    meta["structure"] = structure
    from safetensors.numpy import save_file

    save_file({"w": np.ones(1, np.float32)}, path, metadata=meta)
    with pytest.raises(ModelFileError, match="evil.safetensors"):
        load(path)


def test_overlapping_tensors_are_refused(tmp_path: Path) -> None:
    header = (
        b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},'
        b' "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    )
    path = _forged(tmp_path / "evil.safetensors", header, b"\0" * 8)
    with pytest.raises(ModelFileError, match="overlap"):
        load(path)


def test_a_zip_bomb_tgd_is_refused_before_inflating(tmp_path: Path) -> None:
    import tracemalloc
    import zipfile

    path = tmp_path / "bomb.tgd"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
        header["shape"] = (200 * 2**20,)  # 800 MB of zeros, deflated to under 1 MB
        with z.open("w.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            block = bytes(2**20)
            for _ in range(800):
                f.write(block)
    assert path.stat().st_size < 2 * 2**20
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="zip bomb"):
        load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20
