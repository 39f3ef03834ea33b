"""The doctor's entry points: quick_checks before training, diagnose over a few real steps."""

from __future__ import annotations

import contextlib
import copy
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..diagnostics.findings import (
    ERROR,
    INFO,
    WARNING,
    Finding,
    at_least,
    format_findings,
    merge,
    sort_findings,
)
from ..diagnostics.probe import (
    Trace,
    UnitStats,
    as_input,
    eval_mode,
    gradient_norms,
    host,
    l2_norms,
    layer_weights,
    model_device,
    model_float_dtype,
    record_loss,
    run_probe,
    take_rows,
    unit_stats,
)
from ..diagnostics.thresholds import FIRST_STEPS_HIGH, FIRST_STEPS_LOW, SATURATED_ON
from ..training.callbacks import Callback
from ..training.loop import TrainState, fit
from .advice import (
    explain_cost,
    lr_findings,
    one_way,
    quiet_when_learning,
    untried,
    with_gain,
)
from .checks_data import check_inputs, check_labels, class_labels
from .checks_model import (
    check_activations,
    check_architecture,
    check_bias,
    check_initial_loss,
    check_loss_setup,
    check_output_saturation,
    check_weight_scale,
    loss_kind,
)
from .checks_training import (
    LayerHistory,
    TrainingHistory,
    check_gradients,
    check_loss_curve,
    check_nonfinite,
    check_predictions,
    check_updates,
    check_weight_norms,
    check_weight_penalty,
    prediction_probs,
)
from .report import LayerRow, Report
from .trials import Trial, TrialRunner, reinitialise, restore, snapshot, standardised, widened

LossFn = Callable[[Any, Any], Any]
QUICK_ROWS = 1024  # quick_checks looks at no more of the batch than this
PROBE_ROWS = 512  # diagnose measures before/after on this fixed subset
STATS_ROWS = 4096  # input statistics from at most this many samples
QUICK_STEPS = 5  # quick_checks takes this many steps on a copy of the model
TRIAL_STEPS = 50  # each trial run is at least this long...
LONGEST_TRIAL = 800  # ...and the search for the end of the plateau no longer than this
WIDE = 32  # the widen trial makes every hidden layer at least this wide
_CAUSES = ("data", "model", "optimisation", "gradients", "activations")


@dataclass
class _Inspection:
    """One forward (and maybe backward) on a fixed batch, and what it says."""

    findings: list[Finding] = field(default_factory=list)
    loss_fn: LossFn | None = None
    kind: str | None = None
    num_classes: int | None = None
    loss: float | None = None
    baseline: float | None = None
    stats: list[UnitStats] = field(default_factory=list)
    weights: list[tuple[str, Tensor]] = field(default_factory=list)
    outputs: np.ndarray | None = None
    bounded_outputs: bool = False
    trace: Trace | None = None
    stop: bool = False  # an error that makes training pointless


# --- public API -------------------------------------------------------------------------------
def quick_checks(
    model: Any,
    x_batch: Any,
    y_batch: Any,
    loss_fn: LossFn | None = None,
    num_classes: int | None = None,
    optimizer: Any = None,
) -> list[Finding]:
    """Cheap checks before training, on one batch: input scale, labels, layer widths, the
    output/loss pairing, the initial loss, saturated or dead units, gradient flow at init, and
    (given the optimizer) the size of the first few steps, taken on a copy of the model.

    Leaves the model, its gradients and its train/eval mode as they were. `loss_fn(output, y)`
    defaults to cross_entropy for integer labels; `num_classes` to the model's output width.
    Returns the findings, worst first.
    """
    device, dtype = model_device(model), model_float_dtype(model)
    xh, yh = host(x_batch)[:QUICK_ROWS], host(y_batch)[:QUICK_ROWS]
    findings = check_inputs(xh)
    if any(f.severity == ERROR for f in findings):
        return sort_findings(findings)
    unnormalised = any(f.code == "inputs_not_normalised" for f in findings)
    x_t, y_t = as_input(xh, device, dtype), as_input(yh, device, dtype)
    ins = _inspect(
        model,
        x_t,
        y_t,
        loss_fn,
        num_classes,
        "at initialisation",
        True,
        unnormalised,
        optimizer,
        decay=_decays(optimizer),
    )
    return sort_findings(merge(findings, ins.findings))


def diagnose(
    model: Any,
    x: Any,
    y: Any,
    loss_fn: LossFn | None = None,
    optimizer: Any = None,
    steps: int = 20,
    batch_size: int = 64,
    num_classes: int | None = None,
    seed: int = 0,
    trials: bool = True,
    steps_are_the_run: bool = True,
) -> Report:
    """Run `steps` optimizer steps on random batches of (x, y) and report every finding.

    Trains `model` in place (pass a fresh model, or a copy). Measures the loss on a fixed
    subset before and after, the update-to-weight ratio and gradient norm of every weight
    layer at every step, and units and predictions at the start and the end. With `trials`
    (the default) its advice is measured: short runs of copies of the model as it was, with
    the same optimizer, data and loss, try a few learning rates and each cheap fix (wider
    layers, default init, normalised inputs, more steps), and the report ranks the fixes by
    what they gained. `steps_are_the_run`: `steps` is the length of the training run being
    diagnosed (a learner's 5 iterations), so a loss still on its plateau after them is a
    warning; False when `steps` is only the doctor's own look (the CLI's default), where a
    set-up that leaves its plateau later learns. `optimizer` defaults to Adam(lr=1e-3),
    `loss_fn` to cross_entropy for integer labels; any model, loss and data work.
    """
    from .. import optim

    device, dtype = model_device(model), model_float_dtype(model)
    xh, yh = host(x), host(y)
    n = int(xh.shape[0])
    rng = np.random.default_rng(seed)
    stats_rows = rng.choice(n, min(n, STATS_ROWS), replace=False)
    data = check_inputs(xh[stats_rows])
    unnormalised = any(f.code == "inputs_not_normalised" for f in data)
    if any(f.severity == ERROR for f in data):
        return Report(data, summary=_describe_run(model, None, optimizer, 0, batch_size, n))
    x_all, y_all = as_input(xh, device, dtype), as_input(yh, device, dtype)
    probe = np.sort(rng.choice(n, min(n, PROBE_ROWS), replace=False))
    xp_, yp_ = take_rows(x_all, probe), take_rows(y_all, probe)
    if optimizer is None:
        optimizer = optim.Adam(model.parameters(), lr=1e-3)

    decay = _decays(optimizer)
    start = _inspect(
        model,
        xp_,
        yp_,
        loss_fn,
        num_classes,
        "at initialisation",
        True,
        unnormalised,
        n_data=n,
        batch_size=batch_size,
    )
    summary = _describe_run(model, start, optimizer, steps, batch_size, n)
    if start.stop:
        return Report(merge(data, start.findings), summary=summary, loss_before=start.loss)
    runner = None
    if trials and start.loss_fn is not None and start.weights:
        runner = TrialRunner(model, optimizer, xh, yh, start.loss_fn, batch_size, probe, seed)

    hist = _train(model, x_all, y_all, start, optimizer, steps, batch_size, rng)
    when = f"after {hist.steps} steps"
    end = _Inspection()
    if hist.nan_step is None and hist.nonfinite_grad_layer is None:
        end = _inspect(
            model,
            xp_,
            yp_,
            start.loss_fn,
            start.num_classes,
            when,
            False,
            unnormalised,
            baseline=True,
            decay=decay,
        )
    change = None
    if start.loss is not None and end.loss is not None and start.loss > 0:
        change = abs(end.loss - start.loss) / start.loss
    updates = [] if runner is not None else check_updates(hist, change, _note(unnormalised))
    training = (
        check_nonfinite(hist)
        + updates
        + check_weight_norms(hist)
        + check_gradients(hist, f"over {hist.steps} steps")
    )
    found = merge(data, end.findings, training, start.findings)
    ran = _ran(start, end, hist.steps)
    stopped, learns = True, ran.learns
    if runner is not None and math.isfinite(ran.before):
        trained = snapshot(model)
        found, stopped, learns = _measured(runner, found, ran, steps, steps_are_the_run)
        restore(model, trained)  # the model as the doctor's own run left it
    causes = list(
        dict.fromkeys(f.code for f in found if f.severity != INFO and f.category in _CAUSES)
    )
    symptoms: list[Finding] = []
    span = _span(hist.steps, batch_size, n)
    if stopped and end.loss is not None and start.loss is not None:
        symptoms += check_loss_curve(
            start.loss, end.loss, end.baseline, span, start.kind, start.num_classes, causes
        )
    if stopped and end.outputs is not None:
        labels = class_labels(host(yp_))
        probs = prediction_probs(end.outputs, end.bounded_outputs)
        symptoms += check_predictions(probs, labels, span, causes)
    findings = quiet_when_learning(merge(found, symptoms), learns)
    return Report(
        findings,
        summary=summary,
        steps=hist.steps,
        losses=hist.losses,
        loss_before=start.loss,
        loss_after=end.loss,
        baseline_after=end.baseline,
        loss_kind=start.kind,
        num_classes=start.num_classes,
        layers=_rows(start, end, hist),
        cost_words=explain_cost(end.loss, start.num_classes) if end.loss is not None else None,
    )


def _ran(start: _Inspection, end: _Inspection, steps: int) -> Trial:
    """The user's own run as a trial: the probe loss before and after, and the baseline."""
    before = start.loss if start.loss is not None else math.nan
    after = end.loss if end.loss is not None else math.nan
    return Trial("as run", before, after, steps, end.baseline)


def _span(steps: int, batch_size: int, n: int) -> str:
    """'20 steps of 64 samples (0.71 epochs of 1797)': how much of the data a run saw."""
    size = min(batch_size, n)
    if size >= n:
        return f"{steps} full-batch steps"
    return f"{steps} steps of {size} samples ({steps * size / n:.2g} epochs of {n})"


def _measured(
    runner: TrialRunner, found: list[Finding], ran: Trial, steps: int, own: bool
) -> tuple[list[Finding], bool, bool]:
    """Learning-rate trials and, when the run did not learn, a trial of each cheap fix; the
    findings get the gains measured. Also whether the loss really stopped (no longer run
    leaves the plateau), and whether the set-up learns (its run or its trial)."""
    if ran.learns:  # nothing to measure: a rate that learns is left alone
        return found, False, True
    length = max(steps, TRIAL_STEPS)
    current, others = runner.learning_rates(length)
    codes = {f.code for f in found}
    flat = bool(
        codes & {"vanishing_gradients", "saturated_units", "output_saturated", "dead_relus"}
    )
    lr = runner.lr
    out = [f for f in found if f.code not in ("lr_too_high", "lr_too_low")]
    if lr:
        out = one_way(out + lr_findings(current, others, lr, flat))
    if current.learns:  # it learns, given the trial's steps: nothing stops it
        return out, False, True
    if "bottleneck" in codes:
        restore(runner.model, runner.initial)  # widen the model as it started
        net = runner.model
        rows = as_input(runner.x[runner.probe[:8]], model_device(net), model_float_dtype(net))
        wide, why = widened(net, WIDE, rows)
        if wide is None:
            out = untried(out, "bottleneck", why)
        else:
            label = f"every hidden layer ≥ {WIDE} units"
            out = with_gain(out, "bottleneck", runner.run(label, length, model=wide), current)
    if "weight_scale" in codes:
        trial = runner.run("default init", length, prepare=reinitialise)
        out = with_gain(out, "weight_scale", trial, current)
    if "inputs_not_normalised" in codes:
        trial = runner.run("normalised inputs", length, x=standardised(runner.x))
        out = with_gain(out, "inputs_not_normalised", trial, current)
    if not current.finite or any(f.code.startswith("lr_too") for f in out):
        return out, True, False  # the rate is the fix: no longer run at this one
    longer = runner.run("longer", LONGEST_TRIAL, watch=True)
    leave = longer.left_at
    if leave is None or leave <= steps:
        return out, True, False
    gain = (ran.after - longer.after) / ran.after if ran.after > 0 else 1.0
    who = "you ran" if own else "the doctor ran"
    out.append(
        Finding(
            "too_few_steps",
            WARNING if own else INFO,
            None,
            f"{who} {steps} steps; this loss leaves its plateau after about {leave} "
            f"(measured: {longer.text()})",
            f"train for at least {2 * leave} steps before judging the set-up",
            float(leave),
            gain=gain,
        )
    )
    return out, False, not own


def check_before_training(
    model: Any, x_batch: Any, y_batch: Any, *, file: IO[str] | None = None, **options: Any
) -> list[Finding]:
    """The `train` hook on one batch: quick_checks (``options``: its loss_fn, num_classes,
    optimizer), the warnings and errors printed once (to stderr by default). Never raises: a
    failure inside the doctor is reported in one line and training goes on. Returns all
    findings (info included)."""
    out = file if file is not None else sys.stderr
    return _warn_before_training(
        lambda: quick_checks(model, x_batch, y_batch, **options),
        lambda line: print(line, file=out),
    )


def run_doctor_checks(
    model: Any,
    loader: Any,
    *,
    loss_fn: LossFn | None = None,
    optimizer: Any = None,
    config: dict[str, Any] | None = None,
    log: Callable[[str], Any] = print,
) -> list[Finding]:
    """The hook `tinygrad-digits train` calls before training: quick_checks on samples of the
    loader's dataset, the warnings and errors passed to `log` once. Never raises (as
    check_before_training). Returns all findings.

    Reads `loader.dataset` directly (the first batch when the loader does not shuffle, as
    training will see it, else a seeded random sample) and never iterates the loader, so the
    loader's shuffling generator, and with it the training run, is exactly as without the hook.
    """

    def check() -> list[Finding]:
        rows = _sample_rows(loader)
        num_classes = (config or {}).get("num_classes")
        if num_classes == 1:  # one output (a logic gate's): a two-class logit, not one class
            num_classes = None
        return quick_checks(model, rows[0], rows[1], loss_fn, num_classes, optimizer)

    return _warn_before_training(check, log)


def _warn_before_training(
    check: Callable[[], list[Finding]], log: Callable[[str], Any]
) -> list[Finding]:
    """Run ``check`` and pass its warnings and errors to ``log`` once. The doctor must never
    stop a training run: its own failure is one logged line and no findings."""
    try:
        findings = check()
    except Exception as exc:
        log(f"doctor: checks skipped ({type(exc).__name__}: {exc})")
        return []
    _announce(findings, log)
    return findings


def _announce(findings: list[Finding], log: Callable[[str], Any]) -> None:
    """Pass the warnings and errors found before training to `log`, once, with a pointer to
    the full report."""
    shown = at_least(findings, WARNING)
    if shown:
        log(format_findings(shown, "doctor (before training)"))
        log(
            "  (`tinygrad-digits doctor` runs a few steps for a full report; --no-doctor "
            "turns these checks off)"
        )


def _sample_rows(loader: Any, rows: int = PROBE_ROWS) -> tuple[Any, ...]:
    """(inputs, labels) from the loader's dataset without touching the loader's generator."""
    dataset = getattr(loader, "dataset", loader)
    n = len(dataset)
    batch = int(getattr(loader, "batch_size", 1))
    if getattr(loader, "shuffle", False):
        take = min(n, max(rows, batch))
        index: Any = np.sort(np.random.default_rng(0).choice(n, take, replace=False))
    else:  # exactly the first batch training will see (a sorted dataset shows here)
        index = np.arange(min(n, max(batch, 32)))
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        return tuple(getitems(index))
    samples = [dataset[int(i)] for i in index]
    return tuple(np.stack([host(s[k]) for s in samples]) for k in range(len(samples[0])))


# --- one inspection -----------------------------------------------------------------------------
def _inspect(
    model: Any,
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn | None,
    num_classes: int | None,
    when: str,
    start: bool,
    unnormalised: bool,
    optimizer: Any = None,
    baseline: bool = False,
    decay: bool = False,
    n_data: int | None = None,
    batch_size: int | None = None,
) -> _Inspection:
    """Forward on (x, y); at the start also the set-up checks and one backward. Weight decay
    is never blamed at the start: no step has run yet."""
    ins = _Inspection()
    device = x.device
    with eval_mode(model), np.errstate(all="ignore"):
        trace = run_probe(model, x, grad=start)
        out = trace.output
        ins.trace = trace
        c = num_classes
        if c is None and isinstance(out, Tensor) and out.ndim == 2 and out.shape[1] >= 2:
            c = int(out.shape[1])
        ins.num_classes = c
        yh = host(y)
        if start:
            ins.findings += check_labels(yh, c)
            if any(f.code == "labels_out_of_range" for f in ins.findings):
                ins.stop = True
                return ins
        if loss_fn is None and class_labels(yh) is not None and yh.ndim == 1 and c:
            from ..nn import functional as F

            loss_fn = F.cross_entropy
        ins.loss_fn = loss_fn
        loss = None
        if loss_fn is not None:
            loss = record_loss(trace, loss_fn, y, start)
            ins.kind = loss_kind(loss_fn, trace)
            ins.loss = float(loss.item())
        if start:
            ins.findings += check_architecture(trace, c)
            ins.findings += check_loss_setup(trace, ins.kind, c)
        if isinstance(out, Tensor) and out.ndim == 2:
            ins.outputs = device.to_numpy(out.detach().data).astype(np.float64)
            ins.bounded_outputs = "Sigmoid" in trace.output_ops() or "Softmax" in trace.output_ops()
        if ins.loss is not None and not math.isfinite(ins.loss):
            ins.findings.append(_nan_at_start(model, x, y, loss_fn, ins.loss, when))
            ins.stop = True
            return ins
        if start and ins.loss is not None and ins.outputs is not None:
            spread = float(np.mean(np.std(ins.outputs, axis=1)))
            ins.findings += check_initial_loss(ins.loss, ins.kind, c, spread, unnormalised)
        ins.stats = [unit_stats(a, device) for a in trace.hidden_activations()]
        ins.findings += check_activations(ins.stats, when, unnormalised, decay and not start)
        ins.weights = layer_weights(model, trace)
        if ins.outputs is not None and "Sigmoid" in trace.output_ops():
            in_model = "Sigmoid" in trace.model_ops[trace.last_layer_op + 1 :]
            ins.findings += check_output_saturation(ins.outputs, logits=not in_model)
        if start:
            ins.findings += check_weight_scale(ins.weights, device)
            ins.findings += check_bias(model, trace)
        if baseline and loss_fn is not None and isinstance(out, Tensor) and out.ndim >= 1:
            with no_grad():
                const = out.detach().mean(dim=0, keepdim=True).expand(out.shape)
                ins.baseline = float(loss_fn(const, y).item())
        if start and loss is not None and loss.requires_grad:
            ins.findings += _gradients_at_start(
                model, x, y, loss, ins, optimizer, when, unnormalised
            )
            ins.findings += _penalty(model, ins, x, y, n_data or int(x.shape[0]), batch_size)
    return ins


def _nan_at_start(
    model: Any, x: Tensor, y: Tensor, loss_fn: LossFn, value: float, when: str
) -> Finding:
    nan = "NaN" if math.isnan(value) else "inf"
    h = TrainingHistory([], nan_step=0, nan_value=nan, anomaly=_anomaly(model, x, y, loss_fn))
    f = check_nonfinite(h)[0]
    msg = f.message.replace("at step 0", when).replace("became", "is")
    return Finding(f.code, f.severity, None, msg, f.advice, 0.0)


def _anomaly(model: Any, x: Tensor, y: Tensor, loss_fn: LossFn) -> str | None:
    """Re-run forward and backward under detect_anomaly; its message names the op and line."""
    from ..autograd.anomaly import AnomalyError, detect_anomaly

    params = list(model.parameters()) if hasattr(model, "parameters") else []
    with _kept_grads(params), np.errstate(all="ignore"):
        try:
            with detect_anomaly():
                loss = loss_fn(model(x), y)
                if getattr(loss, "requires_grad", False):
                    loss.backward()
        except AnomalyError as exc:
            return str(exc)
        except Exception:
            return None
    return None


@contextlib.contextmanager
def _kept_grads(params: list[Tensor]) -> Iterator[None]:
    """Let a backward run, then put every parameter's .grad back as it was."""
    saved = [p.grad for p in params]
    for p in params:
        p.grad = None
    try:
        yield
    finally:
        for p, g in zip(params, saved):
            p.grad = g


def _gradients_at_start(
    model: Any,
    x: Tensor,
    y: Tensor,
    loss: Tensor,
    ins: _Inspection,
    optimizer: Any,
    when: str,
    unnormalised: bool,
) -> list[Finding]:
    """One backward at the start: gradient flow per layer and, with an optimizer, a few steps
    on a copy of the model. The model's own gradients are left as they were."""
    weights = ins.weights
    if not weights:
        return []
    params = list(model.parameters())
    out: list[Finding] = []
    with _kept_grads(params):
        loss.backward()
        grad_norms, weight_norms = gradient_norms(weights)
        layers = [
            LayerHistory(name, tuple(p.shape), [g], [w])
            for (name, p), g, w in zip(weights, grad_norms, weight_norms)
        ]
        bad = [layer.name for layer, g in zip(layers, grad_norms) if not math.isfinite(g)]
        if bad:
            h = TrainingHistory(layers, nonfinite_grad_layer=bad[0])
            return check_nonfinite(h)
        out += check_gradients(TrainingHistory(layers, losses=[ins.loss or 0.0]), when)
        if optimizer is not None:
            out += _first_steps(model, optimizer, weights, x, y, ins.loss_fn, _note(unnormalised))
    return out


def _penalty(
    model: Any, ins: _Inspection, x: Tensor, y: Tensor, n_data: int, batch_size: int | None
) -> list[Finding]:
    """A weight penalty written into the loss (λ/(2m)·ΣW²): the loss's gradient with the
    network's output held fixed reaches the weights only through such a penalty. Its share of
    the loss and of the gradient clear λ or blame it."""
    trace, loss_fn = ins.trace, ins.loss_fn
    if trace is None or not isinstance(trace.output, Tensor) or loss_fn is None or not ins.loss:
        return []
    weights = [p for _, p in ins.weights]
    if not weights:
        return []
    params = list(model.parameters())
    with _kept_grads(params), np.errstate(all="ignore"):
        loss = loss_fn(model(x), y)
        if not getattr(loss, "requires_grad", False):
            return []
        loss.backward()
        total = [host(p.grad) if p.grad is not None else None for p in weights]
    with _kept_grads(params), np.errstate(all="ignore"):
        held = loss_fn(trace.output.detach(), y)
        if not getattr(held, "requires_grad", False):
            return []
        held.backward()
        pen = [host(p.grad) if p.grad is not None else None for p in weights]
    pairs = [(host(p.detach()), g, t) for p, g, t in zip(weights, pen, total) if g is not None]
    if not pairs:
        return []
    gw = sum(float((w * g).sum()) for w, g, _ in pairs)
    ww = sum(float((w * w).sum()) for w, _, _ in pairs)
    g_pen = math.sqrt(sum(float((g * g).sum()) for _, g, _ in pairs))
    g_data = math.sqrt(sum(float(((t - g) ** 2).sum()) for _, g, t in pairs if t is not None))
    if not (g_pen > 0 and ww > 0):
        return []
    return check_weight_penalty(
        share=0.5 * gw / ins.loss,
        ratio=g_pen / max(g_data, 1e-30),
        per_weight=gw / ww,
        n_data=n_data,
        batch_size=batch_size,
    )


def _note(unnormalised: bool) -> str:
    return ", after normalising the inputs (see inputs_not_normalised)" if unnormalised else ""


def _decays(optimizer: Any) -> bool:
    """Whether weight decay alone shrinks the weights by 0.1% or more per step."""
    h = _hyper(optimizer) if optimizer is not None else {"lr": None}
    return bool(h["lr"]) and h["lr"] * h["weight_decay"] >= 1e-3


def _first_steps(
    model: Any,
    optimizer: Any,
    weights: list[tuple[str, Tensor]],
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    note: str,
) -> list[Finding]:
    """Take a few steps on one batch with a fresh optimizer of the same kind, on a deep copy of
    the model (gradients included, eval mode: no dropout, so no random numbers are drawn), and
    measure how much each step moves each weight and whether the weights shrink."""
    try:
        clone = copy.deepcopy(model)
        twin = {id(p): q for p, q in zip(model.parameters(), clone.parameters())}
        groups = []
        for g in optimizer.param_groups:
            ps = [twin[id(p)] for p in g["params"] if id(p) in twin]
            if ps:
                groups.append({**g, "params": ps})
        opt = type(optimizer)(groups)
        copies = [(name, twin[id(p)]) for name, p in weights]
        h = TrainingHistory(
            [LayerHistory(name, tuple(q.shape)) for name, q in copies], **_hyper(optimizer)
        )
        device = copies[0][1].device
        for step in range(QUICK_STEPS):
            if step:  # the first step uses the gradients copied from the model
                opt.zero_grad()
                with np.errstate(all="ignore"):
                    loss = loss_fn(clone(x), y)
                    if not math.isfinite(float(loss.item())):
                        break
                    loss.backward()
            before = [q.data * 1 for _, q in copies]  # copies (CuPy lacks asarray(copy=))
            opt.step()
            moved = l2_norms(device, [q.data - b for (_, q), b in zip(copies, before)])
            sizes = l2_norms(device, before)
            h.losses.append(0.0)
            for layer, u, w in zip(h.layers, moved, sizes):
                layer.update.append(float(u))
                layer.weight.append(float(w))
        for layer, w in zip(h.layers, l2_norms(device, [q.data for _, q in copies])):
            layer.weight_end = float(w)
    except Exception:
        return []
    over = f"{h.steps} steps on one batch"
    found = check_updates(
        h, None, high=FIRST_STEPS_HIGH, jump=math.inf, low=FIRST_STEPS_LOW, advice_note=note
    )
    found += check_weight_norms(h)
    return [
        Finding(
            f.code,
            f.severity,
            f.layer,
            f.message.replace(f"{h.steps} steps", over),
            f.advice,
            f.value,
        )
        for f in found
    ]


def _hyper(optimizer: Any) -> dict[str, Any]:
    groups = getattr(optimizer, "param_groups", None) or [{}]
    g = groups[0]
    return {
        "lr": g.get("lr"),
        "weight_decay": float(g.get("weight_decay", 0.0) or 0.0),
        "optimizer": type(optimizer).__name__,
    }


# --- the training steps -----------------------------------------------------------------------
class _StepRecorder(Callback):
    """What the doctor measures at every step of fit: the loss, each weight layer's gradient
    and weight norms before the step, and how far the step moved the weights. It stops at the
    first non-finite loss or gradient, before the optimizer step takes it into the weights."""

    def __init__(self, hist: TrainingHistory, weights: list[tuple[str, Tensor]]) -> None:
        self.hist, self.weights = hist, weights
        self.device = weights[0][1].device
        self._before: list[Any] = []
        self._grads = self._sizes = np.zeros(0)
        self._loss = 0.0

    def on_after_backward(self, state: TrainState) -> None:
        hist, weights = self.hist, self.weights
        self._loss = float(state.loss.item())
        if not math.isfinite(self._loss):
            hist.nan_step, hist.nan_value = hist.steps, "NaN" if math.isnan(self._loss) else "inf"
            hist.anomaly = _anomaly(state.model, state.inputs, state.target, state.loss_fn)
            state.stop_training = True
            return
        self._grads, self._sizes = gradient_norms(weights)
        finite = np.isfinite(self._grads)
        if not finite.all():
            hist.nonfinite_grad_layer = weights[int(np.argmin(finite))][0]
            state.stop_training = True
            return
        self._before = [p.data * 1 for _, p in weights]  # copies, on the device

    def on_batch_end(self, state: TrainState) -> None:
        pairs = zip(self.weights, self._before)
        moved = l2_norms(self.device, [p.data - b for (_, p), b in pairs])
        self.hist.losses.append(self._loss)
        for layer, g, w, u in zip(self.hist.layers, self._grads, self._sizes, moved):
            layer.grad.append(float(g))
            layer.weight.append(float(w))
            layer.update.append(float(u))

    def on_train_end(self, state: TrainState) -> None:
        state.optimizer.zero_grad()
        if self.hist.steps:  # the weight norm after the last step, for shrinkage
            final = l2_norms(self.device, [p.data for _, p in self.weights])
            for layer, w in zip(self.hist.layers, final):
                layer.weight_end = float(w)


def _train(
    model: Any,
    x: Tensor,
    y: Tensor,
    start: _Inspection,
    optimizer: Any,
    steps: int,
    batch_size: int,
    rng: np.random.Generator,
) -> TrainingHistory:
    """``steps`` steps of fit on random batches of (x, y), measured by _StepRecorder."""
    weights = start.weights
    hist = TrainingHistory(
        [LayerHistory(name, tuple(p.shape)) for name, p in weights], **_hyper(optimizer)
    )
    if start.loss_fn is None or not weights or steps < 1:
        return hist
    n = int(x.shape[0])

    def batches() -> Iterator[tuple[Tensor, Tensor]]:
        for _ in range(steps):
            idx = rng.choice(n, batch_size, replace=False) if n > batch_size else np.arange(n)
            yield take_rows(x, idx), take_rows(y, idx)

    with np.errstate(all="ignore"):
        fit(
            model,
            batches(),
            optimizer=optimizer,
            loss_fn=start.loss_fn,
            epochs=1,
            progress=False,
            log=None,
            metric=None,
            callbacks=[_StepRecorder(hist, weights)],
        )
    return hist


# --- describing the run -------------------------------------------------------------------------
def _rows(start: _Inspection, end: _Inspection, hist: TrainingHistory) -> list[LayerRow]:
    def stuck(stats: list[UnitStats]) -> dict[str, tuple[str, float]]:
        out: dict[str, tuple[str, float]] = {}
        for s in stats:
            if s.layer is None or s.layer in out or s.units == 0:
                continue
            limit = 1.0 if s.kind == "relu" else SATURATED_ON
            out[s.layer] = (s.kind, float((s.stuck >= limit).mean()))
        return out

    a, b = stuck(start.stats), stuck(end.stats)
    rows = []
    for layer in hist.layers:
        kind = (a.get(layer.name) or b.get(layer.name) or (None, None))[0]
        rows.append(
            LayerRow(
                layer.name,
                layer.shape,
                kind,
                a[layer.name][1] if layer.name in a else None,
                b[layer.name][1] if layer.name in b else None,
                layer.median_grad if layer.grad else None,
                layer.median_rel_grad if layer.grad else None,
                layer.median_ratio if layer.update else None,
            )
        )
    return rows


def _describe_run(
    model: Any, start: _Inspection | None, optimizer: Any, steps: int, batch_size: int, n: int
) -> str:
    parts = []
    trace = start.trace if start is not None else None
    if trace is not None and trace.layers and all(t.op == "Linear" for t in trace.layers):
        sizes = [trace.layers[0].in_features] + [t.out_features for t in trace.layers]
        acts = list(dict.fromkeys(a.kind for a in trace.hidden_activations()))
        parts.append(
            "-".join(str(s) for s in sizes)
            + f" {type(model).__name__}"
            + (f" ({', '.join(acts)})" if acts else "")
        )
    else:
        parts.append(type(model).__name__)
    if start is not None and start.kind:
        parts.append(f"{start.kind} loss")
    if optimizer is not None:
        h = _hyper(optimizer)
        g = (getattr(optimizer, "param_groups", None) or [{}])[0]
        extra = f", momentum={g['momentum']:g}" if g.get("momentum") else ""
        extra += f", weight_decay={h['weight_decay']:g}" if h["weight_decay"] else ""
        parts.append(f"{h['optimizer']}(lr={h['lr']:g}{extra})")
    parts.append(_span(steps, batch_size, n))
    return ", ".join(parts)


__all__ = ["check_before_training", "diagnose", "quick_checks", "run_doctor_checks"]
