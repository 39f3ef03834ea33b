"""Losses: values against NumPy references, gradients, stability and label validation."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn
from tinygrad_digits.nn import functional as F

N, C = 6, 4


def ref_log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def ref_cross_entropy(x, y, w=None, reduction="mean", smoothing=0.0, ignore=-100, logp=None):
    """torch's definition, written out sample by sample."""
    lp = ref_log_softmax(x) if logp is None else logp
    c = lp.shape[1]
    w = np.ones(c) if w is None else w
    losses, wsum = np.zeros(len(y)), 0.0
    for i, label in enumerate(y):
        if label == ignore:
            continue
        nll = -w[label] * lp[i, label]
        losses[i] = (1 - smoothing) * nll
        if smoothing:
            losses[i] += smoothing / c * -(w * lp[i]).sum()
        wsum += w[label]
    if reduction == "none":
        return losses
    return losses.sum() / wsum if reduction == "mean" else losses.sum()


def logits(device: str, grad: bool = True, scale: float = 2.0) -> tg.Tensor:
    x = np.random.default_rng(1).normal(0, scale, (N, C))
    return tg.tensor(x, dtype=tg.float64, device=device, requires_grad=grad)


def labels(device: str, values=(0, 3, 1, 1, 2, 3)) -> tg.Tensor:
    return tg.tensor(list(values), device=device)


def host(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# --- cross-entropy -----------------------------------------------------------------------------
CE_CASES = [
    dict(),
    dict(label_smoothing=0.1),
    dict(weight=[1.0, 2.0, 0.5, 3.0]),
    dict(ignore=True),
    dict(weight=[1.0, 2.0, 0.5, 3.0], ignore=True, label_smoothing=0.2),
]


@pytest.mark.parametrize("case", CE_CASES, ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_reference_and_gradchecks(device: str, case: dict, reduction: str):
    x = logits(device)
    y_host = np.array([0, 3, 1, 1, 2, 3])
    ignore = -100
    if case.get("ignore"):
        y_host[[1, 4]] = ignore = 2 if case.get("weight") else -1
    y = labels(device, y_host)
    w = case.get("weight")
    w_t = tg.tensor(w, dtype=tg.float64, device=device) if w is not None else None
    ls = case.get("label_smoothing", 0.0)

    def fn(x: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(x, y, w_t, reduction, ls, ignore)

    out = fn(x)
    expected = ref_cross_entropy(host(x), y_host, np.array(w) if w else None, reduction, ls, ignore)
    np.testing.assert_allclose(host(out), expected, rtol=1e-10)
    assert out.dtype == tg.float64
    assert tg.gradcheck(fn, [x])


def test_cross_entropy_module_float32_and_mean_vs_sum_grads(device: str) -> None:
    x32 = tg.randn(N, C, device=device, requires_grad=True)
    y = labels(device)
    loss = nn.CrossEntropyLoss()(x32, y)
    assert loss.dtype == tg.float32 and loss.shape == ()
    loss.backward()
    g_mean = host(x32.grad)
    x32.grad = None
    nn.CrossEntropyLoss(reduction="sum")(x32, y).backward()
    np.testing.assert_allclose(host(x32.grad), g_mean * N, rtol=1e-5)
    per = nn.CrossEntropyLoss(reduction="none")(x32, y)
    assert per.shape == (N,)


def test_cross_entropy_with_class_probabilities(device: str) -> None:
    x = logits(device)
    p = np.random.default_rng(2).dirichlet(np.ones(C), N)
    target = tg.tensor(p, dtype=tg.float64, device=device, requires_grad=True)
    w = tg.tensor([1.0, 2.0, 0.5, 3.0], dtype=tg.float64, device=device)
    for kw in ({}, {"label_smoothing": 0.1}, {"weight": w}):
        out = F.cross_entropy(x, target, **kw)
        t = p * (1 - 0.1) + 0.1 / C if kw.get("label_smoothing") else p
        wv = np.array([1.0, 2.0, 0.5, 3.0]) if "weight" in kw else 1.0
        expected = -(t * wv * ref_log_softmax(host(x))).sum(1).mean()
        np.testing.assert_allclose(host(out), expected, rtol=1e-10)
        assert tg.gradcheck(lambda x, t, kw=kw: F.cross_entropy(x, t, **kw), [x, target])


def test_cross_entropy_is_stable_for_huge_and_infinite_logits(device: str) -> None:
    raw = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [0.0, -np.inf, 1.0]])
    y_host = np.array([1, 2, 0])
    for weight in (None, [1.0, 2.0, 3.0]):
        x = tg.tensor(raw, dtype=tg.float64, device=device, requires_grad=True)
        w = tg.tensor(weight, dtype=tg.float64, device=device) if weight else None
        loss = F.cross_entropy(x, labels(device, y_host), w)
        loss.backward()
        expected = ref_cross_entropy(raw, y_host, np.array(weight) if weight else None)
        assert np.isfinite(host(loss)) and np.isfinite(host(x.grad)).all()
        np.testing.assert_allclose(host(loss), expected, rtol=1e-12)


def test_cross_entropy_unbatched_sample(device: str) -> None:
    x = tg.tensor([0.5, 1.0, -1.0], device=device)
    loss = F.cross_entropy(x, tg.tensor(1, device=device))
    expected = ref_cross_entropy(host(x)[None], np.array([1]))
    np.testing.assert_allclose(host(loss), expected, rtol=1e-6)


# --- label validation ---------------------------------------------------------------------------
def test_float_labels_give_type_error_suggesting_long(device: str) -> None:
    with pytest.raises(TypeError, match=r"integer tensor.*float32.*labels\.long\(\)"):
        F.cross_entropy(logits(device), tg.tensor([0.0, 1, 2, 3, 0, 1], device=device))


def test_label_shape_errors_name_both_shapes(device: str) -> None:
    x = logits(device)
    col = tg.tensor([[0], [1], [2], [3], [0], [1]], device=device)
    with pytest.raises(tg.ShapeError, match=r"\(6, 4\).*\(6,\).*\(6, 1\).*squeeze\(1\)"):
        F.cross_entropy(x, col)
    with pytest.raises(tg.ShapeError, match=r"\(6, 4\).*\(5,\)"):
        F.nll_loss(x, labels(device, [0, 1, 2, 3, 0]))
    with pytest.raises(tg.ShapeError, match=r"one-hot.*argmax"):
        F.nll_loss(x, tg.zeros(N, C, dtype=tg.int64, device=device))


@pytest.mark.parametrize("bad, position", [((0, 3, 1, 4, 2, 3), 3), ((0, 3, -1, 1, 2, 3), 2)])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_out_of_range_labels_raise_on_every_device(device, bad, position, loss) -> None:
    fn = getattr(F, loss)
    with pytest.raises(F.LabelError) as err:  # at the next read to the host on accelerators
        fn(logits(device), labels(device, bad)).item()
    msg = str(err.value)
    assert f"label {bad[position]} at position {position}" in msg and "4 classes" in msg
    assert isinstance(err.value, IndexError)


def test_ignore_index_labels_are_accepted_but_others_are_not(device: str) -> None:
    x = logits(device)
    F.cross_entropy(x, labels(device, [0, -100, 1, 1, 2, 3]))
    with pytest.raises(F.LabelError, match="label -5 at position 1"):
        F.cross_entropy(x, labels(device, [0, -5, 1, 1, 2, 3])).item()


def test_labels_on_another_device() -> None:
    with pytest.raises(tg.DeviceMismatchError, match=r"labels\.to\('strict'\)"):
        F.cross_entropy(logits("strict"), labels("cpu"))


def test_bad_reduction_and_smoothing() -> None:
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(logits("cpu"), labels("cpu"), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(logits("cpu"), labels("cpu"), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="batchmean")


# --- nll ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_with_weight_and_ignore(device: str, reduction: str) -> None:
    lp = tg.tensor(ref_log_softmax(np.random.default_rng(3).normal(size=(N, C))), device=device)
    lp = lp.double().requires_grad_()
    y_host = np.array([0, 3, -100, 1, 2, 3])
    w = np.array([0.5, 1.0, 2.0, 1.5])
    w_t = tg.tensor(w, dtype=tg.float64, device=device)
    y = labels(device, y_host)
    out = nn.NLLLoss(w_t, reduction=reduction)(lp, y)
    expected = ref_cross_entropy(None, y_host, w, reduction, logp=host(lp))
    np.testing.assert_allclose(host(out), expected, rtol=1e-12)
    assert tg.gradcheck(lambda lp: F.nll_loss(lp, y, w_t, reduction=reduction), [lp])


def test_log_softmax_then_nll_equals_cross_entropy(device: str) -> None:
    x, y = logits(device), labels(device)
    a = F.nll_loss(nn.LogSoftmax(dim=1)(x), y)
    b = F.cross_entropy(x, y)
    np.testing.assert_allclose(host(a), host(b), rtol=1e-12)


# --- regression and binary ----------------------------------------------------------------------
def pair(device: str, low: float = -1.0, high: float = 1.0) -> tuple[tg.Tensor, tg.Tensor]:
    rng = np.random.default_rng(4)
    a = tg.tensor(rng.uniform(low, high, (N, 3)), dtype=tg.float64, device=device)
    b = tg.tensor(rng.uniform(low, high, (N, 3)), dtype=tg.float64, device=device)
    return a.requires_grad_(), b.requires_grad_()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_l1(device: str, reduction: str) -> None:
    a, b = pair(device)
    d = host(a) - host(b)
    red = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    np.testing.assert_allclose(host(nn.MSELoss(reduction)(a, b)), red(d * d), rtol=1e-12)
    np.testing.assert_allclose(host(nn.L1Loss(reduction)(a, b)), red(np.abs(d)), rtol=1e-12)
    assert tg.gradcheck(lambda a, b: F.mse_loss(a, b, reduction), [a, b])
    assert tg.gradcheck(lambda a, b: F.l1_loss(a, b, reduction), [a, b])


def test_regression_shape_mismatch_is_an_error_with_a_hint() -> None:
    with pytest.raises(tg.ShapeError, match=r"\(4, 1\).*\(4,\).*unsqueeze\(1\)"):
        F.mse_loss(tg.randn(4, 1), tg.randn(4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(device: str, reduction: str) -> None:
    p, _ = pair(device, 0.05, 0.95)
    _, y = pair(device, 0.0, 1.0)
    w = tg.tensor(np.linspace(0.5, 2, 3), dtype=tg.float64, device=device)
    pv, yv = host(p), host(y)
    ref = -(yv * np.log(pv) + (1 - yv) * np.log(1 - pv)) * np.linspace(0.5, 2, 3)
    red = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    out = nn.BCELoss(w, reduction)(p, y)
    np.testing.assert_allclose(host(out), red(ref), rtol=1e-12)
    assert tg.gradcheck(lambda p, y: F.binary_cross_entropy(p, y, w, reduction), [p, y])
    assert tg.gradgradcheck(lambda p, y: F.binary_cross_entropy(p, y), [p, y])


def test_binary_cross_entropy_clamps_log_at_minus_100(device: str) -> None:
    p = tg.tensor([0.0, 1.0, 0.0, 1.0], dtype=tg.float64, device=device, requires_grad=True)
    y = tg.tensor([1.0, 0.0, 0.0, 1.0], dtype=tg.float64, device=device)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(host(loss), [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.isfinite(host(p.grad)).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(device: str, reduction: str) -> None:
    x, _ = pair(device, -3, 3)
    _, y = pair(device, 0.0, 1.0)
    pw = tg.tensor([0.5, 1.0, 3.0], dtype=tg.float64, device=device, requires_grad=True)
    xv, yv = host(x), host(y)
    sp_neg = np.log1p(np.exp(-np.abs(xv))) + np.maximum(-xv, 0)
    red = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    plain = (1 - yv) * xv + sp_neg
    np.testing.assert_allclose(host(nn.BCEWithLogitsLoss(reduction=reduction)(x, y)), red(plain))
    weighted = (1 - yv) * xv + (1 + (host(pw) - 1) * yv) * sp_neg
    out = F.binary_cross_entropy_with_logits(x, y, reduction=reduction, pos_weight=pw)
    np.testing.assert_allclose(host(out), red(weighted), rtol=1e-12)
    bce = F.binary_cross_entropy_with_logits
    assert tg.gradcheck(lambda x, y: bce(x, y, None, reduction), [x, y])
    assert tg.gradcheck(
        lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, None, reduction, pw), [x, y, pw]
    )
    assert tg.gradgradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y), [x, y])


def test_bce_with_logits_is_stable_and_exact_at_zero(device: str) -> None:
    x = tg.tensor([1000.0, -1000.0, 0.0, 0.0], device=device, requires_grad=True)
    y = tg.tensor([0.0, 1.0, 1.0, 0.0], device=device)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(host(loss), [1000.0, 1000.0, np.log(2), np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(host(x.grad), [1.0, -1.0, -0.5, 0.5], rtol=1e-6)
    assert loss.dtype == tg.float32


def test_one_hot(device: str) -> None:
    out = F.one_hot(labels(device, [0, 2, 1]), 4)
    assert out.dtype == tg.int64
    np.testing.assert_array_equal(host(out), np.eye(4, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(labels(device, [0, 2])).shape == (2, 3)
    with pytest.raises(F.LabelError, match="label 5"):
        F.one_hot(labels(device, [5]), 3).cpu()
