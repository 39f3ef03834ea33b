"""Write the notebooks of docs/notebooks/ from the cells below and run them top to bottom, so the
stored copies carry their outputs (GitHub and the docs site show them without running anything).

    python scripts/make_notebooks.py           # write and execute every notebook
    python scripts/make_notebooks.py --check   # exit 1 if a stored notebook's cells differ

The cells live here, not in the .ipynb, so a change is a readable diff; tests/docs/test_notebooks.py
runs the stored notebooks and checks they match these cells.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "docs" / "notebooks"

AUTOGRAD_FROM_SCRATCH = [
    (
        "md",
        """# Autograd from scratch to an MLP

A tour of `tinygrad_digits` in one sitting: tensors, one operation's forward and backward pass,
the computation graph drawn, gradients checked against finite differences, and a small network
trained on 8×8 handwritten digits that then reads a digit drawn by hand.""",
    ),
    (
        "md",
        """## Tensors

A `Tensor` holds an array (NumPy on the CPU) and, when `requires_grad=True`, remembers how it was
made so that `backward()` can compute gradients.""",
    ),
    (
        "code",
        """import numpy as np

import tinygrad_digits as tg

tg.manual_seed(0)
x = tg.tensor([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]], requires_grad=True)
x""",
    ),
    (
        "md",
        """## One op: forward and backward

`tanh` forward computes `y = tanh(x)`. Backward is the chain rule: given how the loss changes with
`y` (the upstream gradient `g`), it returns how the loss changes with `x`, which for tanh is
`g * (1 - y²)`. Summing makes a scalar to call `backward()` on, so `g` is all ones here.""",
    ),
    (
        "code",
        """y = x.tanh()
loss = y.sum()
loss.backward()
print("y      =", y)
print("x.grad =", x.grad)
print("1 - y² =", 1 - y.detach() ** 2)""",
    ),
    (
        "md",
        """The same op written by hand, as a `Function`: `forward` works on raw arrays,
`backward` on Tensors (so second derivatives work too).""",
    ),
    (
        "code",
        """class Tanh(tg.Function):
    def forward(self, a):
        t = self.xp.tanh(a)
        self.save_for_backward(t=t)
        return t

    def backward(self, g):
        (a,) = self.parents
        t = self.saved("t", lambda a: a.tanh())
        return g * (1 - t * t)


x2 = x.detach().requires_grad_()
Tanh.apply(x2).sum().backward()
print("our Tanh's gradient matches the built-in:", np.allclose(x2.grad.numpy(), x.grad.numpy()))""",
    ),
    (
        "md",
        """## The graph, drawn

`viz.draw` shows the operations that made a tensor; with `target=` it also runs the loss and
backward and colours each gradient by its health. (It needs Graphviz's `dot` program.)""",
    ),
    (
        "code",
        """from tinygrad_digits import nn, viz

w = tg.randn(3, 2, requires_grad=True)
out = (x @ w).relu().sum()
viz.draw(out)""",
    ),
    (
        "code",
        """tiny = nn.MLP(4, [3], 2)
viz.draw(tiny, tg.randn(5, 4), target=tg.tensor([0, 1, 1, 0, 1]))""",
    ),
    (
        "md",
        """## Gradcheck

Every backward in the library is verified against finite differences, in float64;
`gradcheck` does it for any function of tensors, including our `Tanh`.""",
    ),
    (
        "code",
        """a = tg.randn(3, 4, dtype="float64", requires_grad=True)
print("built-in ops:", tg.gradcheck(lambda t: (t.tanh() * t).sum(dim=1).exp(), [a]))
print("our Tanh:    ", tg.gradcheck(Tanh.apply, [a]))""",
    ),
    (
        "md",
        """## An MLP on the 8×8 digits

scikit-learn's 1,797 digits, split 80/20, standardised. `fit` trains with Adam, keeps the best
epoch on a validation split, and returns the History.""",
    ),
    (
        "code",
        """from tinygrad_digits import optim
from tinygrad_digits.data import DataLoader, Digits, split_dataset
from tinygrad_digits.training import evaluate, fit

tg.manual_seed(0)
train_full, test_set = Digits(train=True, flatten=True), Digits(train=False, flatten=True)
train_set, val_set = split_dataset(train_full, 0.1, seed=0)
model = nn.MLP(64, [128, 64], 10)
history = fit(
    model,
    DataLoader(train_set, 32, shuffle=True, seed=0),
    DataLoader(val_set, 500),
    optim.Adam(model.parameters(), lr=1e-3),
    epochs=15,
    progress=False,
    log=None,
)
result = evaluate(model, DataLoader(test_set, 500))
print(f"best epoch {history.best_epoch}, test accuracy {result.accuracy:.2%}")""",
    ),
    (
        "code",
        """import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
epochs = history.column("epoch")
left.plot(epochs, history.train_loss, label="train")
left.plot(epochs, history.val_loss, label="validation")
left.set(title="loss", xlabel="epoch")
left.legend()
right.plot(epochs, history.train_accuracy, label="train")
right.plot(epochs, history.val_accuracy, label="validation")
right.set(title="accuracy", xlabel="epoch")
right.legend()
plt.show()""",
    ),
    (
        "md",
        """## Reading a digit drawn by hand

A 7 drawn as 8×8 pixels of 0–16 (the scale of the training digits), normalised exactly as the
training images were, then the class probabilities.""",
    ),
    (
        "code",
        """seven = np.array(
    [
        [0, 4, 12, 16, 16, 16, 10, 0],
        [0, 2, 8, 8, 8, 14, 12, 0],
        [0, 0, 0, 0, 3, 15, 4, 0],
        [0, 0, 0, 0, 10, 12, 0, 0],
        [0, 0, 1, 6, 16, 9, 2, 0],
        [0, 0, 0, 12, 12, 0, 0, 0],
        [0, 0, 2, 16, 6, 0, 0, 0],
        [0, 0, 4, 14, 1, 0, 0, 0],
    ],
    dtype=np.float32,
)
norm = train_full.normalization
pixels = (seven.reshape(1, 64) / norm["max_value"] - norm["mean"]) / norm["std"]
model.eval()
with tg.no_grad():
    probs = model(tg.tensor(pixels.astype(np.float32))).softmax(dim=1).numpy()[0]

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
left.imshow(seven, cmap="gray_r")
left.set(title="the drawing", xticks=[], yticks=[])
right.bar(range(10), probs)
right.set(title=f"prediction: {probs.argmax()}", xticks=range(10), ylabel="probability")
plt.show()""",
    ),
]

WHY_ISNT_IT_LEARNING = [
    (
        "md",
        """# Why isn't my network learning?

Three networks that run without an error and still don't learn, what the training doctor
(`tinygrad_digits.doctor`) measures and says about each, and the fix, with the loss curves before
and after. The full guide is the page "My network doesn't learn" (docs/doesnt-learn.md).""",
    ),
    (
        "code",
        """import matplotlib.pyplot as plt
import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import doctor, nn, optim
from tinygrad_digits.data import DataLoader, Digits
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training import fit

digits = Digits(train=True, flatten=True)
x, y = digits.data, digits.targets


def curves(**runs):
    \"\"\"Train each (model, optimizer, loss_fn) for 20 epochs; plot the training accuracy.\"\"\"
    plt.figure(figsize=(7, 3))
    for name, (model, opt, loss_fn) in runs.items():
        tg.manual_seed(0)
        loader = DataLoader(digits, 64, shuffle=True, seed=0)
        history = fit(model, loader, None, opt, loss_fn, epochs=20, progress=False, log=None)
        plt.plot(history.column("epoch"), history.train_accuracy, label=name)
    plt.xlabel("epoch")
    plt.ylabel("training accuracy")
    plt.ylim(0, 1)
    plt.legend(loc="center right", fontsize="small")
    plt.show()""",
    ),
    (
        "md",
        """## 1. A 64-4-4-10 sigmoid network trained with squared error

The textbook network: sigmoids everywhere, squared error against one-hot targets, and hidden
layers of only 4 units.""",
    ),
    (
        "code",
        """def sigmoid_mse(out, target):
    return F.mse_loss(out.sigmoid(), F.one_hot(target, 10).to(out.dtype))


tg.manual_seed(0)
textbook = nn.MLP(64, [4, 4], 10, activation="sigmoid")
report = doctor.diagnose(
    textbook, x, y, sigmoid_mse, optim.SGD(textbook.parameters(), lr=2), steps=20
)
print(report)""",
    ),
    (
        "md",
        """The loss falls, but only to what outputting 0.1 for every class gives: the network
predicts the average, and its accuracy stays at one in ten. **Fix**: wider hidden layers and raw
outputs (logits) with cross-entropy, which makes the classes compete and keeps a gradient while
the answer is wrong.""",
    ),
    (
        "code",
        """tg.manual_seed(0)
before = nn.MLP(64, [4, 4], 10, activation="sigmoid")
tg.manual_seed(0)
after = nn.MLP(64, [64, 32], 10)
curves(
    **{
        "64-4-4-10 sigmoid, mse": (before, optim.SGD(before.parameters(), lr=2), sigmoid_mse),
        "64-64-32-10 relu, cross-entropy": (
            after,
            optim.Adam(after.parameters(), lr=1e-3),
            F.cross_entropy,
        ),
    }
)""",
    ),
    (
        "md",
        """## 2. An OR gate with a tiny learning rate

Nothing is wrong with the network; it barely moves.""",
    ),
    (
        "code",
        """x_or = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
y_or = np.array([0, 1, 1, 1])
tg.manual_seed(0)
gate = nn.MLP(2, [4], 2, activation="tanh")
print(
    doctor.diagnose(
        gate, x_or, y_or, F.cross_entropy, optim.SGD(gate.parameters(), lr=1e-5), steps=20
    )
)""",
    ),
    (
        "code",
        """def train_or(lr, steps=300):
    tg.manual_seed(0)
    model = nn.MLP(2, [4], 2, activation="tanh")
    opt = optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(tg.tensor(x_or)), tg.tensor(y_or))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


plt.figure(figsize=(6, 3))
for lr in (1e-5, 1e-1):
    plt.plot(train_or(lr), label=f"lr={lr:g}")
plt.xlabel("step")
plt.ylabel("loss")
plt.legend()
plt.show()""",
    ),
    (
        "md",
        """**Fix**: raise the learning rate. The doctor does not guess the rate: it runs short
trials of this very set-up at a few rates and advises one only when its loss measured
lower, quoting each trial (the report above).

## 3. λ too strong: weight decay that erases the weights

Two 5-unit sigmoid layers, SGD at lr=2 with `weight_decay=0.1`: every step multiplies each weight
by 1 − lr·λ = 0.8 on top of the gradient step.""",
    ),
    (
        "code",
        """tg.manual_seed(0)
decayed = nn.MLP(64, [5, 5], 10, activation="sigmoid")
opt = optim.SGD(decayed.parameters(), lr=2, weight_decay=0.1)
print(doctor.diagnose(decayed, x, y, F.cross_entropy, opt, steps=20))""",
    ),
    (
        "code",
        """tg.manual_seed(0)
before = nn.MLP(64, [5, 5], 10, activation="sigmoid")
tg.manual_seed(0)
after = nn.MLP(64, [32, 32], 10, activation="sigmoid")
curves(
    **{
        "5-5 sigmoid, SGD lr=2, weight_decay=0.1": (
            before,
            optim.SGD(before.parameters(), lr=2, weight_decay=0.1),
            F.cross_entropy,
        ),
        "32-32 sigmoid, SGD lr=0.1, momentum 0.9, weight_decay=1e-4": (
            after,
            optim.SGD(after.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4),
            F.cross_entropy,
        ),
    }
)""",
    ),
    (
        "md",
        """**Fix**: `weight_decay` around 1e-4 with a learning rate near 0.1 for SGD (1e-3 for
Adam), and layers at least as wide as the number of classes.""",
    ),
]

NOTEBOOKS = {
    "autograd-from-scratch.ipynb": AUTOGRAD_FROM_SCRATCH,
    "why-isnt-it-learning.ipynb": WHY_ISNT_IT_LEARNING,
}


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """An unexecuted notebook of the cells, on a plain Python 3 kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    make = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](source) for kind, source in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb


def cell_sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """What build() was given, read back from a notebook."""
    kinds = {"markdown": "md", "code": "code"}
    return [(kinds[c.cell_type], c.source) for c in nb.cells]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = NOTEBOOK_DIR / name
        if args.check:
            if not path.exists() or cell_sources(nbformat.read(path, as_version=4)) != cells:
                stale.append(name)
            continue
        from nbclient import NotebookClient

        nb = build(cells)
        NotebookClient(
            nb, timeout=300, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
        ).execute()
        nbformat.write(nb, path)
        print(f"wrote {path}")
    if stale:
        print("stale (run python scripts/make_notebooks.py):", ", ".join(stale), file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
