"""Array datasets on an accelerator: uploaded once, batches gathered on the device by a slice of
the epoch's permutation; the same batches as on the cpu."""

from __future__ import annotations

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, Subset, TensorDataset
from tinygrad_digits.training import fit


def _dataset(n: int = 40) -> TensorDataset:
    rng = np.random.default_rng(0)
    return TensorDataset(rng.standard_normal((n, 3)).astype(np.float32), rng.integers(0, 2, n))


def test_the_same_batches_as_on_the_cpu(accelerator) -> None:
    for shuffle, data in ((True, _dataset()), (False, Subset(_dataset(), np.arange(5, 37)))):
        on_cpu = DataLoader(data, batch_size=6, shuffle=shuffle, seed=3, device="cpu")
        there = DataLoader(data, batch_size=6, shuffle=shuffle, seed=3, device=accelerator)
        for _ in range(2):  # the second epoch uses the arrays uploaded by the first
            for (xc, yc), (xa, ya) in zip(on_cpu, there, strict=True):
                assert xa.device == accelerator and ya.device == accelerator
                np.testing.assert_array_equal(xa.cpu().numpy(), xc.numpy())
                np.testing.assert_array_equal(ya.cpu().numpy(), yc.numpy())


def test_changing_a_batch_in_place_leaves_the_dataset_alone(accelerator) -> None:
    loader = DataLoader(_dataset(), batch_size=8, device=accelerator)
    x, _ = next(iter(loader))
    x.data[...] = 0 * x.data
    x2, _ = next(iter(loader))
    np.testing.assert_array_equal(x2.cpu().numpy(), _dataset().arrays[0][:8])


def test_fit_uploads_once_per_epoch_not_per_batch(host_uploads) -> None:
    tg.manual_seed(0)
    model = nn.Linear(3, 2).to("cuda")
    loader = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=0)  # 10 batches
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, loader, optimizer=opt, epochs=1, progress=False, plots=False)  # uploads the data
    before = host_uploads()
    fit(model, loader, optimizer=opt, epochs=2, progress=False, plots=False)
    assert host_uploads() - before == 2  # one permutation per epoch


def test_a_loader_and_a_model_on_two_spellings_of_one_gpu(host_uploads, host_syncs) -> None:
    """ "cuda" and "cuda:0" are one device: fit moves no batch between them (through the host),
    so twice the batches cost no more uploads or reads."""
    model = nn.Linear(3, 2).to("cuda:0")
    opt = optim.SGD(model.parameters(), lr=0.1)
    counts = []
    for batch_size in (4, 2):  # 10 batches, then 20
        loader = DataLoader(_dataset(), batch_size, shuffle=True, seed=0, device="cuda")
        before = host_uploads(), host_syncs()
        fit(model, loader, optimizer=opt, epochs=1, progress=False, plots=False)
        counts.append((host_uploads() - before[0], host_syncs() - before[1]))
    assert counts[0] == counts[1]
    assert counts[0][0] == 3  # the two arrays and the epoch's permutation
