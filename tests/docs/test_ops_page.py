"""docs/ops.md lists every op: each public function of tinygrad_digits, nn.functional and every
nn layer is named on the page, so a new op can't land without its line."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from tinygrad_digits import nn
from tinygrad_digits.autograd import tensor_functions

PAGE = Path(__file__).resolve().parents[2] / "docs" / "ops.md"


def test_every_op_and_layer_is_on_the_ops_page() -> None:
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", PAGE.read_text()))
    layers = {
        n
        for n in nn.__all__
        if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)
    }
    ops = set(tensor_functions.__all__) | set(nn.functional.__all__) | layers
    ops |= {"cat", "stack", "where", "einsum", "meshgrid"}
    assert ops - {"Module"} - named == set()
