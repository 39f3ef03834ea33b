"""Pictures through the real Graphviz `dot`: SVG parsed as XML with the expected labels, a
10-layer MLP on a batch, folding, and what happens when `dot` is missing."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

import tinygrad_digits as tg
from tinygrad_digits import nn, viz

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's dot is not installed (apt-get install graphviz / brew install graphviz)",
)
SVG = "{http://www.w3.org/2000/svg}"


def svg_of(path) -> ET.Element:
    return ET.parse(path).getroot()


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def svg_nodes(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


def svg_clusters(root: ET.Element) -> list[str]:
    out = []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "cluster":
            out.append(g.find(f"{SVG}title").text)
    return out


def mlp_step(depth_layers: int = 2, batch: int = 8):
    tg.manual_seed(0)
    model = nn.MLP(12, [10] * (depth_layers - 1), 4)
    x = tg.randn(batch, 12)
    y = tg.randint(0, 4, (batch,))
    return model, x, y


@needs_dot
def test_svg_has_the_expected_labels(tmp_path):
    model, x, y = mlp_step()
    g = viz.as_graph(model, x, target=y)
    path = viz.save(g, tmp_path / "mlp.svg")
    root = svg_of(path)
    words = texts(root)
    for label in ("input", "target", "layers.0.weight", "layers.1.bias", "Linear", "Relu"):
        assert label in words, label
    assert "CrossEntropy" in words
    assert "(8, 10) float32 cpu" in words
    assert any(w.startswith("grad norm") for w in words)
    assert {"cluster_root", "cluster_layers_0", "cluster_act"} <= set(svg_clusters(root))
    assert len(svg_nodes(root)) == len(g.nodes) + 1  # + the legend


@needs_dot
def test_backward_view_renders(tmp_path):
    model, x, y = mlp_step()
    g = viz.as_graph(model, x, target=y)
    words = texts(svg_of(viz.save(g, tmp_path / "bw.svg", view="backward")))
    assert "LinearBackward" in words and "AccumulateGrad" in words
    assert any(w.startswith("saved for backward") for w in words)


@needs_dot
def test_ten_layer_mlp_renders_and_folding_shrinks_it(tmp_path):
    model, x, y = mlp_step(depth_layers=10, batch=16)
    g = viz.as_graph(model, x, target=y)
    assert sum(n.label == "Linear" for n in g.nodes) == 10
    full = svg_nodes(svg_of(viz.save(g, tmp_path / "full.svg")))
    folded = svg_nodes(svg_of(viz.save(g, tmp_path / "folded.svg", depth=1)))
    one_layer = svg_nodes(svg_of(viz.save(g, tmp_path / "one.svg", collapse=["layers.4"])))
    assert len(full) == 10 * 3 + 9 + 3 + 1  # Linear+W+b, ReLUs, input/target/loss, legend
    assert len(folded) == 19 + 3 + 1  # 10 Linear boxes + 9 ReLU boxes
    assert len(one_layer) == len(full) - 2
    assert (tmp_path / "folded.svg").stat().st_size < (tmp_path / "full.svg").stat().st_size


@needs_dot
@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_other_formats(tmp_path, fmt):
    loss = (tg.randn(3, requires_grad=True) * 2).sum()
    path = viz.save(loss, tmp_path / f"g.{fmt}")
    head = path.read_bytes()[:8]
    assert head.startswith(b"\x89PNG" if fmt == "png" else b"%PDF")


@needs_dot
def test_draw_gives_a_graphviz_source_that_renders():
    graphviz = pytest.importorskip("graphviz")
    model, x, y = mlp_step()
    src = viz.draw(model, x, target=y, depth=1)
    assert isinstance(src, graphviz.Source)
    svg = src.pipe(format="svg").decode()
    assert "layers.0" in svg
    bundle = src._repr_mimebundle_()  # what Jupyter shows inline
    assert "image/svg+xml" in bundle


def test_dot_file_is_always_written(tmp_path):
    loss = (tg.randn(3, requires_grad=True) * 2).sum()
    path = viz.save(loss, tmp_path / "sub" / "g.dot")
    assert path.read_text().startswith("digraph forward")


def test_missing_dot_keeps_the_dot_text_and_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    loss = (tg.randn(3, requires_grad=True) * 2).sum()
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.save(loss, tmp_path / "g.svg")
    msg = str(info.value)
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert "conda" in msg and str(tmp_path / "g.dot") in msg
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert not (tmp_path / "g.svg").exists()


def test_missing_dot_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no dot anywhere
    assert not viz.dot_available()
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        viz.save((tg.randn(2, requires_grad=True) * 3).sum(), tmp_path / "g.png")
    assert (tmp_path / "g.dot").exists()


def test_jupyter_display_without_dot_explains(monkeypatch):
    graphviz = pytest.importorskip("graphviz")
    src = viz.draw((tg.randn(2, requires_grad=True) * 3).sum())

    def missing(*a, **k):
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(graphviz.Source, "_repr_mimebundle_", missing)
    monkeypatch.setattr(graphviz.Source, "render", missing)
    assert "apt-get install graphviz" in src._repr_mimebundle_()["text/plain"]
    with pytest.raises(viz.GraphvizNotFoundError, match="brew install graphviz"):
        src.render("out")


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown picture format"):
        viz.save((tg.randn(2, requires_grad=True) * 3).sum(), tmp_path / "g.docx")


@needs_dot
def test_the_docs_pictures_script_runs(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "make_graph_pictures.py"
    spec = importlib.util.spec_from_file_location("make_graph_pictures", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    made = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert made == [
        "gradient_health.svg",
        "mlp_backward.svg",
        "mlp_collapsed.svg",
        "mlp_forward.svg",
        "nan_gradient.svg",
    ]
    for name in made:
        svg_of(tmp_path / name)  # each parses as XML
