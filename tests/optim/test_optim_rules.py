"""Optimizers: three steps against NumPy formulas written out here, state, groups, devices."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.nn import functional as F

SHAPES = [(2, 3), (3,)]
STEPS = 3


def start_values() -> list[np.ndarray]:
    rng = np.random.default_rng(10)
    return [rng.normal(size=s).astype(np.float32) for s in SHAPES]


def grad_values() -> list[list[np.ndarray]]:
    """grads[step][param]; includes an exact zero element to exercise it."""
    rng = np.random.default_rng(11)
    out = []
    for _ in range(STEPS):
        gs = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
        gs[0][0, 0] = 0.0
        out.append(gs)
    return out


def run(make_opt, device: str) -> tuple[list[tg.Tensor], optim.Optimizer]:
    params = [tg.tensor(v, device=device, requires_grad=True) for v in start_values()]
    opt = make_opt(params)
    for gs in grad_values():
        for p, g in zip(params, gs):
            p.grad = tg.tensor(g, device=device)
        opt.step()
    return params, opt


def check(params: list[tg.Tensor], expected: list[np.ndarray]) -> None:
    for p, e in zip(params, expected):
        assert p.dtype == tg.float32
        np.testing.assert_allclose(p.detach().cpu().numpy(), e, rtol=1e-5, atol=1e-6)


# --- reference formulas (float64, one parameter at a time) --------------------------------------
def sgd_ref(p, grads, lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False, maximize=False):
    p, buf = p.astype(np.float64), None
    for g in grads:
        d = -g if maximize else g.astype(np.float64)
        d = d + wd * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
    return p


def adam_ref(p, grads, lr, b1, b2, eps, wd=0.0, amsgrad=False, decoupled=False):
    p = p.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        vmax = np.maximum(vmax, v)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def rmsprop_ref(p, grads, lr, alpha, eps, wd=0.0, momentum=0.0, centered=False):
    p = p.astype(np.float64)
    sq, ga, buf = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        g = g + wd * p
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


def expected(ref, **kw) -> list[np.ndarray]:
    grads = grad_values()
    return [ref(p0, [gs[i] for gs in grads], **kw) for i, p0 in enumerate(start_values())]


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, momentum=0.5, weight_decay=0.01),
    dict(lr=0.1, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("kw", SGD_CASES, ids=str)
def test_sgd_three_steps(device: str, kw: dict) -> None:
    params, _ = run(lambda ps: optim.SGD(ps, **kw), device)
    ref_kw = dict(kw)
    ref_kw["wd"] = ref_kw.pop("weight_decay", 0.0)
    check(params, expected(sgd_ref, **ref_kw))


ADAM_CASES = [
    dict(lr=0.01),
    dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True, betas=(0.5, 0.9)),
]


@pytest.mark.parametrize("kw", ADAM_CASES, ids=str)
@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_adam_and_adamw_three_steps(device: str, kw: dict, cls: type) -> None:
    kw = dict(kw)
    if cls is optim.AdamW:
        kw.setdefault("weight_decay", 0.05)
    params, opt = run(lambda ps: cls(ps, **kw), device)
    b1, b2 = kw.get("betas", (0.9, 0.999))
    ref = dict(lr=kw["lr"], b1=b1, b2=b2, eps=kw.get("eps", 1e-8), wd=kw.get("weight_decay", 0.0))
    ref["amsgrad"] = kw.get("amsgrad", False)
    check(params, expected(adam_ref, decoupled=cls is optim.AdamW, **ref))
    # t is counted once per step() for each parameter, not once per parameter
    assert [opt.state[p]["step"] for p in params] == [STEPS, STEPS]
    for p in params:
        assert all(v.dtype == p.data.dtype for v in opt.state[p].values() if hasattr(v, "dtype"))


def test_adam_first_step_is_lr_times_sign_thanks_to_bias_correction() -> None:
    p = tg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    p.grad = tg.tensor([0.5, -3.0, 1e-3])
    optim.Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.detach().numpy(), [0.9, -1.9, 2.9], rtol=1e-5)


def test_adamw_default_weight_decay_is_decoupled() -> None:
    p = tg.tensor([2.0], requires_grad=True)
    opt = optim.AdamW([p], lr=0.1)
    assert opt.param_groups[0]["weight_decay"] == 0.01
    p.grad = tg.tensor([0.0])
    opt.step()  # zero gradient: only the decay moves it
    np.testing.assert_allclose(p.detach().numpy(), [2.0 * (1 - 0.1 * 0.01)], rtol=1e-6)


RMS_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9, weight_decay=0.1),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, centered=True, momentum=0.5, eps=1e-6),
]


@pytest.mark.parametrize("kw", RMS_CASES, ids=str)
def test_rmsprop_three_steps(device: str, kw: dict) -> None:
    params, _ = run(lambda ps: optim.RMSprop(ps, **kw), device)
    ref = dict(kw)
    ref["wd"] = ref.pop("weight_decay", 0.0)
    ref.setdefault("alpha", 0.99)
    ref.setdefault("eps", 1e-8)
    check(params, expected(rmsprop_ref, **ref))


# --- skipping, zero_grad, groups, validation -----------------------------------------------------
@pytest.mark.parametrize(
    "make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.1)]
)
def test_parameters_without_grad_are_skipped(make) -> None:
    used = tg.tensor([1.0, 2.0], requires_grad=True)
    unused = tg.tensor([3.0, 4.0], requires_grad=True)
    opt = make([used, unused])
    for _ in range(2):
        used.grad = tg.tensor([1.0, 1.0])
        opt.step()
    assert unused.detach().numpy().tolist() == [3.0, 4.0]
    assert unused not in opt.state
    unused.grad = tg.tensor([1.0, 1.0])
    opt.step()
    if isinstance(opt, optim.Adam):
        assert opt.state[used]["step"] == 3 and opt.state[unused]["step"] == 1


def test_zero_grad_and_step_bump_versions() -> None:
    p = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    y = p * p
    p.grad = tg.tensor([1.0])
    opt.step()
    with pytest.raises(tg.GradientError, match="modified in place"):
        y.backward()  # the graph saw the old value: never a silent wrong gradient
    opt.zero_grad(set_to_none=False)
    assert p.grad.numpy().tolist() == [0.0]
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_have_their_own_hyperparameters() -> None:
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert opt.param_groups[1]["momentum"] == 0.0
    c = tg.tensor([1.0], requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 1.0})
    for p in (a, b, c):
        p.grad = tg.tensor([1.0])
    opt.step()
    assert [p.item() for p in (a, b, c)] == pytest.approx([0.9, 0.5, 0.0])
    opt.param_groups[0]["lr"] = 0.2
    a.grad = tg.tensor([1.0])
    opt.step()
    assert a.item() == pytest.approx(0.7)


def test_constructor_errors() -> None:
    p = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)


def test_closure_is_evaluated_with_grad() -> None:
    p = tg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure() -> tg.Tensor:
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and p.item() == pytest.approx(1.0)


# --- state dicts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("src, dst", [("cpu", "cpu"), ("acc", "cpu"), ("cpu", "acc")])
@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
        lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.9),
    ],
)
def test_optimizer_state_dict_round_trip(src: str, dst: str, make, accelerator: str) -> None:
    src, dst = (accelerator if d == "acc" else d for d in (src, dst))
    params_a, opt_a = run(make, src)
    copies = [p.detach().cpu().numpy().copy() for p in params_a]  # own memory, not shared
    params_b = [tg.tensor(c, device=dst, requires_grad=True) for c in copies]
    opt_b = make(params_b)
    sd = opt_a.state_dict()
    assert sorted(sd["state"]) == [0, 1] and sd["param_groups"][0]["params"] == [0, 1]
    opt_b.load_state_dict(sd)
    g = [np.full(s, 0.3, np.float32) for s in SHAPES]
    for ps, opt in ((params_a, opt_a), (params_b, opt_b)):
        for p, gv in zip(ps, g):
            p.grad = tg.tensor(gv, device=p.device)
        opt.step()
    for pa, pb in zip(params_a, params_b):
        assert pb.device == dst
        np.testing.assert_array_equal(pa.detach().cpu().numpy(), pb.detach().cpu().numpy())


def test_load_state_dict_errors() -> None:
    params, opt = run(lambda ps: optim.Adam(ps), "cpu")
    other = optim.Adam([tg.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="has 2 parameters but this optimizer has 1"):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="param_groups"):
        other.load_state_dict({"state": {}})


# --- devices -------------------------------------------------------------------------------------
def blobs(device: str) -> tuple[tg.Tensor, tg.Tensor]:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 90)
    x = rng.normal(size=(90, 4)) + np.eye(3, 4)[y] * 3
    return tg.tensor(x, dtype=tg.float32, device=device), tg.tensor(y, device=device)


@pytest.mark.parametrize(
    "make", [lambda ps: optim.SGD(ps, lr=0.2, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.05)]
)
@pytest.mark.parametrize("steps_before_move", [0, 3])
def test_model_moved_after_building_the_optimizer_still_trains(
    make, steps_before_move: int, accelerator: str
):
    model = nn.MLP(4, [8], 3)
    opt = make(model.parameters())
    x, y = blobs("cpu")
    for _ in range(steps_before_move):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    weight = model.layers[0].weight
    model.to(accelerator)
    assert model.layers[0].weight is weight  # the optimizer holds the same object
    x, y = blobs(accelerator)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    for st in opt.state.values():
        for v in st.values():
            assert not isinstance(v, np.ndarray)  # state followed the parameters there


def test_double_after_building_the_optimizer_casts_state() -> None:
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    x = tg.randn(4, 2)
    model(x).sum().backward()
    opt.step()
    model.double()
    opt.zero_grad()
    model(x.double()).sum().backward()
    opt.step()
    state = opt.state[model.weight]
    assert all(v.dtype == np.float64 for v in state.values() if hasattr(v, "dtype"))
    assert model.weight.dtype == tg.float64


def test_float32_stays_float32_without_float64_temporaries(device: str) -> None:
    params, opt = run(lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1), device)
    assert all(p.dtype == tg.float32 for p in params)
    assert math.isfinite(float(params[0].sum()))


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
        lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1, amsgrad=True),
        lambda ps: optim.AdamW(ps, lr=0.1),
        lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.9, centered=True, weight_decay=0.1),
    ],
)
def test_step_never_changes_the_gradients_or_aliases_them(device: str, make) -> None:
    p = tg.tensor([1.0, -2.0], device=device, requires_grad=True)
    opt = make([p])
    for _ in range(2):
        p.grad = tg.tensor([0.5, 0.25], device=device)
        opt.step()
        assert p.grad.cpu().numpy().tolist() == [0.5, 0.25]
    for v in opt.state[p].values():  # no state array is the grad or the parameter itself
        assert v is not p.grad.data and v is not p.data


def test_moving_back_to_cpu_after_steps(accelerator: str) -> None:
    model = nn.Linear(3, 2).to(accelerator)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(tg.randn(2, 3, device=accelerator)).sum().backward()
    opt.step()
    model.to("cpu")
    opt.zero_grad()
    model(tg.randn(2, 3)).sum().backward()
    opt.step()
    assert isinstance(opt.state[model.weight]["momentum_buffer"], np.ndarray)
