"""Fashion-MNIST with a small convolutional network: about 91-92% test accuracy in 5 epochs.

    python examples/fashion_mnist_cnn.py [--epochs 5] [--limit N] [--channels 32,64]
                                         [--data-dir DIR] [--download] [--device cpu|cuda]
                                         [--out DIR]

The network is the CLI's `--model cnn` (tinygrad_digits.training.models.CNN): two blocks of 3x3
convolution, batch norm, 2x2 max pool and ReLU (28x28 -> 14x14 -> 7x7), dropout, a dense layer
of 128 and the 10 class scores. It trains with Adam, a cosine learning-rate decay and
cross-entropy with label smoothing 0.1, keeps the epoch with the best validation accuracy
(5,000 training images are held out for that; 10% with --limit) and ends with the test
accuracy and the confusion matrix by class name.

The data is found in --data-dir, TINYGRAD_DIGITS_DATA, the cache folder, or the shared copy in
../shared/data/fashion-mnist beside this checkout; --download fetches it (about 30 MB).
--limit N trains on the first N training images and tests on the first N test images: a quick
run to see that everything works (e.g. --epochs 1 --limit 500 takes a few seconds).
An epoch on the full data takes about 40 s on one CPU core.
"""

from __future__ import annotations

import argparse
import sys

import tinygrad_digits as tg
from tinygrad_digits import optim
from tinygrad_digits.data import (
    DataLoader,
    DatasetNotFoundError,
    FashionMNIST,
    Subset,
    split_dataset,
)
from tinygrad_digits.nn import functional as F
from tinygrad_digits.training import fit, report
from tinygrad_digits.training.models import build_model, describe, make_config, parse_hidden


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="use only N train/test images")
    parser.add_argument("--channels", default="32,64", help="conv widths (default 32,64)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="save model, history and plots here")
    args = parser.parse_args()
    if args.epochs < 1 or (args.limit is not None and args.limit < 20):
        parser.error("--epochs must be at least 1 and --limit at least 20")

    try:
        full = FashionMNIST(args.data_dir, train=True, download=args.download)
        test = FashionMNIST(args.data_dir, train=False, download=args.download)
    except DatasetNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    data = full
    if args.limit is not None:
        data = Subset(full, range(min(args.limit, len(full))))
        test = Subset(test, range(min(args.limit, len(test))))
    held_out = 0.1 if args.limit is not None else 5000 / len(full)
    train, val = split_dataset(data, val_fraction=held_out, seed=args.seed)
    print(f"Fashion-MNIST: {len(train)} training, {len(val)} validation, {len(test)} test images")

    config = make_config(
        "cnn",
        side=28,
        channels=parse_hidden(args.channels),
        dataset="fashion-mnist",
        classes=list(full.classes),
        normalization=full.normalization,
    )
    tg.manual_seed(args.seed)
    model = build_model(config, device=args.device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {describe(config)} ({n_params:,} parameters) on {args.device}")
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    def loss_fn(logits: tg.Tensor, labels: tg.Tensor) -> tg.Tensor:
        return F.cross_entropy(logits, labels, label_smoothing=0.1)

    fit(
        model,
        DataLoader(train, args.batch_size, shuffle=True, seed=args.seed, device=args.device),
        DataLoader(val, 500, device=args.device),
        optimizer,
        loss_fn,
        epochs=args.epochs,
        scheduler=schedule,
        out_dir=args.out,
        config=config,
        plots=args.out is not None,
    )
    result = report(model, DataLoader(test, 500, device=args.device), full.classes, args.out)
    print(f"test accuracy: {result.accuracy:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
