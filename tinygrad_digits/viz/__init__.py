"""Pictures of computation graphs: forward and backward views, modules as boxes, gradient health.

    from tinygrad_digits import viz
    viz.to_dot(loss, params=model)            # DOT text, no Graphviz needed
    viz.draw(model, x, target=y)              # graphviz.Source: forward, loss, backward, health
    viz.save(g, "mlp.svg")                    # writes the file (DOT kept if `dot` is missing)
    viz.health_report(model, x, target=y)     # the findings as data

Rendering needs the optional `graphviz` package (pip install "tinygrad-digits[viz]") and
Graphviz's `dot` program; `to_dot`, `capture`, `trace` and `health_report` need neither.
"""

from .dot import to_dot
from .draw import GraphvizNotFoundError, as_graph, dot_available, draw, save
from .graph import Graph, Node, Summary, capture, summarize, trace, watch_grads
from .health import Finding, HealthReport, classify, health_report

__all__ = [
    "Finding",
    "Graph",
    "GraphvizNotFoundError",
    "HealthReport",
    "Node",
    "Summary",
    "as_graph",
    "capture",
    "classify",
    "dot_available",
    "draw",
    "health_report",
    "save",
    "summarize",
    "to_dot",
    "trace",
    "watch_grads",
]
