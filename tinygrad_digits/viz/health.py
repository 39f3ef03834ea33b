"""Gradient health: sort each recorded gradient into ok, zero, vanishing, exploding or
non-finite, give each class its colour, and report the findings as data."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics.findings import ERROR, WARNING, Finding, rank
from ..diagnostics.thresholds import DEAD_FRACTION, EXPLODING_NORM, VANISHING_NORM
from .graph import OP, Graph, Node, Summary

OK, ZERO, VANISHING, EXPLODING, NONFINITE = "ok", "zero", "vanishing", "exploding", "nonfinite"
DEAD_RELU = "dead_relu"
NONFINITE_VALUE = "nonfinite_value"  # a NaN/inf first appears in an op's forward output
NONFINITE_GRAD_BORN = "nonfinite_grad_born"  # an op's backward turns a finite gradient into NaN/inf

# Edge / border colour of each status, and the fill a node gets when its status is bad.
COLOR = {
    OK: "#2f9e44",
    ZERO: "#868e96",
    VANISHING: "#1971c2",
    EXPLODING: "#e8590c",
    NONFINITE: "#e03131",
}
FILL = {ZERO: "#dee2e6", VANISHING: "#d0ebff", EXPLODING: "#ffd8a8", NONFINITE: "#ffc9c9"}
DEAD_COLOR = "#9c36b5"  # a ReLU whose outputs are all 0: the cause of the zeros upstream
EDGE_STYLE = {ZERO: "dotted", VANISHING: "dashed", EXPLODING: "bold", NONFINITE: "bold"}
DESCRIPTION = {
    OK: "gradient ok",
    ZERO: "gradient exactly 0 (dead)",
    VANISHING: "vanishing gradient",
    EXPLODING: "exploding gradient",
    NONFINITE: "NaN / inf gradient",
}
# Worst first: a collapsed module shows the worst status inside it.
SEVERITY = {NONFINITE: 4, EXPLODING: 3, ZERO: 2, VANISHING: 1, OK: 0}
# Greens for healthy gradients, light (small norm) to dark (large norm).
_GREENS = ["#8ce99a", "#69db7c", "#51cf66", "#40c057", "#37b24d", "#2f9e44", "#2b8a3e"]


def classify(
    s: Summary | None, vanishing: float = VANISHING_NORM, exploding: float = EXPLODING_NORM
) -> str | None:
    """The status of one gradient summary (None when no gradient was recorded)."""
    if s is None:
        return None
    if not s.finite:
        return NONFINITE
    if s.norm == 0:
        return ZERO
    if s.norm < vanishing:
        return VANISHING
    if s.norm > exploding:
        return EXPLODING
    return OK


def ok_color(norm: float, lo: float, hi: float) -> str:
    """A green whose darkness grows with log10(norm) between the graph's smallest and largest
    healthy norms."""
    if not (hi > lo > 0) or norm <= 0:
        return _GREENS[len(_GREENS) // 2]
    t = (math.log10(norm) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    return _GREENS[min(len(_GREENS) - 1, max(0, int(t * len(_GREENS))))]


# Each finding's severity and fix; the message says what was measured.
_SEVERITY = {
    NONFINITE_VALUE: ERROR,
    NONFINITE_GRAD_BORN: ERROR,
    NONFINITE: ERROR,
    EXPLODING: WARNING,
    ZERO: WARNING,
    DEAD_RELU: WARNING,
    VANISHING: WARNING,
}
_ADVICE = {
    NONFINITE_VALUE: "keep log/sqrt/division inputs away from 0 (clamp(min=1e-7)), or use "
    "cross_entropy on logits instead of log(softmax(...))",
    NONFINITE_GRAD_BORN: "keep the input of sqrt/log/division away from 0 (clamp(min=1e-7)); "
    "tinygrad_digits.detect_anomaly() names the line",
    NONFINITE: "find where it is born (the nonfinite_value / nonfinite_grad_born findings), or "
    "run the step under tinygrad_digits.detect_anomaly()",
    EXPLODING: "lower the learning rate, clip gradients (nn.utils.clip_grad_norm_), normalise "
    "the inputs, start from smaller weights",
    ZERO: "look between here and the loss for a dead ReLU, a detach() or a loss that ignores "
    "this output",
    DEAD_RELU: "lower the learning rate, use Kaiming init (nn.init.kaiming_uniform_) or LeakyReLU",
    VANISHING: "use ReLU with Kaiming init instead of sigmoid/tanh, fewer layers, or "
    "normalised inputs",
}


def _finding(code: str, node: Node, value: float | None, message: str) -> Finding:
    return Finding(code, _SEVERITY[code], describe(node), message, _ADVICE[code], value, node.id)


@dataclass
class HealthReport:
    """Findings (worst first) plus one row per tensor that has a gradient, in graph order."""

    findings: list[Finding]
    rows: list[dict[str, Any]] = field(default_factory=list)
    vanishing: float = VANISHING_NORM
    exploding: float = EXPLODING_NORM

    @property
    def ok(self) -> bool:
        return not self.findings

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def __iter__(self):
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __str__(self) -> str:
        if not self.rows:
            return "no gradients recorded: run backward inside viz.trace(), or use Graph.backward()"
        head = f"{'tensor':<28} {'shape':<14} {'grad norm':>10} {'mean':>10}  status"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r['label'][:28]:<28} {str(r['shape'])[:14]:<14} {_g(r['norm']):>10} "
                f"{_g(r['mean']):>10}  {r['status']}"
            )
        lines.append("")
        if self.ok:
            lines.append("gradients look healthy")
        for f in self.findings:
            lines.append(f"[{f.code}] {f.message}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The report as a table in a notebook, the findings below it."""
        from ..progress import html_table, html_text

        if not self.rows:
            return html_text(str(self))
        rows = [
            [r["label"], r["shape"], _g(r["norm"]), _g(r["mean"]), r["status"]] for r in self.rows
        ]
        table = html_table(["tensor", "shape", "grad norm", "mean", "status"], rows)
        found = "\n".join(f"[{f.code}] {f.message}" for f in self.findings)
        return table + html_text(found or "gradients look healthy")


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def describe(node: Node) -> str:
    """A short name for a node in messages: "fc1.weight", or "Relu n7 in act"."""
    if node.kind != OP:
        return node.label or f"{node.kind} {node.id}"
    return f"{node.label} {node.id} in {node.scope}" if node.scope else f"{node.label} {node.id}"


def _inputs_finite(graph: Graph, node: Node, what: str) -> bool:
    """Whether the `what` ("value" or "grad") of every input of `node` is finite (or absent)."""
    summaries = (getattr(graph.by_id[i], what) for i in node.inputs)
    return all(s is None or s.finite for s in summaries)


def nan_born_here(graph: Graph, node: Node) -> bool:
    """Whether a NaN/inf first appears in this op's forward output (its inputs are finite):
    where to look for log(0), 0/0 or an overflow."""
    v = node.value
    return (
        node.kind == OP and v is not None and not v.finite and _inputs_finite(graph, node, "value")
    )


def grad_nan_born_here(graph: Graph, node: Node) -> bool:
    """Whether this op's backward made a NaN/inf: its own gradient is finite, but one it sent
    back is not (sqrt'(0), log'(0), 0/0 in a backward rule)."""
    g = node.grad
    return (
        node.kind == OP and g is not None and g.finite and not _inputs_finite(graph, node, "grad")
    )


def is_dead_relu(node: Node, dead_fraction: float = DEAD_FRACTION) -> bool:
    """A ReLU whose outputs are (almost) all 0: no gradient gets through it."""
    v = node.value
    return (
        node.kind == OP and node.label == "Relu" and v is not None and v.zero_frac >= dead_fraction
    )


def health_report(
    *args: Any,
    vanishing: float = VANISHING_NORM,
    exploding: float = EXPLODING_NORM,
    dead_fraction: float = DEAD_FRACTION,
    **kw: Any,
) -> HealthReport:
    """Find NaN/inf, exploding, vanishing and all-zero gradients, and ReLUs that are dead
    (at least `dead_fraction` of outputs 0). Takes a Graph, or what `draw` takes
    (`health_report(model, x, target=y)` runs forward and backward first)."""
    from .draw import as_graph

    graph: Graph = as_graph(*args, **kw)
    graph.refresh_leaf_grads()
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = []
    for node in graph.nodes:
        if nan_born_here(graph, node):
            v = node.value
            findings.append(
                _finding(
                    NONFINITE_VALUE,
                    node,
                    None,
                    f"{describe(node)}: its output has {v.nan} NaN and {v.inf} inf values while "
                    "its inputs are finite: the NaN is born here (log(0)? 0/0? overflow?)",
                )
            )
        if grad_nan_born_here(graph, node):
            findings.append(
                _finding(
                    NONFINITE_GRAD_BORN,
                    node,
                    node.grad.norm,
                    f"{describe(node)}: its gradient is finite but what its backward sends to "
                    "its inputs holds NaN/inf: the backward rule meets a singular point here "
                    "(sqrt or log at 0, division by 0)",
                )
            )
        if is_dead_relu(node, dead_fraction):
            findings.append(
                _finding(
                    DEAD_RELU,
                    node,
                    node.grad.norm if node.grad else None,
                    f"{describe(node)}: {node.value.zero_frac:.0%} of outputs are 0, so no "
                    "gradient flows back through it (check the bias / init / learning rate)",
                )
            )
        s = node.grad
        status = classify(s, vanishing, exploding)
        if status is None:
            continue
        rows.append(
            {
                "id": node.id,
                "label": describe(node),
                "kind": node.kind,
                "scope": node.scope,
                "shape": node.shape,
                "norm": s.norm,
                "mean": s.mean,
                "min": s.min,
                "max": s.max,
                "nan": s.nan,
                "inf": s.inf,
                "status": status,
            }
        )
        if status == OK:
            continue
        what = describe(node)
        if status == NONFINITE:
            msg = f"{what}: gradient has {s.nan} NaN and {s.inf} inf values"
        elif status == ZERO:
            msg = f"{what}: gradient is exactly zero, nothing flows back here"
        elif status == VANISHING:
            msg = f"{what}: gradient norm {s.norm:.3g} is below {vanishing:g}"
        else:
            msg = f"{what}: gradient norm {s.norm:.3g} is above {exploding:g}"
        findings.append(_finding(status, node, s.norm, msg))
    findings.sort(key=lambda f: (rank(f), int(f.node[1:])))
    return HealthReport(findings, rows, vanishing, exploding)
