"""Write your own differentiable op and your own model, check them, then train the model.

1. `Swish` is a new op: a `tinygrad_digits.Function` with its own forward (on raw arrays) and
   backward (with Tensor ops, so second derivatives work too).
2. `ResidualNet` is a custom `nn.Module` that uses it, with a learnable scalar gate.
3. Both are verified against finite differences: `gradcheck` and `gradgradcheck` on the op, and
   one directional `gradcheck` through every parameter of the model.
4. The model trains with `fit` on the 8x8 sklearn digits (or on synthetic blobs without
   scikit-learn), a custom callback printing every ten epochs; it is saved and loaded back, and
   must give the same predictions.

    python examples/custom_model.py [--device cpu|strict|cuda] [--epochs 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, TensorDataset
from tinygrad_digits.nn import functional as F
from tinygrad_digits.nn.utils import functional_call
from tinygrad_digits.serialization import load, save
from tinygrad_digits.training import Callback, TrainState, fit


class Swish(tg.Function):
    """swish(x) = x * sigmoid(x), a smooth ReLU-like activation."""

    retain_inputs = True  # backward reads x (the default): changing x in place is an error

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))  # sigmoid without overflow for large |x|
        s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(s=s)  # declared, so the engine frees it after backward
        return x * s

    def backward(self, g):  # d swish = s + x s (1 - s), with s = sigmoid(x)
        (x,) = self.parents
        s = self.saved("s", lambda x: x.sigmoid())  # recomputed when differentiating twice
        return g * (s + x * s * (1 - s))


def swish(x: tg.Tensor) -> tg.Tensor:
    return Swish.apply(x)


class ResidualNet(nn.Module):
    """in -> hidden, then h + gate * swish(W h), then hidden -> classes."""

    def __init__(self, n_in: int, n_hidden: int, n_classes: int) -> None:
        super().__init__()  # always first: it sets up parameter registration
        self.inp = nn.Linear(n_in, n_hidden)
        self.block = nn.Linear(n_hidden, n_hidden)
        self.out = nn.Linear(n_hidden, n_classes)
        self.gate = nn.Parameter(tg.tensor(0.5))

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        h = swish(self.inp(x))
        h = h + self.gate * swish(self.block(h))
        return self.out(h)


def check_gradients(device: str) -> None:
    """gradcheck raises GradcheckError (naming the input and element) if anything is wrong."""
    x = tg.randn(4, 5, dtype=tg.float64, device=device, requires_grad=True)
    tg.gradcheck(swish, [x])
    tg.gradgradcheck(swish, [x])
    print("Swish: gradcheck and gradgradcheck passed")

    model = ResidualNet(6, 8, 3).double().to(device)
    names = [n for n, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    xb = tg.randn(5, 6, dtype=tg.float64, device=device)
    yb = tg.tensor([0, 1, 2, 1, 0], device=device)

    def loss_of(*ps: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(functional_call(model, dict(zip(names, ps)), (xb,)), yb)

    tg.gradcheck(loss_of, params, fast_mode=True)
    print(f"ResidualNet: gradcheck through all {len(params)} parameters passed")


def data(device: str) -> tuple[tg.Tensor, tg.Tensor, tg.Tensor, tg.Tensor]:
    try:
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        x = x / 16.0
    except ImportError:  # synthetic blobs keep the example runnable without scikit-learn
        rng = np.random.default_rng(0)
        y = rng.integers(0, 10, 1500)
        x = rng.normal(size=(1500, 64)) * 0.5 + np.eye(10, 64)[y] * 2
    order = np.random.default_rng(1).permutation(len(y))
    x, y = x[order], y[order]
    cut = int(0.8 * len(y))
    as_x = lambda a: tg.tensor(a, dtype=tg.float32, device=device)  # noqa: E731
    as_y = lambda a: tg.tensor(a, device=device)  # noqa: E731
    return as_x(x[:cut]), as_y(y[:cut]), as_x(x[cut:]), as_y(y[cut:])


class EveryTenEpochs(Callback):
    """A custom callback: fit calls it after every epoch with the loop's state."""

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % 10 == 0 or state.epoch == state.epochs:
            r = state.record
            print(
                f"epoch {r['epoch']:3d}  loss {r['train_loss']:.4f}  "
                f"test accuracy {r['val_accuracy']:.3f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A custom op and model, checked and trained.")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    tg.manual_seed(0)

    check_gradients(args.device)

    x_train, y_train, x_test, y_test = data(args.device)
    model = ResidualNet(64, 32, 10).to(args.device)
    print(model)
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    history = fit(
        model,
        DataLoader(TensorDataset(x_train, y_train), 64, shuffle=True, seed=0, device=args.device),
        DataLoader(TensorDataset(x_test, y_test), 1000, device=args.device),
        opt,
        epochs=args.epochs,
        scheduler=sched,
        restore_best=False,  # the test set only reports here: it must not pick the epoch
        progress=False,
        log=None,
        callbacks=[EveryTenEpochs()],
    )

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "residual_net.npz"
        save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
        restored = ResidualNet(64, 32, 10)
        restored.load_state_dict(load(path)["model"])  # loads onto the CPU by default
    with tg.no_grad():
        same = np.array_equal(
            restored(x_test.cpu()).argmax(1).numpy(), model(x_test).argmax(1).cpu().numpy()
        )
    print(f"saved and reloaded: predictions {'match' if same else 'DIFFER'}")
    final = history.val_accuracy[-1]
    if not same or final < 0.9:
        print(f"FAILED: accuracy {final:.3f} (want >= 0.9), reload match {same}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
