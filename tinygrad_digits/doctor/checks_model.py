"""Checks on the network and its loss, from one recorded forward pass: layer widths, the output
activation paired with the loss, the initial loss, and saturated / dead / constant units."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..diagnostics.findings import INFO, WARNING, Finding
from ..diagnostics.probe import LayerUse, Trace, UnitStats
from ..diagnostics.thresholds import (
    CONSTANT_STD,
    CONSTANT_UNITS,
    DEAD_UNITS_INFO,
    DEAD_UNITS_WARN,
    INITIAL_LOSS_SLACK,
    SATURATED_ON,
    SATURATED_UNITS,
    SATURATION_HIGH,
    WEIGHT_SCALE,
)


def loss_kind(loss_fn: Callable[..., Any] | None, trace: Trace) -> str | None:
    """'cross_entropy', 'mse', 'bce' or 'unknown' (None without a loss function), from the
    loss's type and, for a custom function, the ops it ran."""
    if loss_fn is None:
        return None
    from ..nn import functional as F
    from ..nn import losses

    if isinstance(loss_fn, losses.CrossEntropyLoss) or loss_fn is F.cross_entropy:
        return "cross_entropy"
    if isinstance(loss_fn, losses.MSELoss) or loss_fn is F.mse_loss:
        return "mse"
    if isinstance(loss_fn, losses.BCELoss | losses.BCEWithLogitsLoss):
        return "bce"
    ops = trace.output_ops()
    if "CrossEntropy" in ops or "LogSoftmax" in ops:
        return "cross_entropy"
    if "BCEWithLogits" in ops or "BinaryCrossEntropy" in ops:
        return "bce"
    loss_ops = trace.loss_ops
    if (
        "Sub" in loss_ops
        and ("Mul" in loss_ops or "PowScalar" in loss_ops)
        and "Log" not in loss_ops
    ):
        return "mse"
    return "unknown"


def check_architecture(trace: Trace, num_classes: int | None) -> list[Finding]:
    """A hidden Linear layer narrower than the number of classes (a bottleneck)."""
    linears = [layer for layer in trace.layers if layer.op == "Linear"]
    if num_classes is None or num_classes < 3 or len(linears) < 2:
        return []
    narrow: list[LayerUse] = []
    for layer in linears[:-1]:
        if layer.out_features < num_classes and layer.name not in {n.name for n in narrow}:
            narrow.append(layer)
    if not narrow:
        return []
    first = narrow[0]
    msg = (
        f"{first.describe()} squeezes {first.in_features} inputs into {first.out_features} "
        f"units, fewer than the {num_classes} classes: everything the network knows must pass "
        f"through {first.out_features} numbers"
    )
    if len(narrow) > 1:
        msg += "; also " + ", ".join(n.describe() for n in narrow[1:])
    return [
        Finding(
            "bottleneck",
            WARNING,
            first.name,
            msg,
            f"make every hidden layer at least {num_classes} units wide, better several times "
            f"more (e.g. 128 then 64 units for {linears[0].in_features} inputs)",
            float(first.out_features),
        )
    ]


def check_loss_setup(trace: Trace, kind: str | None, num_classes: int | None) -> list[Finding]:
    """Sigmoid outputs with squared error on a multi-class problem; logits squashed before
    cross_entropy (a Softmax or Sigmoid layer at the end of the model)."""
    ops = trace.output_ops()
    c = num_classes or 0
    out: list[Finding] = []
    if kind == "mse" and c >= 3:
        if "Sigmoid" in ops:
            out.append(
                Finding(
                    "sigmoid_mse",
                    WARNING,
                    trace.layers[-1].name if trace.layers else None,
                    f"sigmoid outputs trained with squared error on a {c}-class problem: each "
                    "output learns alone (the classes don't compete), and a saturated sigmoid "
                    "passes back almost no gradient (its slope is at most 0.25)",
                    "drop the output sigmoid and train the raw outputs (logits) with "
                    "cross_entropy, which applies softmax inside: "
                    "loss = nn.functional.cross_entropy(logits, labels)",
                )
            )
        else:
            out.append(
                Finding(
                    "mse_classification",
                    INFO,
                    None,
                    f"squared error on a {c}-class problem: it trains classifiers more slowly "
                    "than cross-entropy and does not give probabilities",
                    "use nn.functional.cross_entropy(logits, labels) on the raw outputs",
                )
            )
    if kind == "cross_entropy":
        squash = _squash_before_ce(trace)
        if squash == "ReLU":
            out.append(
                Finding(
                    "squashed_logits",
                    WARNING,
                    trace.layers[-1].name if trace.layers else None,
                    "the outputs go through a ReLU before cross_entropy: every negative logit "
                    "becomes 0 and passes back no gradient, so an output unit that goes negative "
                    "for every input is dead for good and its class can never win",
                    "remove the ReLU after the last layer: cross_entropy expects raw logits",
                )
            )
        elif squash is not None:
            best = math.log(1 + (c - 1) / math.e) if c else 0.0
            floor = f" (at best ln(1 + {c - 1}/e) = {best:.3g})" if c else ""
            out.append(
                Finding(
                    "squashed_logits",
                    WARNING,
                    trace.layers[-1].name if trace.layers else None,
                    f"the outputs go through {squash} before cross_entropy, which applies its own "
                    "softmax: the logits are squashed into [0, 1], so the loss cannot get near 0"
                    f"{floor} and the gradients are tiny",
                    f"remove the final {squash}: cross_entropy expects raw logits (apply softmax "
                    "only when you want probabilities to show)",
                )
            )
    return out


def _squash_before_ce(trace: Trace) -> str | None:
    ops = trace.output_ops()
    ce = [i for i, op in enumerate(ops) if op in ("CrossEntropy", "LogSoftmax")]
    if not ce:
        return None
    for op in ops[: ce[0]]:
        if op in ("Softmax", "Sigmoid", "Relu"):
            return {"Relu": "ReLU"}.get(op, op.lower())
    return None


def check_weight_scale(weights: list[tuple[str, Any]], device: Any) -> list[Finding]:
    """Each layer's weights against the standard inits: std far from Xavier's
    sqrt(2 / (fan_in + fan_out)) (std·√fan_in ≈ 1 keeps the signal's scale), or all of one
    sign (every unit then sums its inputs alike)."""
    found: list[tuple[float, str, str]] = []
    for name, p in weights:
        if p.ndim < 2:
            continue
        w = device.to_numpy(p.data).astype(np.float64)
        fan_in = int(np.prod(w.shape[1:]))
        fan_out = int(w.shape[0]) * (int(np.prod(w.shape[2:])) if w.ndim > 2 else 1)
        xavier = math.sqrt(2.0 / (fan_in + fan_out))
        std = float(w.std())
        ratio = std / xavier
        one_sign = w.size > 1 and (bool((w >= 0).all()) or bool((w <= 0).all())) and std > 0
        if not (ratio > WEIGHT_SCALE or ratio < 1 / WEIGHT_SCALE or one_sign):
            continue
        size = (
            f"about {_times(ratio)}× Xavier's {xavier:.2g}"
            if ratio >= 1
            else f"about 1/{_times(1 / ratio)} of Xavier's {xavier:.2g}"
        )
        scale = std * math.sqrt(fan_in)
        text = f"{name}'s weights have std {std:.3g}, {size} (std·√fan_in = {scale:.3g})"
        if one_sign:
            sign = "positive" if w.mean() > 0 else "negative"
            text += f", and all are {sign}"
        found.append((abs(math.log(max(ratio, 1e-30))) + (5.0 if one_sign else 0.0), name, text))
    if not found:
        return []
    found.sort(key=lambda f: -f[0])
    msg = "; ".join(t for _, _, t in found)
    why = (
        ": with every weight of one sign each unit sums its inputs the same way, so the units "
        "stay alike"
        if "all are" in msg
        else ": the signal is scaled by std·√fan_in at every layer, so units saturate or fade"
    )
    return [
        Finding(
            "weight_scale",
            WARNING,
            found[0][1],
            msg + why,
            "start from a standard zero-centred init: nn.init.xavier_uniform_ for sigmoid/tanh "
            "layers, nn.init.kaiming_uniform_(w, nonlinearity='relu') for ReLU, or the layers' "
            "default init (--init xavier / kaiming / default on the command line)",
            found[0][0],
        )
    ]


def _times(x: float) -> str:
    """A factor for people: 2.5, 14, 310."""
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


def check_bias(model: Any, trace: Trace) -> list[Finding]:
    """No layer has a bias: every unit's output is pinned at act(0) where its inputs are 0."""
    named = getattr(model, "named_parameters", None)
    if named is None or not trace.layers:
        return []
    if any(name.split(".")[-1] == "bias" for name, _ in named()):
        return []
    return [
        Finding(
            "no_bias",
            INFO,
            None,
            "no layer has a bias: each unit's output is fixed at act(0) (0.5 for a sigmoid) "
            "for an all-zero input, and no unit can shift its threshold",
            "give the layers a bias (nn.Linear(..., bias=True), the default)",
        )
    ]


def check_output_saturation(outputs: Any, logits: bool) -> list[Finding]:
    """Sigmoid outputs pinned at 0 or 1: their slope, and so every gradient, is ~0.
    `outputs` are probabilities (a sigmoid in the model) or logits (a sigmoid in the loss)."""
    o = np.asarray(outputs, dtype=np.float64)
    if o.ndim != 2 or o.shape[0] < 2:
        return []
    limit = math.log(SATURATION_HIGH / (1 - SATURATION_HIGH))
    pinned = np.abs(o) > limit if logits else (o < 1 - SATURATION_HIGH) | (o > SATURATION_HIGH)
    stuck = pinned.mean(axis=0) >= SATURATED_ON
    share = float(stuck.mean())
    if share < SATURATED_UNITS:
        return []
    return [
        Finding(
            "output_saturated",
            WARNING,
            None,
            f"{int(stuck.sum())} of {o.shape[1]} output units ({share:.0%}) are saturated: their "
            f"sigmoid is pinned at 0 or 1 for at least {SATURATED_ON:.0%} of inputs, so they pass "
            "back almost no gradient, right or wrong",
            "start from smaller weights (see weight_scale) and normalised inputs; with a "
            "cross-entropy loss on logits a wrong saturated output still gets a full gradient",
            share,
        )
    ]


def check_initial_loss(
    loss: float,
    kind: str | None,
    num_classes: int | None,
    logit_spread: float | None,
    inputs_unnormalised: bool,
) -> list[Finding]:
    """Cross-entropy at initialisation should be about ln(C): every class equally likely."""
    if kind != "cross_entropy" or not num_classes or num_classes < 2 or not math.isfinite(loss):
        return []
    expected = math.log(num_classes)
    if loss <= expected + max(1.0, INITIAL_LOSS_SLACK * expected):
        return []
    spread = f" (logits spread {logit_spread:.3g} across classes)" if logit_spread else ""
    if inputs_unnormalised:
        advice = "normalise the inputs (see inputs_not_normalised): the logits grow with them"
    else:
        advice = (
            "start the output layer with small weights (the default init, or scale its "
            "weights by 0.1) so that the initial logits are near 0; check that no activation "
            "with a large range follows the output layer"
        )
    return [
        Finding(
            "initial_loss_high",
            WARNING,
            None,
            f"initial loss {loss:.3g} is far above ln({num_classes}) = {expected:.3g}, the loss "
            f"of an untrained network that gives every class 1/{num_classes}: the initial logits "
            f"are too large{spread}",
            advice,
            loss,
        )
    ]


def check_activations(
    stats: list[UnitStats], when: str, inputs_unnormalised: bool = False, decay: bool = False
) -> list[Finding]:
    """Per hidden layer: saturated sigmoid/tanh units, dead ReLUs, units with constant output.
    One finding per problem, naming the worst layer first and then every other one."""
    saturated: list[tuple[float, str, str]] = []  # (share, layer, text)
    constant: list[tuple[float, str, str]] = []
    dead: list[tuple[float, str, str]] = []
    for s in stats:
        n = s.units
        if n == 0:
            continue
        where = f"{s.layer or 'the input'} → {s.kind}"
        if s.kind in ("sigmoid", "tanh"):
            sat = s.stuck >= SATURATED_ON
            share = float(sat.mean())
            if share >= SATURATED_UNITS:
                saturated.append(
                    (share, s.layer, f"{where}: {int(sat.sum())} of {n} units ({share:.0%})")
                )
            flat = (~sat) & (s.std < CONSTANT_STD)
            share = float(flat.mean())
            if share >= CONSTANT_UNITS:
                level = float(np.median(s.mean[flat]))
                text = f"{where}: {int(flat.sum())} of {n} units ({share:.0%}, all ≈{level:.2f})"
                constant.append((share, s.layer, text))
        elif s.kind == "relu":
            off = s.stuck >= 1.0
            share = float(off.mean())
            if share >= DEAD_UNITS_INFO:
                dead.append(
                    (share, s.layer, f"{where}: {int(off.sum())} of {n} units ({share:.0%})")
                )
    out: list[Finding] = []
    if saturated:
        limits = "0 or 1" if "sigmoid" in saturated[0][2] else "-1 or 1"
        out.append(
            _grouped(
                "saturated_units",
                WARNING,
                saturated,
                f"are saturated {when}: pinned at {limits} for at least {SATURATED_ON:.0%} of "
                "inputs, where their slope, and so their gradient, is almost 0",
                "normalise the inputs: large inputs drive the units into saturation"
                if inputs_unnormalised
                else "start from smaller weights (nn.init.xavier_uniform_; see weight_scale), "
                "or use ReLU hidden layers",
            )
        )
    if dead:
        worst = max(share for share, _, _ in dead)
        out.append(
            _grouped(
                "dead_relus",
                WARNING if worst >= DEAD_UNITS_WARN else INFO,
                dead,
                f"are dead {when}: they output 0 for every input in the batch and pass back "
                "no gradient",
                "lower the learning rate (one big step can push the biases far negative), "
                "normalise the inputs, use Kaiming init "
                "(nn.init.kaiming_uniform_(w, nonlinearity='relu')) or LeakyReLU",
            )
        )
    if constant:
        out.append(
            _grouped(
                "constant_units",
                WARNING,
                constant,
                f"give the same output for every input {when}, so they carry no information",
                "weight decay has shrunk their incoming weights to ~0: use weight_decay around "
                "1e-4 to 5e-4"
                if decay
                else "the spread of the signal fades through the sigmoid/tanh layers before "
                "them: use ReLU with Kaiming init, fewer layers, or Xavier init "
                "(nn.init.xavier_uniform_)",
            )
        )
    return out


def _grouped(
    code: str, severity: str, hits: list[tuple[float, str | None, str]], what: str, advice: str
) -> Finding:
    """One finding for a problem seen in several layers: the worst layer first."""
    hits = sorted(hits, key=lambda h: -h[0])
    share, layer, text = hits[0]
    msg = f"{text} {what}"
    if len(hits) > 1:
        msg += "; also " + ", ".join(t for _, _, t in hits[1:])
    return Finding(code, severity, layer, msg, advice, share)


__all__ = [
    "check_activations",
    "check_architecture",
    "check_bias",
    "check_output_saturation",
    "check_weight_scale",
    "check_initial_loss",
    "check_loss_setup",
    "loss_kind",
]
