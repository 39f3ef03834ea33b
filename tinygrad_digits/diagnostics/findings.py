"""Finding: one measured diagnosis (what is wrong, where, the number behind it, and the fix),
the one type both viz's gradient health and the doctor report.

Findings are plain data, so a notebook can filter, tabulate or serialise them; `code` is a
stable identifier (the list is `CODES`), `message` and `advice` are one line each for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
_SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}

# Every code the doctor can report, with its category, in the order a report lists them:
# causes (data, set-up, optimisation) before the symptoms they produce (loss, predictions).
CODES: dict[str, str] = {
    "nonfinite_inputs": "data",
    "labels_out_of_range": "data",
    "inputs_not_normalised": "data",
    "class_imbalance": "data",
    "input_scale": "data",
    "input_inverted": "data",
    "input_ink": "data",
    "too_few_steps": "optimisation",
    "bottleneck": "model",
    "weight_scale": "model",
    "sigmoid_mse": "model",
    "squashed_logits": "model",
    "mse_classification": "model",
    "initial_loss_high": "model",
    "weight_penalty": "optimisation",
    "loss_nan": "optimisation",
    "nonfinite_gradients": "gradients",
    "lr_too_high": "optimisation",
    "lr_too_low": "optimisation",
    "weights_shrinking": "optimisation",
    "exploding_gradients": "gradients",
    "vanishing_gradients": "gradients",
    "output_saturated": "activations",
    "saturated_units": "activations",
    "dead_relus": "activations",
    "constant_units": "activations",
    "no_bias": "model",
    "lr_not_the_cause": "optimisation",
    "loss_diverging": "loss",
    "loss_not_moving": "loss",
    "loss_stuck": "loss",
    "predictions_uniform": "predictions",
    "predictions_one_class": "predictions",
    # viz's gradient health, on one drawn graph: where a NaN is born, then each bad gradient.
    "nonfinite_value": "graph",
    "nonfinite_grad_born": "graph",
    "nonfinite": "graph",
    "exploding": "graph",
    "zero": "graph",
    "dead_relu": "graph",
    "vanishing": "graph",
}
_CODE_RANK = {code: i for i, code in enumerate(CODES)}


@dataclass(frozen=True)
class Finding:
    """One problem the doctor or viz's gradient health measured.

    code: stable identifier (see CODES); severity: "error" (training cannot work), "warning"
    (a likely reason it does not learn) or "info"; layer: what it concerns (a module's dotted
    name, or for viz a tensor such as "fc1.weight" or "Relu n7 in act") or None; message: what
    was measured; advice: the fix; value: the number behind it (viz: the gradient norm);
    node: the graph node it was seen on ("n12"), for viz findings; gain: the share of the
    loss a short trial of the fix removed beyond the set-up as it is (the doctor's measured
    advice: the finding with the largest gain is the fix to try first).
    """

    code: str
    severity: str
    layer: str | None
    message: str
    advice: str
    value: float | None = None
    node: str | None = None
    gain: float | None = None  # the improvement a trial of the fix measured (share of the loss)

    @property
    def category(self) -> str:
        return CODES.get(self.code, "other")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "category": self.category}

    def format(self) -> str:
        """Two lines: '<SEVERITY> [code] message' and the advice, indented."""
        return f"{self.severity.upper():7} [{self.code}] {self.message}\n        fix: {self.advice}"

    def __str__(self) -> str:
        return self.format()


def rank(f: Finding) -> tuple[int, float, int]:
    """Sort key: most severe first; within a severity, fixes a trial measured helping (the
    largest gain first), then the order of CODES (causes first)."""
    gain = -f.gain if f.gain is not None and f.gain > 0 else 0.0
    return _SEVERITY_RANK.get(f.severity, 3), gain, _CODE_RANK.get(f.code, 99)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first; within a severity, causes before symptoms (the order of CODES)."""
    return sorted(findings, key=rank)


def merge(*groups: list[Finding]) -> list[Finding]:
    """Concatenate finding lists, keeping only the first finding for each (code, layer)."""
    seen: set[tuple[str, str | None]] = set()
    out: list[Finding] = []
    for group in groups:
        for f in group:
            key = (f.code, f.layer)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def at_least(findings: list[Finding], severity: str = WARNING) -> list[Finding]:
    """The findings of `severity` or worse ("warning" keeps warnings and errors)."""
    rank = _SEVERITY_RANK[severity]
    return [f for f in findings if _SEVERITY_RANK.get(f.severity, 3) <= rank]


def format_findings(findings: list[Finding], title: str = "tinygrad-digits doctor") -> str:
    """A short block for a terminal: a title line, then each finding with its fix."""
    if not findings:
        return f"{title}: no problems found"
    counts = ", ".join(
        f"{n} {sev}{'s' if n > 1 else ''}"
        for sev in SEVERITIES
        if (n := sum(f.severity == sev for f in findings))
    )
    lines = [f"{title}: {counts}"]
    lines += ["  " + f.format().replace("\n", "\n  ") for f in sort_findings(findings)]
    return "\n".join(lines)


__all__ = [
    "CODES",
    "ERROR",
    "INFO",
    "SEVERITIES",
    "WARNING",
    "Finding",
    "at_least",
    "format_findings",
    "merge",
    "rank",
    "sort_findings",
]
