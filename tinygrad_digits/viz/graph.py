"""A snapshot of a computation graph: ops, leaves, module scopes, value and gradient summaries.

Pictures are drawn from a snapshot, not from live tensors. After backward a graph keeps only its
structure (each node's `graph_inputs`: parameters and data-free outlines), so it can still be
drawn, with parameter gradients but no values. `capture(loss)` walks the live graph before
backward and `Graph.backward()` records the gradient reaching every node while backward runs;
`trace()` records everything that happens inside a `with` block, ops and gradients alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd.function import parents_as_seen
from ..autograd.hooks import (
    RemovableHandle,
    register_forward_op_hook,
    register_grad_hook,
    running_modules,
)
from ..autograd.tensor import Tensor

# What a leaf tensor is, in the picture: trainable, data fed in, or a constant inside an op.
PARAM, INPUT, CONST, OP = "param", "input", "const", "op"


@dataclass(frozen=True)
class Summary:
    """Statistics of one tensor's values (or gradient), taken on the host in float64.

    `norm`, `mean`, `min` and `max` are over the finite elements; `nan` and `inf` count the
    others, `zero_frac` is the fraction of exact zeros, `value` is set for one-element tensors.
    """

    numel: int
    norm: float
    mean: float
    min: float
    max: float
    nan: int = 0
    inf: int = 0
    zero_frac: float = 0.0
    value: float | None = None
    integer: bool = False

    @property
    def finite(self) -> bool:
        return self.nan == 0 and self.inf == 0

    @property
    def rms(self) -> float:
        return self.norm / math.sqrt(self.numel) if self.numel else 0.0


def summarize(t: Tensor | None) -> Summary | None:
    """Summary of a tensor's values on any device (None for None or an empty tensor)."""
    if t is None or t.data is None:  # None, or the outline of a tensor backward freed
        return None
    a = np.asarray(t.device.to_numpy(t.data))
    if a.size == 0:
        return None
    integer = a.dtype.kind in "biu"
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    a = a.astype(np.float64, copy=False).ravel()
    finite = np.isfinite(a)
    nan = int(np.isnan(a).sum())
    inf = int(a.size - nan - finite.sum())
    good = a if nan == 0 and inf == 0 else a[finite]
    if good.size:
        norm = float(np.sqrt(np.dot(good, good)))
        mean, lo, hi = float(good.mean()), float(good.min()), float(good.max())
    else:
        norm = mean = lo = hi = math.nan
    value = float(a[0]) if a.size == 1 else None
    zero = float((a == 0).mean())
    return Summary(a.size, norm, mean, lo, hi, nan, inf, zero, value, integer)


@dataclass
class Node:
    """One box in the picture: an op (with the tensor it made) or a leaf tensor."""

    id: str
    kind: str  # OP, PARAM, INPUT or CONST
    label: str  # op class name, or the leaf's name ("fc1.weight", "input", "")
    shape: tuple[int, ...]
    dtype: str
    device: str
    requires_grad: bool
    inputs: list[str] = field(default_factory=list)  # ids of the op's input nodes, in order
    scope: str | None = None  # module path ("" is the model itself); None outside any module
    saved: list[str] = field(default_factory=list)  # what backward keeps (ops)
    saved_bytes: int = 0
    value: Summary | None = None
    grad: Summary | None = None
    is_output: bool = False


def named_modules(model: Any) -> list[tuple[str, Any]]:
    """(path, module) pairs, the model itself first as "" (uses `named_modules()` if present)."""
    if hasattr(model, "named_modules"):
        return [(p, m) for p, m in model.named_modules()]
    out: list[tuple[str, Any]] = []
    seen: set[int] = set()
    stack = [("", model)]
    while stack:
        path, m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        out.append((path, m))
        children = list(_named_children(m))
        for name, child in reversed(children):
            stack.append((f"{path}.{name}" if path else name, child))
    return out


def _is_module(obj: Any) -> bool:
    return not isinstance(obj, Tensor | type) and callable(getattr(obj, "forward", None))


def _named_children(m: Any) -> Iterator[tuple[str, Any]]:
    if hasattr(m, "named_children"):
        yield from m.named_children()
        return
    for name, value in getattr(m, "__dict__", {}).items():
        if _is_module(value):
            yield name, value
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                if _is_module(v):
                    yield f"{name}.{i}", v
        elif isinstance(value, dict):
            for k, v in value.items():
                if _is_module(v):
                    yield f"{name}.{k}", v


def named_parameters(params: Any) -> list[tuple[str, Tensor]]:
    """Normalise `params=`: a Module, a mapping name -> tensor, or (name, tensor) pairs."""
    if params is None:
        return []
    if hasattr(params, "named_parameters"):
        return list(params.named_parameters())
    if isinstance(params, Mapping):
        return list(params.items())
    return [(str(n), t) for n, t in params]


class _ModuleNames:
    """Module paths for scopes: from the model's `named_modules()`, else from what the parent
    module holds (known from the module stack while tracing), else the type name."""

    def __init__(self, model: Any = None) -> None:
        self.paths: dict[int, str] = {}
        self.types: dict[str, str] = {}
        self.parent: dict[int, Any] = {}
        self._keep: list[Any] = []
        self._used: dict[str, int] = {}
        # Paths of modules seen running (on the module stack); None when nobody watched.
        self.ran: set[str] | None = None
        if model is not None:
            for path, m in named_modules(model):
                if id(m) not in self.paths:
                    self._add(m, path)

    def _add(self, m: Any, path: str) -> str:
        self.paths[id(m)] = path
        self.types.setdefault(path, type(m).__name__)
        self._keep.append(m)
        return path

    def note_stack(self, stack: tuple[Any, ...]) -> None:
        for outer, inner in zip(stack, stack[1:]):
            if id(inner) not in self.parent and id(inner) not in self.paths:
                self.parent[id(inner)] = outer
                self._keep.append(inner)
        if self.ran is None:
            self.ran = set()
        for m in stack:
            self.ran.add(self.path_of(m))

    def boxed(self, path: str) -> bool:
        """Whether a module gets its own box around the ops inside it: it ran (when the module
        stack was watched), or, when not known, it is not a mere container (ModuleList)."""
        if self.ran is not None:
            return path in self.ran
        return self.types.get(path) not in _CONTAINERS

    def path_of(self, m: Any) -> str:
        chain = []
        while id(m) not in self.paths:
            chain.append(m)
            parent = self.parent.get(id(m))
            if parent is None:
                break
            m = parent
        path = self.paths.get(id(m))
        for child in reversed(chain):
            if path is None:  # an outermost module nobody named: use its type
                path = self._fresh(type(child).__name__)
            else:
                name = _attr_name(m, child) or self._fresh(type(child).__name__)
                path = f"{path}.{name}" if path else name
            self._add(child, path)
            m = child
        return path if path is not None else ""

    def _fresh(self, base: str) -> str:
        n = self._used.get(base, 0) + 1
        self._used[base] = n
        return base if n == 1 else f"{base}#{n}"


_CONTAINERS = {"ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}


def _attr_name(parent: Any, child: Any) -> str | None:
    """The dotted path of `child` inside `parent` ("layers.0" through a ModuleList)."""
    try:
        for name, value in named_modules(parent):
            if value is child and name:
                return name
    except Exception:
        return None
    return None


class Graph:
    """Snapshot of a computation graph, kept after backward frees the live one.

    Build it with `capture(*roots)` or `trace()`. `nodes` are in a stable order (inputs before
    the ops that use them), with ids "n0", "n1", ... so the same graph gives the same picture.
    """

    def __init__(self, model: Any = None, params: Any = None, inputs: Any = None) -> None:
        self.nodes: list[Node] = []
        self.by_id: dict[str, Node] = {}
        self.modules = _ModuleNames(model)
        self._fn_node: dict[int, Node] = {}  # id(Function) -> Node
        self._fns: list[Any] = []  # keeps Function objects alive so their ids stay unique
        self._leaf_node: dict[int, Node] = {}  # id(leaf Tensor) -> Node
        self._leaves: list[tuple[Node, Tensor]] = []
        self._roots: list[Tensor] = []
        self._param_names: dict[int, str] = {}
        self._param_refs: list[Tensor] = []
        self._input_names: dict[int, str] = {}
        self._explicit_inputs = inputs is not None
        for name, t in named_parameters(params if params is not None else model):
            self._param_names.setdefault(id(t), name)
            self._param_refs.append(t)
        for name, t in _named_inputs(inputs):
            self._input_names.setdefault(id(t), name)
            self._param_refs.append(t)
        self.record_values = True
        # True when leaf gradients were recorded once (draw(model, x) leaves .grad alone).
        self.leaf_grads_fixed = False
        self._scope_hint: tuple[int, str | None] | None = None

    # --- building -----------------------------------------------------------------------
    def add(self, *roots: Tensor) -> list[str]:
        """Walk each root's live history (iteratively) and add what is new; mark them outputs."""
        ids = []
        for root in roots:
            if not isinstance(root, Tensor):
                raise TypeError(
                    f"expected Tensors to draw, got {type(root).__name__}; to draw a model "
                    "pass it with an example input: draw(model, x)"
                )
            node = self._add_tensor(root)
            node.is_output = True
            if all(r is not root for r in self._roots):
                self._roots.append(root)
            ids.append(node.id)
        return ids

    def _known(self, t: Tensor) -> Node | None:
        if t._ctx is not None:
            return self._fn_node.get(id(t._ctx))
        return self._leaf_node.get(id(t))

    def _add_tensor(self, root: Tensor) -> Node:
        found = self._known(root)
        if found is not None:
            return found
        # Post-order DFS with an explicit stack: 10,000-op chains must not recurse.
        stack: list[tuple[Tensor, Iterator[Tensor]]] = [(root, iter(self._parents(root)))]
        while stack:
            t, it = stack[-1]
            for p in it:
                if self._known(p) is None:
                    stack.append((p, iter(self._parents(p))))
                    break
            else:
                stack.pop()
                if self._known(t) is None:
                    self._make_node(t)
        return self._known(root)

    def _parents(self, t: Tensor) -> tuple[Tensor, ...]:
        fn = t._ctx
        if fn is None:
            return ()
        if fn.parents is None:  # backward freed the arrays: draw from the outline it keeps
            return tuple(fn.graph_inputs)
        parents = parents_as_seen(fn)
        return tuple(parents)

    def _new_node(self, kind: str, label: str, t: Tensor, **kw: Any) -> Node:
        node = Node(
            id=f"n{len(self.nodes)}",
            kind=kind,
            label=label,
            shape=tuple(t.shape),
            dtype=str(t.dtype),
            device=str(t.device),
            requires_grad=bool(t.requires_grad),
            value=summarize(t) if self.record_values else None,
            **kw,
        )
        self.nodes.append(node)
        self.by_id[node.id] = node
        return node

    def _make_node(self, t: Tensor) -> Node:
        fn = t._ctx
        if fn is None:
            kind, label = self._classify_leaf(t)
            node = self._new_node(kind, label, t)
            self._leaf_node[id(t)] = node
            self._leaves.append((node, t))
            return node
        parents = self._parents(t)
        saved, nbytes = _saved_of(fn, parents, self)
        node = self._new_node(
            OP,
            fn.name,
            t,
            inputs=[self._known(p).id for p in parents],
            scope=self._scope_of(fn),
            saved=saved,
            saved_bytes=nbytes,
        )
        self._fn_node[id(fn)] = node
        self._fns.append(fn)
        return node

    def _scope_of(self, fn: Any) -> str | None:
        module = getattr(fn, "scope", None)
        if module is None and self._scope_hint is not None and self._scope_hint[0] == id(fn):
            return self._scope_hint[1]
        return None if module is None else self.modules.path_of(module)

    def _classify_leaf(self, t: Tensor) -> tuple[str, str]:
        name = self._param_names.get(id(t))
        if name is not None:
            return PARAM, name
        name = self._input_names.get(id(t))
        if name is not None:
            return INPUT, name
        if t.requires_grad or type(t).__name__ == "Parameter":
            return PARAM, t.name or ""
        if t.numel() == 1 and t.ndim == 0:
            return CONST, t.name or ""
        if self._explicit_inputs and not t.name:
            return CONST, ""
        return INPUT, t.name or ("input" if not self._explicit_inputs else "")

    # --- gradients ------------------------------------------------------------------------
    def observe_grad(self, fn: Any, grad: Tensor) -> None:
        """A grad hook (`register_grad_hook`): remember the gradient reaching `fn`'s output."""
        node = self._fn_node.get(id(fn))
        if node is not None:
            node.grad = summarize(grad)

    def refresh_leaf_grads(self) -> None:
        """Read every leaf's current `.grad` (leaves accumulate, so read it late)."""
        if self.leaf_grads_fixed:
            return
        for node, t in self._leaves:
            node.grad = summarize(t.grad)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None) -> None:
        """Run backward from the graph's single output, recording every node's gradient."""
        if len(self._roots) != 1:
            raise ValueError(
                f"Graph.backward() needs exactly one output tensor, this graph has "
                f"{len(self._roots)}; call backward on the tensor yourself inside viz.trace()"
            )
        with watch_grads(self):
            self._roots[0].backward(gradient, retain_graph=retain_graph)
        self.refresh_leaf_grads()

    @property
    def has_grads(self) -> bool:
        return any(n.grad is not None for n in self.nodes)

    # --- facts for pictures -------------------------------------------------------------
    def consumers(self) -> dict[str, list[str]]:
        """Node id -> ids of the ops that read it."""
        out: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out[i].append(n.id)
        return out

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        ops = sum(n.kind == OP for n in self.nodes)
        return f"<viz.Graph: {ops} ops, {len(self.nodes) - ops} leaves>"

    def _repr_html_(self) -> str:
        """In a notebook: the picture as SVG (Graphviz's dot), else what it holds, as text."""
        from ..progress import html_text
        from .draw import GraphvizNotFoundError

        try:
            return self.draw(format="svg").pipe(encoding="utf-8")
        except (ImportError, GraphvizNotFoundError, OSError, RuntimeError):
            return html_text(f"{self!r} (install Graphviz to see the picture)")

    # Convenience: the same pictures as the module-level functions.
    def to_dot(self, **kw: Any) -> str:
        from .dot import to_dot

        return to_dot(self, **kw)

    def draw(self, **kw: Any) -> Any:
        from .draw import draw

        return draw(self, **kw)

    def health(self, **kw: Any) -> Any:
        from .health import health_report

        return health_report(self, **kw)


def _named_inputs(inputs: Any) -> list[tuple[str, Tensor]]:
    if inputs is None:
        return []
    if isinstance(inputs, Tensor):
        return [("input", inputs)]
    if isinstance(inputs, Mapping):
        return list(inputs.items())
    items = list(inputs)
    return [(f"input{i}" if len(items) > 1 else "input", t) for i, t in enumerate(items)]


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "scalar" if shape == () else str(tuple(shape))


def _saved_of(fn: Any, parents: tuple[Tensor, ...], graph: Graph) -> tuple[list[str], int]:
    """What the op keeps for its backward, from its declaration: the inputs it retains
    (`Function.saved_inputs()`, Mul keeps both) and the arrays it saved (`saved_arrays`, Exp its
    output); then its parameters (small plain attributes such as axis=1), on one line."""
    saved: list[str] = []
    nbytes = 0
    for i in fn.saved_inputs():
        p = parents[i]
        known = graph._known(p)
        name = known.label if known is not None and known.kind != OP and known.label else ""
        what = f"input {i}" + (f" {name}" if name else "")
        saved.append(f"{what} {_fmt_shape(tuple(p.shape))}")
        nbytes += p.numel() * p.dtype.itemsize
    for key, v in fn.saved_arrays.items():
        if not hasattr(v, "shape"):
            saved.append(f"{key}: {type(v).__name__}")
            continue
        shape = _fmt_shape(tuple(v.shape))
        saved.append(f"output {shape}" if key == "output" else f"{key} {shape} {_np_dtype(fn, v)}")
        nbytes += _nbytes(fn, v)
    settings = [f"{k}={v}" for k, v in vars(fn).items() if not k.startswith("_") and _is_setting(v)]
    if settings:  # small settings (axis=1, reduction=mean) share one line, after the arrays
        saved.append(", ".join(settings))
    return saved, nbytes


def _is_setting(v: Any) -> bool:
    """A small non-array value an op keeps (axis=1, reduction='mean', shape=(4, 3))."""
    if v is None or isinstance(v, bool | int | float | str):
        return True
    return isinstance(v, tuple) and len(v) <= 6 and all(isinstance(x, int) for x in v)


def _np_dtype(fn: Any, array: Any) -> str:
    try:
        return str(fn.device.numpy_dtype(array))
    except Exception:
        return str(array.dtype)


def _nbytes(fn: Any, array: Any) -> int:
    try:
        n = 1
        for s in array.shape:
            n *= int(s)
        return n * np.dtype(_np_dtype(fn, array)).itemsize
    except Exception:
        return 0


def capture(
    *roots: Tensor,
    params: Any = None,
    model: Any = None,
    inputs: Any = None,
    values: bool = True,
) -> Graph:
    """Snapshot the live graph behind `roots` (do it before backward frees it).

    `params` names the leaves (a Module, a dict name -> tensor, or pairs, as torchviz takes);
    `model` gives module paths for grouping ops; `inputs` names the data fed in.
    """
    if model is None and params is not None and hasattr(params, "named_modules"):
        model = params
    graph = Graph(model=model, params=params, inputs=inputs)
    graph.record_values = values
    graph.add(*roots)
    return graph


class watch_grads:
    """Context manager: while active, every gradient reaching a node of `graph` is recorded."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._handles: list[RemovableHandle] = []

    def __enter__(self) -> Graph:
        self._handles = [register_grad_hook(self.graph.observe_grad)]
        return self.graph

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self.graph.refresh_leaf_grads()


class trace(watch_grads):
    """Record every op run inside the block, the module it ran in, and every gradient.

        with viz.trace(model) as g:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
        viz.draw(g, grads=True)

    Ops are recorded as they run (so backward may free the live graph), grouped by module
    even where only the module stack knows the module. Outputs are the tensors no recorded op
    used, unless `mark_output(t)` names them.
    """

    def __init__(
        self, model: Any = None, params: Any = None, inputs: Any = None, values: bool = True
    ) -> None:
        super().__init__(Graph(model=model, params=params, inputs=inputs))
        self.graph.record_values = values
        self._consumed: set[str] = set()
        self._marked = False

    def _on_op(self, fn: Any, out: Tensor) -> None:
        if getattr(fn, "parents", None) is None or out._ctx is not fn:
            return  # not recorded (no_grad, or no input needs grad)
        g = self.graph
        scope = None
        stack = running_modules()
        if stack:
            g.modules.note_stack(stack)
            scope = g.modules.path_of(stack[-1])
        g._scope_hint = (id(fn), scope)
        try:
            node = g._add_tensor(out)
        finally:
            g._scope_hint = None
        self._consumed.update(node.inputs)

    def mark_output(self, *tensors: Tensor) -> None:
        """Say which tensors are the outputs (by default: the ones no recorded op used)."""
        self._marked = True
        for t in tensors:
            self.graph.add(t)

    def __enter__(self) -> Graph:
        self._handles = [
            register_forward_op_hook(self._on_op),
            register_grad_hook(self.graph.observe_grad),
        ]
        return self.graph

    def __exit__(self, *exc: object) -> None:
        g = self.graph
        if not self._marked:
            for n in g.nodes:
                if n.kind == OP and n.id not in self._consumed:
                    n.is_output = True
        super().__exit__(*exc)
