"""Checks on a few real training steps: update-to-weight ratios (the learning rate), gradient
norms per layer (vanishing, exploding), shrinking weights (weight decay), the loss curve and
the predictions the network ends up making."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..diagnostics.findings import ERROR, INFO, WARNING, Finding
from ..diagnostics.thresholds import (
    CONSTANT_PREDICTIONS,
    DIVERGING,
    EXPLODING_RATIO,
    EXPLODING_REL,
    FLAT_REL,
    NOT_MOVING,
    ONE_CLASS_SHARE,
    RATIO_HIGH,
    RATIO_JUMP,
    RATIO_LOW,
    RATIO_SLOW,
    SHRINK,
    STUCK,
    VANISHING_RATIO,
)
from .advice import explain_cost


@dataclass
class LayerHistory:
    """Per-step norms of one weight tensor: gradient, weight (before the step) and update."""

    name: str
    shape: tuple[int, ...]
    grad: list[float] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)
    update: list[float] = field(default_factory=list)
    weight_end: float | None = None  # the norm after the last step

    def ratios(self) -> np.ndarray:
        return np.asarray(self.update) / np.maximum(np.asarray(self.weight), 1e-30)

    def rel_grads(self) -> np.ndarray:
        return np.asarray(self.grad) / np.maximum(np.asarray(self.weight), 1e-30)

    @property
    def median_ratio(self) -> float:
        return float(np.median(self.ratios())) if self.update else math.nan

    @property
    def max_ratio(self) -> float:
        return float(np.max(self.ratios())) if self.update else math.nan

    @property
    def median_grad(self) -> float:
        return float(np.median(self.grad)) if self.grad else math.nan

    @property
    def median_rel_grad(self) -> float:
        return float(np.median(self.rel_grads())) if self.grad else math.nan


@dataclass
class TrainingHistory:
    """What the doctor measured while running the optimizer."""

    layers: list[LayerHistory]
    losses: list[float] = field(default_factory=list)
    lr: float | None = None
    weight_decay: float = 0.0
    optimizer: str = "?"
    nan_step: int | None = None
    nan_value: str = "NaN"
    anomaly: str | None = None
    nonfinite_grad_layer: str | None = None

    @property
    def steps(self) -> int:
        return len(self.losses)


def check_nonfinite(h: TrainingHistory) -> list[Finding]:
    """NaN/inf in the loss (with what anomaly mode found) or in a gradient."""
    out: list[Finding] = []
    if h.nan_step is not None:
        last = f" (last finite loss {h.losses[-1]:.4g})" if h.losses else ""
        msg = f"the loss became {h.nan_value} at step {h.nan_step}{last}"
        if h.anomaly:
            msg += f"; detect_anomaly() traced it to: {h.anomaly.split('. ')[0]}"
            advice = (
                "keep log/sqrt/division inputs away from 0 (clamp(min=1e-7), or cross_entropy on "
                "raw logits instead of log(softmax)); if the weights blew up first, lower the "
                "learning rate"
            )
        else:
            advice = (
                "re-run the step inside `with tinygrad_digits.detect_anomaly():` to find the op "
                "and the line that made the NaN; then clamp its input or lower the learning rate"
            )
        out.append(Finding("loss_nan", ERROR, None, msg, advice, float(h.nan_step)))
    if h.nonfinite_grad_layer is not None:
        out.append(
            Finding(
                "nonfinite_gradients",
                ERROR,
                h.nonfinite_grad_layer,
                f"the gradient of {h.nonfinite_grad_layer} holds NaN or inf while the loss is "
                "finite",
                "run one step inside `with tinygrad_digits.detect_anomaly():` to find the op "
                "whose backward makes it (sqrt or log at 0, division by ~0)",
            )
        )
    return out


# quick_checks sees the step sizes only; which rate learns is measured by diagnose's trials.
_TRIALS = (
    "`tinygrad-digits doctor` (or doctor.diagnose) tries a few rates on your set-up and "
    "names one it measured learning"
)


def check_updates(
    h: TrainingHistory,
    loss_change: float | None,
    high: float = RATIO_HIGH,
    jump: float = RATIO_JUMP,
    low: float = RATIO_LOW,
    advice_note: str = "",
) -> list[Finding]:
    """The update-to-weight ratio says whether the learning rate fits: ~1e-3 is healthy.
    `advice_note` is appended to the too-high advice (e.g. to normalise inputs first)."""
    layers = [layer for layer in h.layers if layer.update]
    if not layers:
        return []
    lr = h.lr
    lr_text = f"lr={lr:g}" if lr is not None else "the learning rate"
    over = "in the first step" if h.steps <= 1 else f"median over {h.steps} steps"
    worst = max(layers, key=lambda layer: layer.median_ratio)
    jumpiest = max(layers, key=lambda layer: layer.max_ratio)
    out: list[Finding] = []
    if worst.median_ratio > high or jumpiest.max_ratio > jump:
        if worst.median_ratio > high:
            layer, ratio, how = worst, worst.median_ratio, over
        else:
            layer, ratio, how = jumpiest, jumpiest.max_ratio, "in a single step"
        out.append(
            Finding(
                "lr_too_high",
                WARNING,
                layer.name,
                f"each step changes {layer.name}'s weights by |Δw|/|w| = {ratio:.2g} ({how}; "
                f"about 1e-3 is healthy): {lr_text} is far too high",
                f"lower the learning rate{advice_note}; {_TRIALS}",
                ratio,
            )
        )
        return out
    best = max(layers, key=lambda layer: layer.median_ratio)
    ratio = best.median_ratio
    slow = ratio < low or (
        ratio < max(low, RATIO_SLOW) and loss_change is not None and loss_change < NOT_MOVING
    )
    if slow:
        out.append(
            Finding(
                "lr_too_low",
                WARNING,
                best.name,
                f"each step changes the weights by |Δw|/|w| = {ratio:.2g} at most ({over}, in "
                f"{best.name}, the fastest-learning layer; about 1e-3 is healthy): {lr_text} is "
                "far too low",
                f"raise the learning rate; {_TRIALS}",
                ratio,
            )
        )
    return out


def check_weight_norms(h: TrainingHistory) -> list[Finding]:
    """Weights collapsing towards 0 during the run (usually weight decay far too strong)."""

    def end(layer: LayerHistory) -> float:
        return layer.weight_end if layer.weight_end is not None else layer.weight[-1]

    shrunk = [
        layer
        for layer in h.layers
        if len(layer.weight) >= 2 and layer.weight[0] > 0 and end(layer) < SHRINK * layer.weight[0]
    ]
    if not shrunk:
        return []
    first = min(shrunk, key=lambda layer: end(layer) / layer.weight[0])
    factor = end(first) / first.weight[0]
    if h.weight_decay and h.lr:
        keep = 1 - h.lr * h.weight_decay
        advice = (
            f"weight_decay={h.weight_decay:g} with lr={h.lr:g} scales the weights by "
            f"{keep:.3g} every step: use weight_decay around 1e-4 to 5e-4"
        )
    else:
        advice = (
            "the loss pulls the weights to 0: look for a weight penalty written into the loss "
            "(see weight_penalty), then check the loss and the labels"
        )
    return [
        Finding(
            "weights_shrinking",
            WARNING,
            first.name,
            f"{first.name}'s weights shrank from norm {first.weight[0]:.3g} to {end(first):.3g} "
            f"(x{factor:.2g}) in {h.steps} steps",
            advice,
            factor,
        )
    ]


def check_weight_penalty(
    share: float, ratio: float, per_weight: float, n_data: int, batch_size: int | None
) -> list[Finding]:
    """A weight penalty inside the loss, measured at the start: its share of the loss and its
    gradient against the data's. Blamed when it dominates, cleared when it plays no part."""
    m = f"λ/m = {per_weight:.3g}"
    mistake = (
        f"if it is λ/(2m)·ΣW², {m} here: m must be the number of training samples "
        f"({n_data}), not the batch size"
        + (
            f" ({batch_size}), which makes it {n_data / batch_size:.3g}x too strong"
            if batch_size and batch_size < n_data
            else ""
        )
    )
    if ratio >= 1.0 or share >= 0.5:
        return [
            Finding(
                "weight_penalty",
                WARNING,
                None,
                f"a weight penalty written into the loss is {share:.0%} of the loss, and its "
                f"gradient is {ratio:.2g}x the data's: it pulls every weight towards 0 faster "
                "than the data can shape them",
                f"{mistake}; else lower λ until the penalty is a few percent of the loss",
                share,
            )
        ]
    return [
        Finding(
            "weight_penalty",
            INFO,
            None,
            f"the loss includes a weight penalty: {share:.2%} of the loss, with a gradient "
            f"{ratio:.2g}x the data's: λ plays no part in what goes wrong here",
            f"nothing to change for it ({mistake})",
            share,
        )
    ]


def check_gradients(h: TrainingHistory, when: str = "") -> list[Finding]:
    """Gradient-to-weight norms per layer, compared with the output layer's: vanishing when the
    first layers get 1000x less, exploding when they get 1000x more (or grads dwarf weights)."""
    layers = [layer for layer in h.layers if layer.grad]
    if len(layers) < 1:
        return []
    rel = np.array([layer.median_rel_grad for layer in layers])
    if not np.all(np.isfinite(rel)):
        return []
    when = f" {when}" if when else ""
    out: list[Finding] = []
    if rel.max() < FLAT_REL:
        return [
            Finding(
                "vanishing_gradients",
                WARNING,
                None,
                f"every layer's gradient is below {FLAT_REL:g} of its weights{when}: the loss is "
                "flat around these weights, so nothing can learn",
                "look for saturated outputs (a sigmoid or softmax pinned at 0 or 1) or a loss "
                "that ignores the network's output",
                float(rel.max()),
            )
        ]
    last = rel[-1]
    if len(layers) >= 2 and last > 0:
        profile = rel[:-1] / last
        k = int(np.argmin(profile))
        if profile[k] == 0:
            out.append(
                Finding(
                    "vanishing_gradients",
                    WARNING,
                    layers[k].name,
                    f"{layers[k].name} gets no gradient at all{when}, while the output layer "
                    f"{layers[-1].name} does: something between them passes nothing back",
                    "look for a layer whose units are all dead (ReLU) or saturated, or a "
                    "detach() / no_grad() / .numpy() round trip inside forward",
                    0.0,
                )
            )
        elif profile[k] < VANISHING_RATIO:
            out.append(
                Finding(
                    "vanishing_gradients",
                    WARNING,
                    layers[k].name,
                    f"gradients vanish towards the input{when}: relative to its weights, "
                    f"{layers[k].name} gets {1 / profile[k]:.2g}x less gradient than the output "
                    f"layer {layers[-1].name}, so the first layers barely learn",
                    "use ReLU instead of sigmoid/tanh in hidden layers (with Kaiming init), fewer "
                    "layers, or normalised inputs; saturated units pass back almost no gradient",
                    float(profile[k]),
                )
            )
        k = int(np.argmax(profile))
        if profile[k] > EXPLODING_RATIO:
            out.append(
                _exploding(
                    layers[k].name,
                    f"{profile[k]:.2g}x more than the output layer's",
                    when,
                    float(profile[k]),
                )
            )
            return out
    k = int(np.argmax(rel))
    if rel[k] > EXPLODING_REL:
        out.append(
            _exploding(
                layers[k].name, f"{rel[k]:.2g}x the size of its weights", when, float(rel[k])
            )
        )
    return out


def _exploding(name: str, how: str, when: str, value: float) -> Finding:
    return Finding(
        "exploding_gradients",
        WARNING,
        name,
        f"gradients explode{when}: {name}'s gradient is {how}",
        "lower the learning rate, clip gradients (nn.utils.clip_grad_norm_(model.parameters(), "
        "1.0)), normalise the inputs, and start from smaller weights",
        value,
    )


def check_loss_curve(
    before: float,
    after: float,
    baseline: float | None,
    steps: int | str,
    kind: str | None,
    num_classes: int | None,
    causes: list[str],
) -> list[Finding]:
    """The loss on one fixed batch before and after the steps: diverging, not moving, or no
    better than giving every input the same output (stuck at ln(C) for cross-entropy)."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return []
    because = _because(causes)
    if after > before * DIVERGING + 0.05:
        return [
            Finding(
                "loss_diverging",
                WARNING,
                None,
                f"the loss rose from {before:.4g} to {after:.4g} in {_steps(steps)}",
                "lower the learning rate (x10); if it still rises, look for a sign error in a "
                "custom loss" + because,
                after / before if before else None,
            )
        ]
    if before > 1e-3 and abs(after - before) / before < NOT_MOVING:
        return [
            Finding(
                "loss_not_moving",
                WARNING,
                None,
                f"the loss barely moved in {_steps(steps)}: {before:.4g} -> {after:.4g} "
                f"({(after - before) / before:+.2%})",
                ("fix the causes found: " + ", ".join(causes))
                if causes
                else "raise the learning rate; check that the optimizer was given "
                "model.parameters() and that zero_grad/backward/step run every batch",
                abs(after - before) / before,
            )
        ]
    if (
        baseline is not None
        and math.isfinite(baseline)
        and after > 1e-3
        and after >= STUCK * baseline
    ):
        if (
            kind == "cross_entropy"
            and num_classes
            and abs(after - math.log(num_classes)) < 0.1 * math.log(num_classes)
        ):
            msg = (
                f"after {_steps(steps)} the loss {after:.4g} is stuck near ln({num_classes}) = "
                f"{math.log(num_classes):.4g}: no better than giving each class 1/{num_classes}"
            )
        else:
            msg = (
                f"after {_steps(steps)} the loss {after:.4g} is no better than giving every "
                f"input the same output ({baseline:.4g}): the network ignores its input"
            )
            words = explain_cost(after, num_classes)
            if words:
                msg += f" ({words})"
        return [
            Finding(
                "loss_stuck",
                WARNING,
                None,
                msg,
                ("fix the causes found: " + ", ".join(causes))
                if causes
                else "train longer or raise the learning rate; check that inputs and labels "
                "were shuffled together",
                after / baseline if baseline else None,
            )
        ]
    return []


def _steps(steps: int | str) -> str:
    """'20 steps', or a caller's fuller text ('20 steps of 64 samples (0.71 epochs of 1797)')."""
    return steps if isinstance(steps, str) else f"{steps} steps"


def _because(causes: list[str]) -> str:
    return f" (see also: {', '.join(causes)})" if causes else ""


def prediction_probs(outputs: np.ndarray, bounded: bool) -> np.ndarray:
    """Class probabilities from outputs: softmax of logits, or sigmoid-like outputs in [0, 1]
    normalised to sum to 1."""
    o = outputs.astype(np.float64)
    if bounded and o.min() >= 0 and o.max() <= 1:
        s = o.sum(axis=1, keepdims=True)
        return np.where(s > 0, o / np.maximum(s, 1e-300), 1.0 / o.shape[1])
    e = np.exp(o - o.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check_predictions(
    probs: np.ndarray, labels: np.ndarray | None, steps: int | str, causes: list[str]
) -> list[Finding]:
    """Predictions that ignore the input: collapsed to the uniform 1/C or to one class."""
    if probs.ndim != 2 or probs.shape[1] < 2 or probs.shape[0] < 2:
        return []
    c = probs.shape[1]
    spread = float(c * probs.std(axis=0).mean())
    pred = probs.argmax(axis=1)
    counts = np.bincount(pred, minlength=c)
    top = int(counts.argmax())
    share = float(counts[top]) / pred.size
    label_share = 0.0
    if labels is not None and labels.size and labels.min() >= 0:
        label_share = float(np.bincount(labels).max()) / labels.size
    advice = (
        ("fix the causes found: " + ", ".join(causes))
        if causes
        else "check that the network sees its input (shapes, a detach() or no_grad in the "
        "forward, inputs and labels shuffled together), then raise the learning rate"
    )
    if spread < CONSTANT_PREDICTIONS:
        maxp = float(probs.max(axis=1).mean())
        if maxp < 1.5 / c:
            return [
                Finding(
                    "predictions_uniform",
                    WARNING,
                    None,
                    f"after {_steps(steps)} every input gets about 1/{c} = {1 / c:.2g} for each "
                    f"class (largest share {maxp:.2g} on average; outputs vary by only "
                    f"{spread / c:.2g} across inputs): the network predicts the average",
                    advice,
                    maxp,
                )
            ]
        return [
            Finding(
                "predictions_one_class",
                WARNING,
                None,
                f"after {_steps(steps)} the network predicts class {top} for {share:.0%} of inputs "
                f"and its outputs barely depend on the input (they vary by {spread / c:.2g})",
                advice,
                share,
            )
        ]
    if c >= 3 and share >= ONE_CLASS_SHARE and label_share < 0.5:
        return [
            Finding(
                "predictions_one_class",
                WARNING,
                None,
                f"after {_steps(steps)} the network predicts class {top} for {share:.0%} of "
                f"inputs, though no class makes up more than {label_share:.0%} of the labels",
                advice,
                share,
            )
        ]
    return []


__all__ = [
    "LayerHistory",
    "TrainingHistory",
    "check_gradients",
    "check_loss_curve",
    "check_nonfinite",
    "check_predictions",
    "check_updates",
    "check_weight_norms",
    "check_weight_penalty",
    "prediction_probs",
]
