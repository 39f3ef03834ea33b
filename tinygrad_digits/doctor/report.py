"""Report: every finding of a doctor run, with the measurements behind them, as data and text."""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from ..diagnostics.findings import ERROR, INFO, WARNING, Finding, at_least, sort_findings


@dataclass
class LayerRow:
    """One weight layer: what feeds on it, how stuck its units are, and its gradient and
    update sizes (medians over the steps)."""

    name: str
    shape: tuple[int, ...]
    activation: str | None = None
    stuck_start: float | None = None  # share of saturated (sigmoid/tanh) or dead (relu) units
    stuck_end: float | None = None
    grad_norm: float | None = None
    grad_to_weight: float | None = None
    update_to_weight: float | None = None


@dataclass
class Report:
    """What `diagnose` measured and concluded. `findings` is sorted worst first."""

    findings: list[Finding]
    summary: str = ""
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    loss_before: float | None = None
    loss_after: float | None = None
    baseline_after: float | None = None
    loss_kind: str | None = None
    num_classes: int | None = None
    layers: list[LayerRow] = field(default_factory=list)
    cost_words: str | None = None  # the final loss in words, when it is a known plateau

    def __post_init__(self) -> None:
        self.findings = sort_findings(self.findings)

    # --- as data ---------------------------------------------------------------------------
    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == INFO]

    @property
    def ok(self) -> bool:
        """True when nothing of warning severity or worse was found."""
        return not at_least(self.findings, WARNING)

    @property
    def first_fix(self) -> Finding | None:
        """The fix to try first: the worst finding, fixes that a trial measured helping
        (the largest gain) ahead of the others."""
        return self.findings[0] if self.findings and not self.ok else None

    @property
    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def __iter__(self):
        return iter(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and numbers (JSON-ready)."""
        return {
            "summary": self.summary,
            "steps": self.steps,
            "losses": list(self.losses),
            "loss_before": self.loss_before,
            "loss_after": self.loss_after,
            "baseline_after": self.baseline_after,
            "loss_kind": self.loss_kind,
            "num_classes": self.num_classes,
            "layers": [asdict(r) for r in self.layers],
            "cost_words": self.cost_words,
            "first_fix": self.first_fix.to_dict() if self.first_fix else None,
            "findings": [f.to_dict() for f in self.findings],
        }

    # --- as text ---------------------------------------------------------------------------
    def format(self) -> str:
        lines = [f"tinygrad-digits doctor: {self.summary}" if self.summary else "doctor report"]
        if self.loss_before is not None:
            line = f"loss on a fixed batch: {_g(self.loss_before)}"
            if self.loss_after is not None:
                line += f" -> {_g(self.loss_after)} after {self.steps} steps"
            if self.baseline_after is not None:
                # the loss of a net that ignores its input: near it, the net has learnt nothing
                baseline = _g(self.baseline_after)
                line += f" (every input answered with the net's average output: {baseline})"
            if self.loss_kind == "cross_entropy" and self.num_classes:
                line += f"; ln({self.num_classes}) = {math.log(self.num_classes):.4g}"
            lines.append(line)
        if self.cost_words:
            lines.append(f"  ({self.cost_words})")
        if self.layers:
            lines.append("")
            lines.append(_table(self.layers))
        lines.append("")
        if not self.findings:
            lines.append("no problems found")
        else:
            counts = ", ".join(
                f"{len(group)} {name}{'s' if len(group) > 1 else ''}"
                for name, group in (
                    ("error", self.errors),
                    ("warning", self.warnings),
                    ("note", self.infos),
                )
                if group
            )
            lines.append(f"findings: {counts}")
            lines += ["  " + f.format().replace("\n", "\n  ") for f in self.findings]
            first = self.first_fix
            if first is not None:
                lines.append(f"try first: {first.advice} [{first.code}]")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def _repr_html_(self) -> str:  # a notebook cell shows the report as printed, not its repr
        from ..progress import html_text

        return html_text(self.format())

    def print(self, file: IO[str] | None = None) -> None:
        print(self.format(), file=file if file is not None else sys.stdout)


def _g(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}"


def _e(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.1e}"


def _stuck(row: LayerRow) -> str:
    if row.activation is None:
        return "-"
    what = "dead" if row.activation == "relu" else "saturated"
    vals = [v for v in (row.stuck_start, row.stuck_end) if v is not None]
    if not vals:
        return "-"
    text = " -> ".join(f"{v:.0%}" for v in vals)
    return f"{what} {text}"


def _table(rows: list[LayerRow]) -> str:
    head = ["layer", "activation", "units stuck", "grad norm", "grad/weight", "update/weight"]
    body = [
        [
            f"{r.name} {'x'.join(str(s) for s in r.shape)}",
            r.activation or "-",
            _stuck(r),
            _e(r.grad_norm),
            _e(r.grad_to_weight),
            _e(r.update_to_weight),
        ]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*row).rstrip() for row in [head, *body])


__all__ = ["LayerRow", "Report"]
