"""A tiny transformer, written the way PyTorch users write their own models, learns to reverse
a sequence of digits.

It uses nn.Embedding (tokens and positions), nn.LayerNorm, F.scaled_dot_product_attention,
F.silu and gather (the loss picks each target's log-probability), and in-place updates inside
the graph (`h += ...`, as model code does). It trains in seconds on a CPU and must reach 99%
token accuracy on sequences it has never seen.

    python examples/tiny_transformer.py [--device cpu|strict|cuda] [--steps 300]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import tinygrad_digits as tg
from tinygrad_digits import nn, optim
from tinygrad_digits.nn import functional as F

LENGTH, DIGITS = 6, 10


class Block(nn.Module):
    """Pre-norm attention and a SiLU MLP, each added back to the residual stream in place."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.up, self.down = nn.Linear(width, 2 * width), nn.Linear(2 * width, width)

    def forward(self, h: tg.Tensor) -> tg.Tensor:
        n, length, width = h.shape
        q, k, v = self.qkv(self.norm1(h)).chunk(3, dim=-1)
        q, k, v = (t.reshape(n, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        mixed = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, length, width)
        h += self.out(mixed)
        h += self.down(F.silu(self.up(self.norm2(h))))
        return h


class TinyTransformer(nn.Module):
    def __init__(self, width: int = 32, heads: int = 2, layers: int = 1) -> None:
        super().__init__()
        self.tokens = nn.Embedding(DIGITS, width)
        self.positions = nn.Embedding(LENGTH, width)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, DIGITS)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        where = tg.arange(x.shape[1], device=x.device)
        h = self.tokens(x) + self.positions(where)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))


def batch(rng: np.random.Generator, n: int, device: str) -> tuple[tg.Tensor, tg.Tensor]:
    x = rng.integers(0, DIGITS, (n, LENGTH))
    return tg.tensor(x, device=device), tg.tensor(x[:, ::-1].copy(), device=device)


def loss_of(logits: tg.Tensor, target: tg.Tensor) -> tg.Tensor:
    """Cross-entropy written out with gather: -log p(target) at every position."""
    picked = logits.log_softmax(-1).gather(-1, target.unsqueeze(-1))
    return -picked.mean()


def train(device: str = "cpu", steps: int = 300, seed: int = 0) -> tuple[TinyTransformer, float]:
    """Train on fresh random sequences; return the model and its accuracy on unseen ones."""
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TinyTransformer().to(device)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        x, y = batch(rng, 64, device)
        loss = loss_of(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = batch(np.random.default_rng(seed + 1), 512, device)
    with tg.no_grad():
        accuracy = (model(x).argmax(-1) == y).float().mean().item()
    return model, accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    model, accuracy = train(args.device, args.steps)
    x = tg.tensor([[3, 1, 4, 1, 5, 9]], device=args.device)
    with tg.no_grad():
        print("reverse of", x.tolist()[0], "->", model(x).argmax(-1).tolist()[0])
    print(f"token accuracy on unseen sequences: {accuracy:.3f}")
    if accuracy < 0.99:
        print("NOT LEARNED: accuracy below 0.99", file=sys.stderr)
        return 1
    print("learned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
