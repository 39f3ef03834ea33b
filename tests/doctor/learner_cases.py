"""The five learner networks of issue 18, re-created on sklearn's 8×8 digits (1797 samples
stand in for MNIST where a learner's post used 784 inputs, so the suite stays fast; a
Fashion-MNIST subset gives 784 inputs where the shared copy is at hand), and a helper that
trains a set-up and measures its test accuracy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import load_digits_arrays, load_mnist_arrays
from tinygrad_digits.nn import functional as F

LossFn = Callable[[Any, Any], Any]
FASHION = Path(__file__).resolve().parents[3] / "shared" / "data" / "fashion-mnist"
if not FASHION.is_dir():  # the shared copy beside the main checkout, seen from a worktree
    FASHION = Path("/work/shared/data/fashion-mnist")


@dataclass(frozen=True)
class Case:
    """One learner's set-up: everything the doctor and a training run need."""

    hidden: tuple[int, ...]
    init: str | None  # training.models' init spec ("uniform:-1,1", "normal:14.1"), None: default
    bias: bool
    loss: str  # "bce_sum" (per-output sigmoid, BCE summed over outputs), "half_sse", "ce",
    # "ce_relu" (a ReLU on the outputs before cross-entropy)
    optimizer: str  # "sgd"
    lr: float
    momentum: float = 0.0
    batch_size: int | None = None  # None: the whole data set (full-batch gradient descent)
    steps: int = 20
    raw: bool = False  # the 0–16 pixels as shipped, instead of pixels / 16
    l2: float = 0.0  # λ of a penalty λ/(2N)·ΣW² written into the loss
    bias_init: bool = False  # the init spec applies to the biases too
    data: str = "digits"  # or "or_gate", or "fashion" (784 inputs: Fashion-MNIST's test images)
    summed: bool = False  # the cost sums over the samples too (no 1/m)
    rows: int = 1400  # training rows (fewer keep the full-batch cases fast)

    def with_(self, **changes: Any) -> Case:
        return replace(self, **changes)


CASES = {
    # 1. 64-4-4-4-10 sigmoid, no bias, U(-1, 1), raw 0-16 pixels, BCE summed, GD lr 1e-3 m 0.9
    "bottleneck_bce": Case(
        (4, 4, 4),
        "uniform:-1,1",
        False,
        "bce_sum",
        "sgd",
        1e-3,
        momentum=0.9,
        raw=True,
        summed=True,
        steps=50,
        rows=500,
    ),
    # 2. 784-5-5-10 sigmoid, W and b ~ U(0, 0.01), BCE summed + λ/(2N)·ΣW², GD lr 2, 5 steps
    "ng_5_steps": Case(
        (5, 5),
        "uniform:0,0.01",
        True,
        "bce_sum",
        "sgd",
        2.0,
        l2=1.0,
        bias_init=True,
        steps=5,
        rows=500,
    ),
    # 3. 784-200-10 sigmoid, no bias, N(0, 14.1), squared error, SGD lr 0.1, batch 1
    "big_weights": Case(
        (200,), "normal:14.1", False, "half_sse", "sgd", 0.1, batch_size=1, steps=200
    ),
    # 4. OR gate, 2-6-1 sigmoid, no bias, N(0, 0.01), ½Σ(ŷ−y)², GD lr 1e-6
    "or_gate": Case((6,), "normal:0.01", False, "half_sse", "sgd", 1e-6, data="or_gate", steps=50),
    # 5. network.py: 784-30-10 sigmoid, N(0, 1) weights and biases, quadratic cost, lr 3, batch 10
    "network_py": Case(
        (30,), "normal:1", True, "half_sse", "sgd", 3.0, batch_size=10, bias_init=True, steps=200
    ),
}


def data(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) as the learner fed them."""
    if case.data == "or_gate":
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
        y = np.array([0, 1, 1, 1], np.int64)
        return x, y, x, y
    if case.data == "fashion":  # its 10,000 test images: `rows` to train on, 2000 to test
        x, y = load_mnist_arrays(FASHION, train=False, kind="fashion-mnist", progress=False)
        x = x.reshape(len(x), -1).astype(np.float32) / np.float32(255)
        return x[: case.rows], y[: case.rows], x[-2000:], y[-2000:]
    x, y = load_digits_arrays()
    x = x.astype(np.float32) if case.raw else x.astype(np.float32) / np.float32(16)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[: case.rows], order[1400:]
    return x[train], y[train], x[test], y[test]


def model(case: Case, in_features: int, out_features: int) -> nn.Module:
    from tinygrad_digits.training.models import apply_init

    net = nn.MLP(in_features, list(case.hidden), out_features, "sigmoid", bias=case.bias)
    if case.init:
        apply_init(net, case.init, biases=case.bias_init)
    return net


def loss_fn(case: Case, out_features: int, n_train: int, net: nn.Module) -> LossFn:
    """The learner's cost, as a function of (model output, integer labels)."""

    def targets(out: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
        if out_features == 1:
            return labels.to(out.dtype).reshape(-1, 1)
        return F.one_hot(labels, out_features).to(out.dtype)

    def cost(out: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
        t = targets(out, labels)
        if case.loss == "bce_sum":
            per = F.binary_cross_entropy(out.sigmoid(), t, reduction="none")
            total = per.sum() if case.summed else per.sum() / out.shape[0]
        elif case.loss == "half_sse":
            d = out.sigmoid() - t
            total = (d * d).sum() * 0.5 / out.shape[0]
        elif case.loss == "ce":  # the sigmoid_mse fix: cross-entropy on the raw outputs
            total = F.cross_entropy(out, labels)
        else:  # ReLU on the output layer, then softmax + cross-entropy
            total = F.cross_entropy(out.relu(), labels)
        if case.l2:
            weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
            total = total + sum((w * w).sum() for w in weights) * (case.l2 / (2 * n_train))
        return total

    return cost


def setup(case: Case, seed: int = 0) -> dict[str, Any]:
    """Everything for one run: model, loss, optimizer, data."""
    x, y, xt, yt = data(case)
    out_features = 1 if case.data == "or_gate" else 10
    tg.manual_seed(seed)
    net = model(case, x.shape[1], out_features)
    opt = optim.SGD(net.parameters(), lr=case.lr, momentum=case.momentum)
    return {
        "model": net,
        "loss_fn": loss_fn(case, out_features, len(x), net),
        "optimizer": opt,
        "x": x,
        "y": y,
        "x_test": xt,
        "y_test": yt,
        "batch_size": case.batch_size or len(x),
    }


def accuracy(net: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with tg.no_grad():
        out = net(tg.tensor(x)).numpy()
    pred = (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)
    return float((pred == y).mean())


def train(case: Case, steps: int | None = None, seed: int = 0) -> float:
    """Train the set-up for `steps` (default the learner's) and return its test accuracy."""
    s = setup(case, seed)
    net, cost, opt = s["model"], s["loss_fn"], s["optimizer"]
    x, y, bs = s["x"], s["y"], s["batch_size"]
    rng = np.random.default_rng(seed)
    for _ in range(steps or case.steps):
        idx = rng.choice(len(x), bs, replace=False) if bs < len(x) else slice(None)
        opt.zero_grad()
        cost(net(tg.tensor(x[idx])), tg.tensor(y[idx])).backward()
        opt.step()
    return accuracy(net, s["x_test"], s["y_test"])
