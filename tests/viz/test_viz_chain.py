"""Deep graphs: a 10,000-op chain gives DOT without RecursionError (capture, backward, trace)."""

from __future__ import annotations

import sys

import tinygrad_digits as tg
from tinygrad_digits import viz

N = 10_000


def chain(n: int = N):
    x = tg.tensor([0.5, -0.25], requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0001
    return x, y.sum()


def test_ten_thousand_op_chain_to_dot(monkeypatch):
    monkeypatch.setattr(sys, "getrecursionlimit", lambda: 1000)  # nothing may rely on raising it
    x, loss = chain()
    g = viz.capture(loss, params={"x": x}, values=False)
    assert sum(n.kind == "op" for n in g.nodes) == N + 1
    g.backward()
    dot = viz.to_dot(g, legend=False)
    assert dot.count(" -> ") == 2 * N + 1  # each Mul reads the previous result and a constant
    assert dot.rstrip().endswith("}")
    back = viz.to_dot(g, view="backward", legend=False)
    assert back.count(" -> ") == N + 1  # gradients never go to constants


def test_ten_thousand_op_chain_traced():
    with viz.trace(values=False) as g:
        x, loss = chain()
        loss.backward()
    assert len(viz.to_dot(g, grads=True, legend=False).splitlines()) > 2 * N


def test_a_graph_with_in_place_ops_is_drawn_as_it_ran():
    """micrograd's `c += c + 1`: the node made before the change reads c's old history, so the
    walk finds no cycle and draws each op once."""
    a = tg.tensor(-4.0, requires_grad=True)
    b = tg.tensor(2.0, requires_grad=True)
    c = a + b
    c += c + 1
    c += 1 + c + (-a)
    graph = viz.capture(c)
    ops = [n.label for n in graph.nodes if n.label]
    assert sorted(ops) == ["Add"] * 6 + ["Neg"]
