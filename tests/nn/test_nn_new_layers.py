"""The layers users expect beside the ops: Embedding, LayerNorm, GroupNorm, MultiheadAttention,
Upsample and the activations, with torch's parameter names, shapes, defaults and numbers."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def test_parameter_names_and_shapes_are_torchs() -> None:
    shapes = {
        nn.Embedding(10, 4): {"weight": (10, 4)},
        nn.LayerNorm((3, 4)): {"weight": (3, 4), "bias": (3, 4)},
        nn.GroupNorm(2, 6): {"weight": (6,), "bias": (6,)},
        nn.MultiheadAttention(8, 2): {
            "in_proj_weight": (24, 8),
            "in_proj_bias": (24,),
            "out_proj.weight": (8, 8),
            "out_proj.bias": (8,),
        },
    }
    for module, expected in shapes.items():
        assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == expected
    assert list(nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient(device: str) -> None:
    emb = nn.Embedding(5, 3, padding_idx=1).to(device)
    assert host(emb.weight)[1].tolist() == [0.0, 0.0, 0.0]
    out = emb(tg.tensor([[1, 2], [1, 4]], device=device))
    assert out.shape == (2, 2, 3)
    (out * 2).sum().backward()
    grad = host(emb.weight.grad)
    assert grad[1].tolist() == [0.0] * 3 and grad[2].tolist() == [2.0] * 3
    assert grad[0].tolist() == [0.0] * 3


def test_layer_norm_and_group_norm_standardise(device: str) -> None:
    x = tg.tensor(np.random.default_rng(0).standard_normal((4, 6, 5)), device=device)
    y = host(nn.LayerNorm(5, device=device, dtype=tg.float64)(x))
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-4)
    g = host(nn.GroupNorm(3, 6, device=device, dtype=tg.float64)(x)).reshape(4, 3, -1)
    np.testing.assert_allclose(g.mean(-1), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)


@needs_torch
def test_layers_match_torch() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 4, 4)).astype(np.float32)
    pairs = [
        (nn.LayerNorm(4), torch.nn.LayerNorm(4)),
        (nn.GroupNorm(3, 6), torch.nn.GroupNorm(3, 6)),
        (nn.SiLU(), torch.nn.SiLU()),
        (nn.ELU(0.5), torch.nn.ELU(0.5)),
        (nn.Mish(), torch.nn.Mish()),
        (nn.ReLU6(), torch.nn.ReLU6()),
        (nn.Hardtanh(-0.3, 0.4), torch.nn.Hardtanh(-0.3, 0.4)),
        (nn.Hardswish(), torch.nn.Hardswish()),
        (nn.Hardsigmoid(), torch.nn.Hardsigmoid()),
        (nn.LogSigmoid(), torch.nn.LogSigmoid()),
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
        (nn.AdaptiveAvgPool2d((3, None)), torch.nn.AdaptiveAvgPool2d((3, None))),
        (
            nn.Upsample(size=(5, 7), mode="bilinear"),
            torch.nn.Upsample(size=(5, 7), mode="bilinear"),
        ),
    ]
    for ours, theirs in pairs:
        got = host(ours(tg.tensor(x * 4)))
        want = theirs(torch.tensor(x * 4)).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=repr(ours))


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(batch_first: bool) -> None:
    rng = np.random.default_rng(2)
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs.load_state_dict({k: torch.tensor(host(v)) for k, v in ours.state_dict().items()})
    q, kv = rng.standard_normal((3, 5, 8)), rng.standard_normal((3, 4, 8))
    q, kv = q.astype(np.float32), kv.astype(np.float32)
    pad = np.zeros((3, 4), bool)
    pad[0, 2:] = True
    causal = np.triu(np.ones((5, 4), bool), 1)
    if not batch_first:
        q, kv = q.transpose(1, 0, 2).copy(), kv.transpose(1, 0, 2).copy()
    for kwargs in ({}, {"key_padding_mask": pad, "attn_mask": causal}, {"need_weights": False}):
        ta = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        oa = {k: tg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        out, weights = ours(tg.tensor(q), tg.tensor(kv), tg.tensor(kv), **oa)
        tout, tweights = theirs(torch.tensor(q), torch.tensor(kv), torch.tensor(kv), **ta)
        np.testing.assert_allclose(host(out), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
        if tweights is None:
            assert weights is None
        else:
            np.testing.assert_allclose(host(weights), tweights.detach().numpy(), atol=1e-6)


def test_multihead_attention_trains(device: str) -> None:
    mha = nn.MultiheadAttention(4, 2, batch_first=True).to(device)
    x = tg.randn(2, 3, 4, device=device)
    out, weights = mha(x, x, x)
    assert out.shape == (2, 3, 4) and weights.shape == (2, 3, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in mha.parameters())


def test_new_activations_are_in_the_registry() -> None:
    from tinygrad_digits.nn.layers import make_activation

    assert isinstance(make_activation("silu"), nn.SiLU)
    assert isinstance(make_activation("mish"), nn.Mish)


@needs_torch
def test_conv1d_conv_transpose2d_and_padding_modes_match_torch() -> None:
    rng = np.random.default_rng(3)
    pairs = [
        (nn.Conv1d(3, 4, 3, stride=2, padding=1), torch.nn.Conv1d(3, 4, 3, 2, 1), (2, 3, 9)),
        (
            nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
            torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
            (2, 3, 5, 5),
        ),
        (
            nn.Conv2d(3, 2, 3, padding=2, padding_mode="reflect"),
            torch.nn.Conv2d(3, 2, 3, padding=2, padding_mode="reflect"),
            (2, 3, 6, 5),
        ),
        (
            nn.Conv2d(3, 2, 3, padding=1, padding_mode="circular"),
            torch.nn.Conv2d(3, 2, 3, padding=1, padding_mode="circular"),
            (2, 3, 6, 5),
        ),
    ]
    for ours, theirs, shape in pairs:
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
            k: tuple(v.shape) for k, v in theirs.state_dict().items()
        }
        theirs.load_state_dict({k: torch.tensor(host(v)) for k, v in ours.state_dict().items()})
        x = rng.standard_normal(shape).astype(np.float32)
        got, want = host(ours(tg.tensor(x))), theirs(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=repr(ours))


@needs_torch
@pytest.mark.parametrize(
    "kwargs",
    [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}],
)
def test_max_pool_indices_match_torch(kwargs: dict, device: str) -> None:
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 6))
    values, indices = nn.MaxPool2d(**kwargs, return_indices=True)(tg.tensor(x, device=device))
    want_values, want_indices = torch.nn.MaxPool2d(**kwargs, return_indices=True)(torch.tensor(x))
    np.testing.assert_allclose(host(values), want_values.numpy())
    np.testing.assert_array_equal(host(indices), want_indices.numpy())
