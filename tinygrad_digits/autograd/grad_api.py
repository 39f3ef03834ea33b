"""torch.autograd.grad: gradients of outputs with respect to chosen inputs, as a return value."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import GradientError
from .engine import run_backward
from .tensor import Tensor, _as_gradient


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) weighted by grad_outputs; leaves' .grad are left untouched.

    With create_graph=True the result is itself differentiable (Hessian-vector products,
    gradient penalties).
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        gos: list = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        gos = list(grad_outputs)
    seeds = []
    for i, (out, go) in enumerate(zip(outs, gos)):
        if not out.requires_grad:
            raise GradientError(
                f"grad: output {i} does not require grad: it is not connected to any input "
                "that requires grad (computed under no_grad, or from detached tensors?)"
            )
        if go is None:
            if out.numel() != 1:
                raise GradientError(
                    f"grad: output {i} has shape {out.shape}; pass grad_outputs for non-scalar "
                    "outputs"
                )
            go = Tensor._make(out.device.xp.ones_like(out.data), out.device, False)
        seeds.append(_as_gradient(go, out))
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise GradientError(f"grad: input {i} (shape {t.shape}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    found = run_backward(outs, seeds, retain_graph, create_graph, inputs=ins)
    for i, g in enumerate(found):
        if g is None and not allow_unused:
            raise GradientError(
                f"grad: input {i} (shape {ins[i].shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(found)
