"""Turn what the user has (tensors, a Graph, or a model and an example input) into a graph,
and render it with Graphviz: `draw` gives a `graphviz.Source` (inline in Jupyter), `save`
writes a file and keeps the DOT text when Graphviz's `dot` program is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..autograd.tensor import Tensor
from .graph import Graph, _is_module, capture, trace

INSTALL_GRAPHVIZ = (
    "Install Graphviz to render it: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS), `conda install -c conda-forge graphviz`, or the "
    "installer from https://graphviz.org/download/ (Windows); then check that `dot -V` works."
)
FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "ps", "eps", "json", "plain", "dot", "gv")


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's `dot` program is not installed (the DOT text was still written)."""


def as_graph(
    *args: Any,
    params: Any = None,
    model: Any = None,
    inputs: Any = None,
    target: Any = None,
    loss_fn: Any = None,
    backward: bool | None = None,
    values: bool = True,
) -> Graph:
    """A Graph from a Graph, from tensors (captured now), or from `model, *example_inputs`.

    For a model, the forward pass runs inside `trace`; with `target` (class labels, cross-
    entropy by default) or `loss_fn(out[, target])` the loss is computed and, unless
    `backward=False`, backward runs too so the picture shows gradients (it leaves the model's
    `.grad` as they were, as `tinygrad_digits.grad` does).
    """
    if len(args) == 1 and isinstance(args[0], Graph):
        return args[0]
    if not args:
        raise TypeError("nothing to draw: pass tensors, a viz.Graph, or a model and an input")
    if _is_module(args[0]):
        return _run_model(args[0], args[1:], params, inputs, target, loss_fn, backward, values)
    graph = capture(*args, params=params, model=model, inputs=inputs, values=values)
    if backward:
        graph.backward()
    return graph


def _run_model(
    model: Any,
    xs: tuple[Any, ...],
    params: Any,
    inputs: Any,
    target: Any,
    loss_fn: Any,
    backward: bool | None,
    values: bool,
) -> Graph:
    from ..autograd.factories import tensor as make_tensor

    if not xs:
        raise TypeError(
            f"to draw a {type(model).__name__}, pass an example input too: draw(model, x)"
        )
    xs = tuple(x if isinstance(x, Tensor) else make_tensor(x) for x in xs)
    if target is not None and not isinstance(target, Tensor):
        target = make_tensor(target, device=xs[0].device)
    if inputs is None:
        inputs = {"input": xs[0]} if len(xs) == 1 else {f"input{i}": x for i, x in enumerate(xs)}
        if target is not None:
            inputs["target"] = target
    tracer = trace(model=model, params=params, inputs=inputs, values=values)
    with tracer as graph:
        out = model(*xs)
        loss = out
        if loss_fn is not None:
            loss = loss_fn(out, target) if target is not None else loss_fn(out)
        elif target is not None:
            loss = _cross_entropy(out, target)
        if backward is None:
            backward = loss is not out
        if backward and loss.numel() != 1:
            loss = loss.sum()
        tracer.mark_output(loss)
        if backward:
            _gradients_without_touching_grad(graph, loss)
    return graph


def _gradients_without_touching_grad(graph: Graph, loss: Tensor) -> None:
    """Backward for the picture only: op gradients reach the trace's observer, leaf gradients
    are returned (as torch.autograd.grad), and the model's `.grad` stay as they were."""
    from ..autograd.grad_api import grad
    from .graph import summarize

    leaves = [(node, t) for node, t in graph._leaves if t.requires_grad]
    found = grad(loss, [t for _, t in leaves], allow_unused=True) if leaves else ()
    for (node, _), g in zip(leaves, found):
        node.grad = summarize(g)
    graph.leaf_grads_fixed = True


def _cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    from ..nn import functional as F

    return F.cross_entropy(logits, target)


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            "draw() needs the graphviz Python package: pip install 'tinygrad-digits[viz]' "
            "(or pip install graphviz). viz.to_dot() and viz.save(..., 'graph.dot') work "
            "without it."
        ) from exc
    return graphviz


def dot_available() -> bool:
    """Whether Graphviz's `dot` program is on PATH."""
    return shutil.which("dot") is not None


def draw(*args: Any, format: str = "svg", **kw: Any) -> Any:  # noqa: A002
    """A `graphviz.Source` of the picture (shows inline in Jupyter; `.render()` writes files).

    Takes what `to_dot` takes: tensors, a `viz.Graph`, or `model, x` (plus `target=y` or
    `loss_fn=` to include the loss and gradients). Needs the `graphviz` Python package, and
    Graphviz's `dot` program to render.
    """
    from .dot import to_dot

    graphviz = _graphviz()
    src = to_dot(*args, **kw)
    return _source_class(graphviz)(src, format=format)


_SOURCE_CLASS: Any = None


def _source_class(graphviz: Any) -> Any:
    """graphviz.Source that explains a missing `dot` instead of a bare traceback."""
    global _SOURCE_CLASS
    if _SOURCE_CLASS is None:

        class GraphSource(graphviz.Source):
            def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
                try:
                    return super()._repr_mimebundle_(include, exclude, **kwargs)
                except graphviz.ExecutableNotFound:
                    return {"text/plain": f"Graphviz's dot was not found. {INSTALL_GRAPHVIZ}"}

            def render(self, *a: Any, **k: Any) -> Any:
                try:
                    return super().render(*a, **k)
                except graphviz.ExecutableNotFound as exc:
                    raise GraphvizNotFoundError(
                        f"Graphviz's dot program was not found. {INSTALL_GRAPHVIZ}"
                    ) from exc

            def save_picture(self, path: str | os.PathLike) -> Path:
                return save(self.source, path)

        _SOURCE_CLASS = GraphSource
    return _SOURCE_CLASS


def save(graph_or_dot: Any, path: str | os.PathLike, *args: Any, **kw: Any) -> Path:
    """Write the picture to `path`; the format comes from the suffix (.svg, .png, .pdf, .dot).

    Needs neither the graphviz package nor, for .dot/.gv, the dot program. When `dot` is
    missing, the DOT text goes to `path` with suffix .dot and GraphvizNotFoundError says how to
    install Graphviz. Extra arguments go to `to_dot` (graph_or_dot may be DOT text already).
    """
    from .dot import to_dot

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "svg"
    if fmt not in FORMATS:
        raise ValueError(f"unknown picture format {fmt!r} for {path}: use one of {FORMATS}")
    if isinstance(graph_or_dot, str) and graph_or_dot.lstrip().startswith(("digraph", "graph")):
        src = graph_or_dot
    else:
        src = to_dot(graph_or_dot, *args, **kw)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("dot", "gv"):
        path.write_text(src, encoding="utf-8")
        return path
    exe = shutil.which("dot")
    if exe is None:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(src, encoding="utf-8")
        raise GraphvizNotFoundError(
            f"Graphviz's dot program was not found, so {path} was not drawn; the graph was "
            f"written as DOT text to {dot_path}. {INSTALL_GRAPHVIZ} Then run: "
            f"dot -T{fmt} {dot_path} -o {path}"
        )
    done = subprocess.run(
        [exe, f"-T{fmt}", "-o", str(path)],
        input=src.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(src, encoding="utf-8")
        raise RuntimeError(
            f"dot failed ({done.returncode}) drawing {path}: "
            f"{done.stderr.decode(errors='replace').strip()} (DOT text kept in {dot_path})"
        )
    return path
