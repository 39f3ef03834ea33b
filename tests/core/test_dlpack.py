"""DLPack both ways: zero-copy with NumPy (and torch/CuPy where installed); tg.tensor copies."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg


def test_numpy_array_to_tensor_shares_memory() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tg.from_dlpack(a)
    assert t.device == "cpu" and t.shape == (2, 3) and t.dtype == np.float32
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0


def test_tensor_to_numpy_shares_memory() -> None:
    t = tg.arange(4).float()
    assert t.__dlpack_device__() == (1, 0)
    b = np.from_dlpack(t)
    assert np.shares_memory(b, t.data)
    t.add_(1)
    np.testing.assert_array_equal(b, [1, 2, 3, 4])


def test_tensor_copies_any_dlpack_array() -> None:
    class Foreign:  # a stand-in for another library's array: only the DLPack protocol
        def __init__(self, a: np.ndarray) -> None:
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    a = np.array([1.0, 2.0], dtype=np.float64)
    t = tg.tensor(Foreign(a), dtype=tg.float32)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0] and t.dtype == np.float32
    assert np.shares_memory(tg.from_dlpack(Foreign(a)).data, a)


def test_from_dlpack_refuses_what_it_cannot_hold() -> None:
    with pytest.raises(TypeError, match="no __dlpack__"):
        tg.from_dlpack([1, 2])
    with pytest.raises(TypeError, match="dtype complex"):
        tg.from_dlpack(np.ones(2, np.complex64))


def test_torch_both_ways_without_copies() -> None:
    torch = pytest.importorskip("torch")
    x = torch.arange(4, dtype=torch.float32)
    t = tg.from_dlpack(x)
    x[0] = 7.0
    assert t.tolist() == [7.0, 1.0, 2.0, 3.0]
    back = torch.from_dlpack(t)
    t.mul_(2)
    assert back.tolist() == [14.0, 2.0, 4.0, 6.0]
    copied = tg.tensor(torch.ones(2))
    assert copied.tolist() == [1.0, 1.0]


@pytest.mark.gpu
def test_cupy_both_ways_without_copies() -> None:
    cupy = pytest.importorskip("cupy")
    try:
        t = tg.ones(3, device="cuda")
    except Exception as exc:  # CuPy without a working GPU
        pytest.skip(str(exc))
    c = cupy.from_dlpack(t)
    t.add_(1)
    assert c.tolist() == [2.0, 2.0, 2.0]
    back = tg.from_dlpack(cupy.arange(3, dtype=cupy.float32))
    assert back.device == "cuda" and back.tolist() == [0.0, 1.0, 2.0]
