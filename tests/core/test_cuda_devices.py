"""One Device per GPU, under any spelling, owning its arrays and its random stream; cuda:1
works like cuda:0. On machines without a GPU these run on the CuPy stand-in, which has two
devices, refuses ops on arrays of a device that is not current, and counts host syncs."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.backend import registry
from tinygrad_digits.nn import functional as F


@pytest.fixture
def cupy(cupy_module):
    return cupy_module


@pytest.fixture
def gpu1(cupy) -> str:
    if cupy.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two GPUs (the CuPy stand-in has two)")
    return "cuda:1"


def test_cuda_and_cuda0_are_one_device(cupy) -> None:
    dev = tg.get_device("cuda")
    assert dev is tg.get_device("cuda:0") and dev is tg.get_device(" CUDA:0 ")
    assert str(dev) == "cuda:0" and dev == "cuda" and dev == "cuda:0" and dev != "cuda:1"
    model = nn.Linear(3, 2).to("cuda")
    out = model(tg.randn(4, 3).cuda())
    assert out.device is dev


def test_comparing_with_a_name_creates_no_device(monkeypatch) -> None:
    monkeypatch.setattr(registry, "_devices", {})
    cpu = tg.get_device("cpu")
    assert cpu != "cuda:1" and cpu != "cuda" and cpu != "nonsense" and cpu == "cpu"
    assert set(registry._devices) == {"cpu"}


def test_comparing_a_gpu_with_a_name_creates_no_device(cupy, monkeypatch) -> None:
    monkeypatch.setattr(registry, "_devices", {})
    t = tg.zeros(2, device="cuda")
    assert t.device == "cuda:0" and t.device == "CUDA" and t.device != "cuda:1"
    assert t.device != "strict" and t.device != "cpu"
    assert {d.name for d in registry._devices.values()} == {"cuda:0"}


def test_a_cupy_array_lands_on_its_own_device(cupy, gpu1) -> None:
    assert tg.tensor(cupy.arange(3)).device is tg.get_device("cuda")
    with cupy.cuda.Device(1):
        on_one = cupy.arange(3)
    t = tg.tensor(on_one)
    assert t.device is tg.get_device("cuda:1") and t.data is on_one


def test_the_random_stream_continues_under_another_spelling(cupy) -> None:
    tg.manual_seed(5)
    a = tg.randn(4, device="cuda").cpu().numpy()
    b = tg.randn(4, device="cuda:0").cpu().numpy()
    assert not np.array_equal(a, b)
    tg.manual_seed(5)
    np.testing.assert_array_equal(tg.randn(4, device="cuda:0").cpu().numpy(), a)


def test_each_gpu_has_its_own_seeded_stream(gpu1) -> None:
    tg.manual_seed(3)
    a = tg.rand(5, device="cuda:0").cpu().numpy()
    b = tg.rand(5, device="cuda:1").cpu().numpy()
    np.testing.assert_array_equal(a, b)  # both seeded by manual_seed(3)


def test_dropout_and_init_draw_on_the_device(host_syncs, host_uploads) -> None:
    x = tg.ones(64, 32, device="cuda", requires_grad=True)
    before = host_syncs(), host_uploads()
    layer = nn.Linear(32, 16, device="cuda")
    F.dropout(layer(x), 0.5, training=True).sum().backward()
    assert (host_syncs(), host_uploads()) == before  # nothing drawn on the host


@pytest.mark.parametrize(
    "make",
    [
        lambda d: tg.zeros(2, 3, device=d),
        lambda d: tg.arange(5, device=d),
        lambda d: tg.full((2,), 7.0, device=d),
        lambda d: tg.eye(3, device=d),
        lambda d: tg.linspace(0, 1, 4, device=d),
        lambda d: tg.randn(3, device=d),
        lambda d: tg.randint(0, 5, (3,), device=d),
        lambda d: tg.zeros_like(tg.ones(3, device=d)),
    ],
)
def test_creation_functions_put_arrays_on_the_named_gpu(gpu1, make) -> None:
    t = make(gpu1)
    assert t.device == gpu1 and t.data.device.id == 1


@pytest.mark.parametrize(
    "method", ["argmin", "argmax", "sign", "floor", "ceil", "trunc", "round", "log1p", "cumsum"]
)
def test_tensor_methods_run_on_the_second_gpu(gpu1, method) -> None:
    x = tg.tensor([0.5, -0.5, 2.5], device=gpu1)
    out = getattr(x, method)(0) if method == "cumsum" else getattr(x, method)()
    want = getattr(np, method)(np.array([0.5, -0.5, 2.5], np.float32))
    assert out.device == gpu1 and out.data.device.id == 1
    np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-6)


def test_training_on_the_second_gpu(gpu1) -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(4 * 4 * 4, 3),
    ).to(gpu1)
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = tg.randn(8, 1, 8, 8, device=gpu1)
    y = tg.tensor([0, 1, 2, 0, 1, 2, 0, 1], device=gpu1)

    def step() -> float:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        return F.cross_entropy(model(x), y).item()

    losses = [step() for _ in range(5)]
    assert losses[-1] < losses[0]
    assert all(a.data.device.id == 1 for st in opt.state.values() for a in _arrays(st))


def test_tensor_methods_and_fit_on_the_second_gpu(gpu1) -> None:
    from tinygrad_digits.data import DataLoader, TensorDataset
    from tinygrad_digits.training.loop import fit

    x = tg.randn(4, 3, device=gpu1)
    x.add_(1.0).mul_(2.0).clamp_(-1.0, 1.0)
    assert x.argmax().item() >= 0 and x.sign().any().item() and x.data.device.id == 1
    model = nn.MLP(6, [5], 3).to(gpu1)
    model(tg.randn(2, 6, device=gpu1)).sum().backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    rng = np.random.default_rng(0)
    data = TensorDataset(rng.standard_normal((32, 6)).astype(np.float32), rng.integers(0, 3, 32))
    history = fit(
        model,
        DataLoader(data, 8, device=gpu1),
        DataLoader(data, 16, device=gpu1),
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        epochs=1,
        device=gpu1,
        progress=False,
        log=None,
    )
    assert np.isfinite(history.train_loss).all()


def _arrays(state: dict) -> list:
    return [tg.tensor(v) for v in state.values() if type(v).__module__.startswith("cupy")]


def test_moving_between_gpus_skips_the_host(host_syncs, gpu1) -> None:
    x = tg.randn(3, 4, device="cuda:0", requires_grad=True)
    before = host_syncs()
    y = x.to(gpu1)
    (y * 2).sum().backward()
    assert y.device == gpu1 and y.data.device.id == 1
    assert x.grad.device == "cuda:0" and x.grad.data.device.id == 0
    assert host_syncs() == before


def test_boolean_mask_indexing_syncs_as_cupy_does(cupy, host_syncs) -> None:
    """CuPy reads the count of True of every boolean index to the host, a 0-d or Python bool one
    too, except an empty mask (its count is known): the stand-in counts the same syncs."""
    x, empty = cupy.arange(6.0).reshape(2, 3), cupy.zeros((0, 3))
    cases = [
        (x, cupy.asarray(np.array([True, False])), 1),
        (x, (1, cupy.asarray(np.array([True, False, True]))), 1),
        (x, cupy.asarray(np.array(True)), 1),
        (x, True, 1),
        (empty, cupy.asarray(np.zeros(0, bool)), 0),
        (x, cupy.asarray(np.array([1])), 0),
    ]
    for array, key, syncs in cases:
        for write in (False, True):
            before = host_syncs()
            if write:
                array[key] = 1.0
            else:
                array[key]
            assert host_syncs() - before == syncs, (key, write)
