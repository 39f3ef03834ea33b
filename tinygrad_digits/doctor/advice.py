"""From measurements to advice: learning-rate findings from trial runs, the gain each fix
trial measured, costs explained in words, and severities that match what the run did."""

from __future__ import annotations

import dataclasses
import math

from ..diagnostics.findings import INFO, WARNING, Finding
from .trials import BETTER, GAINED, Trial, better

NO_GAIN = 0.02  # a fix trial that removed less than 2% more of the loss did not help
# Findings that stay warnings even on a network that learns: its output cannot be trusted.
_ALWAYS = {"loss_nan", "nonfinite_gradients", "nonfinite_inputs", "labels_out_of_range"}


def lr_findings(
    current: Trial, others: list[Trial], lr: float, gradients_flat: bool
) -> list[Finding]:
    """What the learning-rate trials showed. A rate is advised only when its trial measured
    clearly better; the current rate is never called too high while it learns well; where no
    rate helps and the gradients are ~0, the rate is cleared and the units are blamed."""
    tried = "; ".join(t.text() for t in [current, *others])
    winners = [t for t in others if better(t, current)]
    if not winners:
        if current.learns or not others:
            return []
        why = (
            "the gradients are ~0 (saturated or dead units, see those findings): no step size "
            "can fix that"
            if gradients_flat
            else "the cause is elsewhere (see the other findings)"
        )
        low = (1 - BETTER) * current.after  # a clearly lower loss, that says nothing
        alike = [t.label for t in others if t.finite and t.after < low and not t.beats_constant]
        if alike:
            why = (
                f"{' and '.join(alike)} only lowered the loss to that of answering every input "
                f"alike, with no clearly more right answers; {why}"
            )
        return [
            Finding(
                "lr_not_the_cause",
                INFO,
                None,
                f"no learning rate tried did clearly better ({tried}): {why}",
                "keep the learning rate and fix the other findings first",
            )
        ]
    if current.learns:  # a rate that learns is left alone, even when another learns faster
        return []
    best = min(winners, key=lambda t: t.after)
    rate = float(best.label.split()[-1])
    code = "lr_too_high" if rate < lr else "lr_too_low"
    way = "lower" if rate < lr else "raise"
    gain = (current.after - best.after) / current.after if current.finite else 1.0
    if not current.finite:
        state = "diverges"
    elif current.after > current.before:
        state = "makes the loss grow"
    else:
        state = "barely learns"
    return [
        Finding(
            code,
            WARNING,
            None,
            f"lr={lr:g} {state} here; measured on the same set-up: {tried}",
            f"{way} the learning rate to {rate:g}",
            rate,
            gain=gain,
        )
    ]


# Advice of other findings that also names the learning rate, and the same advice without it.
_LR_ADVICE = {
    "lower the learning rate, clip gradients": "clip gradients",
    "lower the learning rate (x10); if it still rises, look for": "look for",
    "lower the learning rate (one big step can push the biases far negative), ": "",
}


def one_way(findings: list[Finding]) -> list[Finding]:
    """Once the trials have spoken on the learning rate, no other finding advises a rate: the
    report never says raise and lower at once."""
    if not any(f.code.startswith("lr_") for f in findings):
        return findings
    out = []
    for f in findings:
        if not f.code.startswith("lr_"):
            advice = f.advice
            for said, instead in _LR_ADVICE.items():
                advice = advice.replace(said, instead)
            if advice != f.advice:
                advice = advice[:1].lower() + advice[1:] + " (the learning rate: see lr_*)"
                f = dataclasses.replace(f, advice=advice)
        out.append(f)
    return out


def with_gain(
    findings: list[Finding], code: str, trial: Trial | None, base: Trial
) -> list[Finding]:
    """Attach a fix trial's measured gain (and its numbers) to the finding `code`: the share
    of the loss it removed beyond the set-up as it is, or, where right answers are counted and
    it got clearly more of them, that share of the probe rows if larger (a fix can change what
    the loss starts from: a wider sigmoid net with the same wide init starts, and ends, with a
    larger summed loss while answering far better)."""
    if trial is None:
        return findings
    out = []
    for f in findings:
        if f.code == code:
            gain = (base.after - trial.after) / base.after if trial.finite and base.after else None
            if gain is not None and not base.finite:
                gain = 1.0
            answers = _answers_gained(trial, base)
            if answers is not None and answers >= GAINED:
                gain = answers if gain is None else max(gain, answers)
            note = f" (measured: {trial.text()}; as it is: {base.text()})"
            severity = f.severity
            if (gain is None or gain < NO_GAIN) and severity == WARNING:
                severity = INFO  # the fix, tried, did not help: not what stops learning
                note = f" (tried, it did not help here: {trial.text()}; as it is: {base.text()})"
            f = dataclasses.replace(f, severity=severity, advice=f.advice + note, gain=gain)
        out.append(f)
    return out


def _answers_gained(trial: Trial, base: Trial) -> float | None:
    """The share of probe rows the trial got right beyond the set-up as it is (None: not
    counted)."""
    if not trial.finite or trial.accuracy is None or base.accuracy is None:
        return None
    return trial.accuracy - base.accuracy


def untried(findings: list[Finding], code: str, why: str) -> list[Finding]:
    """Say on the finding `code` why its fix could not be trialled (so its rank is unmeasured)."""
    return [
        dataclasses.replace(f, advice=f"{f.advice} (not tried here: {why})")
        if f.code == code
        else f
        for f in findings
    ]


# What only a network that does not learn gets: symptoms of a stopped loss, and the rate
# trials' "no rate did better".
_STOPPED = (
    "loss_stuck",
    "loss_not_moving",
    "predictions_uniform",
    "predictions_one_class",
    "lr_not_the_cause",
)


def quiet_when_learning(findings: list[Finding], learns: bool) -> list[Finding]:
    """Warnings only for what stops learning: on a network whose loss falls well, every
    warning becomes a note (errors stay), and nothing is called stuck."""
    if not learns:
        return findings
    out = []
    for f in findings:
        if f.code in (
            "loss_stuck",
            "loss_not_moving",
            "predictions_uniform",
            "predictions_one_class",
        ):
            continue
        if f.severity == WARNING and f.code not in _ALWAYS:
            advice = f.advice
            if f.code == "sigmoid_mse":
                advice = (
                    "sigmoid + squared error learns here; cross-entropy on the raw outputs "
                    "usually learns faster; if you switch, try a third of the learning rate"
                )
            f = dataclasses.replace(f, severity=INFO, advice=advice)
        out.append(f)
    return out


def constant_costs(num_outputs: int) -> dict[str, float]:
    """The loss of predicting each class's share 1/C on every output, per loss (the plateau
    an untrained or stuck classifier sits on)."""
    c = num_outputs
    p = 1.0 / c
    bce_sum = -math.log(p) - (c - 1) * math.log(1 - p)
    return {
        f"ln {c} ≈ {math.log(c):.4g}, the softmax cross-entropy of giving every class 1/{c}": (
            math.log(c)
        ),
        f"−ln {p:g} − {c - 1}·ln {1 - p:g} ≈ {bce_sum:.4g}, the binary cross-entropy summed over "
        f"{c} sigmoid outputs that all say {p:g}": bce_sum,
        f"{bce_sum / c:.4g}, the binary cross-entropy averaged over {c} sigmoid outputs that all "
        f"say {p:g}": bce_sum / c,
        f"{(1 - p) / 2:.4g}, half the squared error summed over {c} outputs that all say {p:g}": (
            (1 - p) / 2
        ),
    }


def explain_cost(value: float, num_outputs: int | None) -> str | None:
    """The words for a stuck cost: 2.303 = ln 10, 3.2507 = −ln 0.1 − 9 ln 0.9, ..."""
    if not num_outputs or num_outputs < 2 or not math.isfinite(value):
        return None
    for words, cost in constant_costs(num_outputs).items():
        if abs(value - cost) <= 0.02 * cost:
            return f"{value:.4g} is {words}: the network predicts the class shares, not the input"
    return None


__all__ = [
    "constant_costs",
    "explain_cost",
    "lr_findings",
    "one_way",
    "quiet_when_learning",
    "untried",
    "with_gain",
]
