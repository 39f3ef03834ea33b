"""Advanced assignment with a repeated index: the last write wins on every device (CuPy's
writes race, and NumPy does not promise an order), with no host sync."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg


def test_the_last_write_to_an_element_wins(device) -> None:
    x = tg.zeros(5, device=device)
    idx = tg.tensor([1, 3, 1, 1, -2], device=device)  # -2 is element 3
    x[idx] = tg.tensor([10.0, 20.0, 30.0, 40.0, 50.0], device=device)
    assert x.cpu().numpy().tolist() == [0.0, 40.0, 0.0, 50.0, 0.0]


def test_rows_of_a_matrix_and_a_list_index(device) -> None:
    x = tg.zeros((3, 2), device=device)
    x[[2, 0, 2]] = tg.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], device=device)
    x[[0, 0], :] = tg.tensor([[7.0, 8.0], [9.0, 6.0]], device=device)
    assert x.cpu().numpy().tolist() == [[9.0, 6.0], [0.0, 0.0], [3.0, 3.0]]


def test_pairs_of_index_arrays(device) -> None:
    x = tg.zeros((2, 3), device=device)
    rows, cols = tg.tensor([0, 1, 0], device=device), tg.tensor([2, 1, 2], device=device)
    x[rows, cols] = tg.tensor([1.0, 2.0, 3.0], device=device)
    assert x.cpu().numpy().tolist() == [[0.0, 0.0, 3.0], [0.0, 2.0, 0.0]]


def test_no_host_sync_on_the_cuda_stand_in(host_syncs, cupy_module) -> None:
    if not getattr(cupy_module, "STANDIN", False):
        pytest.skip("counted on the CuPy stand-in")
    x = tg.zeros(4, device="cuda")
    idx = tg.tensor([0, 0, 2], device="cuda")
    values = tg.tensor([1.0, 2.0, 3.0], device="cuda")
    before = host_syncs()
    x[idx] = values
    assert host_syncs() == before
    np.testing.assert_array_equal(x.cpu().numpy(), [2.0, 0.0, 3.0, 0.0])
