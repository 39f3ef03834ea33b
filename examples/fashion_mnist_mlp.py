"""Fashion-MNIST with a 784-256-128-10 MLP: about 89-90% test accuracy in 10 epochs.

    python examples/fashion_mnist_mlp.py [--epochs 10] [--data-dir DIR] [--download]
                                         [--device cpu|strict|cuda] [--out DIR]

The data is found in --data-dir, TINYGRAD_DIGITS_DATA, the cache folder, or the shared copy in
../shared/data/fashion-mnist beside this checkout; --download fetches it (about 30 MB).
Training uses Adam with a cosine learning-rate decay and cross-entropy with label smoothing
0.1, keeps the epoch with the best validation accuracy (5,000 of the 60,000 training images are
held out for that), and ends with the test accuracy and confusion matrix by class name.
"""

from __future__ import annotations

import argparse
import sys

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.data import DataLoader, DatasetNotFoundError, FashionMNIST, split_dataset
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training import fit, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--out", default=None, help="save model, history and plots here")
    args = parser.parse_args()

    try:
        full = FashionMNIST(args.data_dir, train=True, download=args.download, flatten=True)
        test = FashionMNIST(args.data_dir, train=False, download=args.download, flatten=True)
    except DatasetNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    train, val = split_dataset(full, val_fraction=5000 / len(full), seed=0)
    print(f"Fashion-MNIST: {len(train)} training, {len(val)} validation, {len(test)} test images")

    tg.manual_seed(0)
    model = nn.MLP(784, [256, 128], 10, device=args.device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    def loss_fn(logits: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(logits, labels, label_smoothing=0.1)

    fit(
        model,
        DataLoader(train, args.batch_size, shuffle=True, seed=0, device=args.device),
        DataLoader(val, 2000, device=args.device),
        optimizer,
        loss_fn,
        epochs=args.epochs,
        scheduler=schedule,
        out_dir=args.out,
        config={
            "model": "mlp",
            "in_features": 784,
            "side": 28,
            "hidden": [256, 128],
            "activation": "relu",
            "num_classes": 10,
            "dataset": "fashion-mnist",
            "classes": list(full.classes),
            "normalization": full.normalization,
        },
    )
    result = report(model, DataLoader(test, 2000, device=args.device), full.classes, args.out)
    print(f"test accuracy: {result.accuracy:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
