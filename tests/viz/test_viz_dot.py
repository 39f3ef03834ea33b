"""Structure of the DOT text for small known graphs: nodes, edges, labels, clusters, colours,
determinism, the backward view's saved values, and the errors users meet."""

from __future__ import annotations

import re
import sys

import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, viz
from tinygrad_digits.viz import health as H

NODE = re.compile(r"^\s*(n\d+) \[", re.M)
EDGE = re.compile(r"^\s*([nm]\d+) -> ([nm]\d+)", re.M)


def nodes(dot: str) -> list[str]:
    return NODE.findall(dot)


def edges(dot: str) -> list[tuple[str, str]]:
    return EDGE.findall(dot)


def node_line(dot: str, nid: str) -> str:
    return next(line for line in dot.splitlines() if line.strip().startswith(f"{nid} ["))


def small_graph():
    """loss = sum(relu(x @ w + b) * 2): 5 ops, 4 leaves (x, w, b, the constant 2)."""
    x = tg.tensor([[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]])
    w = tg.tensor([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]], requires_grad=True)
    b = tg.tensor([0.1, -0.2], requires_grad=True)
    loss = ((x @ w + b).relu() * 2).sum()
    return loss, {"w": w, "b": b}, x


def test_small_graph_nodes_edges_and_labels():
    loss, params, x = small_graph()
    dot = viz.to_dot(loss, params=params, inputs={"x": x})
    assert dot.startswith("digraph forward {")
    assert nodes(dot) == [f"n{i}" for i in range(9)]  # 5 ops + x, w, b, constant 2
    # post-order: inputs before the ops that read them, the loss last
    assert edges(dot) == [
        ("n0", "n2"),
        ("n1", "n2"),
        ("n2", "n4"),
        ("n3", "n4"),
        ("n4", "n5"),
        ("n5", "n7"),
        ("n6", "n7"),
        ("n7", "n8"),
    ]
    assert "<B>MatMul</B>" in node_line(dot, "n2")
    assert "(2, 2) float32 cpu" in node_line(dot, "n2")
    assert "<B>w</B>" in node_line(dot, "n1") and "(3, 2) float32 cpu" in node_line(dot, "n1")
    assert "<B>x</B>" in node_line(dot, "n0")
    assert "<B>2</B>" in node_line(dot, "n6") and "constant" in node_line(dot, "n6")
    assert "<B>Sum</B>" in node_line(dot, "n8") and "scalar" in node_line(dot, "n8")


def test_each_leaf_kind_has_its_colour_and_a_legend():
    loss, params, x = small_graph()
    dot = viz.to_dot(loss, params=params, inputs={"x": x})
    fill = viz.dot.FILL
    assert f'fillcolor="{fill["input"]}"' in node_line(dot, "n0")
    assert f'fillcolor="{fill["param"]}"' in node_line(dot, "n1")
    assert f'fillcolor="{fill["const"]}"' in node_line(dot, "n6")
    assert f'fillcolor="{fill["op"]}"' in node_line(dot, "n2")
    assert f'fillcolor="{fill["output"]}"' in node_line(dot, "n8")
    legend = next(line for line in dot.splitlines() if line.strip().startswith("legend ["))
    for text in ("input", "parameter", "constant", "op", "output"):
        assert f">{text}</FONT>" in legend
    assert "legend [" not in viz.to_dot(loss, legend=False)


def test_same_graph_gives_the_same_text():
    texts = []
    for _ in range(2):
        tg.manual_seed(3)
        model = nn.MLP(5, [4, 3], 2)
        x = tg.randn(6, 5)
        texts.append(viz.to_dot(model(x), params=model))
    assert texts[0] == texts[1]
    # and the ids do not depend on memory addresses
    assert "0x" not in texts[0]


def test_params_take_module_names_and_modules_become_clusters():
    tg.manual_seed(0)
    model = nn.MLP(5, [4, 3], 2)
    out = model(tg.randn(6, 5))
    dot = viz.to_dot(out, params=model)
    for name in ("layers.0.weight", "layers.0.bias", "layers.2.weight"):
        assert f"<B>{name}</B>" in dot
    assert "subgraph cluster_root {" in dot and 'label="MLP"' in dot
    assert "subgraph cluster_layers_0 {" in dot and 'label="layers.0: Linear"' in dot
    # the ModuleList never ran, so it gets no box of its own
    assert "cluster_layers {" not in dot
    # the one shared activation module runs twice: one box per call
    assert 'label="act: ReLU (call 1 of 2)"' in dot and 'label="act: ReLU (call 2 of 2)"' in dot


def test_nested_modules_nest_their_clusters_and_params_sit_in_their_module():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x).tanh()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Block()
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.encoder(x))

    tg.manual_seed(0)
    net = Net()
    dot = viz.to_dot(net(tg.randn(3, 4)), params=net)
    lines = dot.splitlines()
    start = lines.index("    subgraph cluster_encoder {")
    inner = lines.index("      subgraph cluster_encoder_fc {")
    weight = next(i for i, line in enumerate(lines) if "<B>encoder.fc.weight</B>" in line)
    tanh = next(i for i, line in enumerate(lines) if "<B>Tanh</B>" in line)
    assert start < inner < weight
    assert lines[tanh].startswith("      n")  # Tanh ran in encoder, not in encoder.fc
    assert 'label="encoder: Block"' in dot and 'label="encoder.fc: Linear"' in dot


def test_collapse_folds_a_module_into_one_node():
    tg.manual_seed(0)
    model = nn.MLP(5, [4, 3], 2)
    out = model(tg.randn(6, 5))
    full = viz.to_dot(out, params=model)
    folded = viz.to_dot(out, params=model, collapse=["layers.1"])
    assert len(nodes(folded)) == len(nodes(full)) - 3  # Linear op + weight + bias -> one box
    assert re.search(r'^\s*m0 \[.*<B>layers\.1</B>.*shape="box3d"', folded, re.M)
    assert "1 op, 2 params (15 values)" in folded
    assert "cluster_layers_1" not in folded
    # by type name, and by depth
    by_type = viz.to_dot(out, params=model, collapse="Linear")
    assert len(re.findall(r"^\s*m\d+ \[", by_type, re.M)) == 3
    whole = viz.to_dot(out, params=model, depth=0)
    assert nodes(whole) == ["n0"]  # only the input stays outside the one MLP box
    assert edges(whole) == [("n0", "m0")]


def test_backward_view_lists_what_each_op_saved():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0], requires_grad=True)
    loss = ((x * y).exp() + x.sum()).sum()
    g = viz.capture(loss, params={"x": x, "y": y})
    dot = viz.to_dot(g, view="backward")
    assert dot.startswith("digraph backward {")
    mul = next(line for line in dot.splitlines() if "<B>MulBackward</B>" in line)
    assert "input 0 x (2,)" in mul and "input 1 y (2,)" in mul  # Mul saves both inputs
    exp = next(line for line in dot.splitlines() if "<B>ExpBackward</B>" in line)
    assert "output (2,)" in exp and "input 0" not in exp  # Exp saves its output only
    add = next(line for line in dot.splitlines() if "<B>AddBackward</B>" in line)
    assert "saves nothing" in add
    assert "AccumulateGrad" in node_line(dot, "n0")
    # gradient flows from the loss to the leaves: edges point from the op to its inputs
    mul_id = mul.split()[0]
    assert (mul_id, "n0") in edges(dot) and (mul_id, "n1") in edges(dot)


def test_backward_view_leaves_out_tensors_that_get_no_gradient():
    loss, params, x = small_graph()
    dot = viz.to_dot(loss, params=params, inputs={"x": x}, view="backward")
    assert "<B>x</B>" not in dot
    assert len(nodes(dot)) == 7  # 5 ops + w + b; x and the constant get no gradient
    assert "input 0 x (2, 3)" in dot  # ...but MatMul's saved input still names it


def test_capture_then_backward_records_every_gradient():
    loss, params, x = small_graph()
    g = viz.capture(loss, params=params)
    assert not g.has_grads
    g.backward()
    assert all(n.grad is not None for n in g.nodes if n.requires_grad)
    mm = next(n for n in g.nodes if n.label == "MatMul")
    assert mm.grad.norm == pytest.approx(2.0)  # d loss / d (x @ w): 2 where relu passes (once)
    dot = viz.to_dot(g)
    assert "grad norm" in dot and "data norm" in dot  # summaries appear once grads exist
    assert f'color="{H.COLOR[H.OK]}"' in dot


def test_trace_records_a_training_step_and_module_stack_names():
    tg.manual_seed(0)
    model = nn.MLP(5, [4], 3)
    x, y = tg.randn(6, 5), tg.tensor([0, 1, 2, 0, 1, 2])
    with viz.trace() as g:  # no model given: names come from the module stack
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
    dot = viz.to_dot(g)
    assert 'label="MLP"' in dot and 'label="MLP.layers.0: Linear"' in dot
    out = [n for n in g.nodes if n.is_output]
    assert [n.label for n in out] == ["CrossEntropy"]
    assert all(n.grad is not None for n in g.nodes if n.requires_grad)


def test_draw_model_runs_forward_loss_and_backward():
    tg.manual_seed(0)
    model = nn.MLP(5, [4], 3)
    x, y = tg.randn(6, 5), tg.tensor([0, 1, 2, 0, 1, 2])
    g = viz.as_graph(model, x, target=y)
    assert g.nodes[-1].label == "CrossEntropy" and g.nodes[-1].is_output
    assert model.layers[0].weight.grad is None  # the picture's backward leaves .grad alone
    weight = next(n for n in g.nodes if n.label == "layers.0.weight")
    assert weight.grad is not None and weight.grad.norm > 0
    names = {n.label for n in g.nodes if n.kind != "op"}
    assert {"input", "target", "layers.0.weight", "layers.1.bias"} <= names
    forward_only = viz.as_graph(model, x)
    assert forward_only.nodes[-1].label == "Linear" and forward_only.nodes[-1].is_output


def test_to_dot_needs_neither_graphviz_nor_dot(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setenv("PATH", "")
    loss, params, _ = small_graph()
    assert viz.to_dot(loss, params=params).startswith("digraph")
    with pytest.raises(ImportError, match=r"pip install 'tinygrad-digits\[viz\]'"):
        viz.draw(loss)


def test_drawing_after_backward_draws_the_structure():
    loss, params, _ = small_graph()
    before = viz.to_dot(loss, params=params)
    loss.backward()
    after = viz.to_dot(loss, params=params)
    assert after.count("->") == before.count("->")  # every edge is still there


def test_retain_graph_still_draws_with_leaf_grads():
    loss, params, _ = small_graph()
    loss.backward(retain_graph=True)
    dot = viz.to_dot(loss, params=params)
    assert "grad norm" in node_line(dot, "n1")  # w's .grad is read


def test_labels_are_escaped():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.name = 'a<b>&"c"'
    dot = viz.to_dot((x * x).sum())
    assert "a&lt;b&gt;&amp;&quot;c&quot;" in dot


def test_bad_arguments_say_what_to_do():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"draw\(model, x\)"):
        viz.to_dot(model)
    with pytest.raises(ValueError, match="forward"):
        viz.to_dot(small_graph()[0], view="sideways")


def test_graphs_on_every_device(device):
    x = tg.randn(3, 4, device=device)
    w = tg.randn(4, 2, device=device, requires_grad=True)
    g = viz.capture((x @ w).tanh().sum(), params={"w": w})
    g.backward()
    dot = viz.to_dot(g)
    assert f"(3, 2) float32 {device}" in dot
    assert "grad norm" in dot


def test_drawing_mid_training_does_not_change_the_grads():
    tg.manual_seed(0)
    model = nn.MLP(5, [4], 3)
    x, y = tg.randn(6, 5), tg.tensor([0, 1, 2, 0, 1, 2])
    nn.functional.cross_entropy(model(x), y).backward()
    before = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
    viz.to_dot(model, x, target=y)
    viz.health_report(model, x, target=y)
    for k, p in model.named_parameters():
        assert (p.grad.numpy() == before[k]).all(), k
