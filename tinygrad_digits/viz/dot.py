"""DOT text for a computation graph: forward or backward view, modules as boxes, gradient health.

Plain text, no Graphviz needed: the same graph gives the same text (ids in graph order), so a
picture can be diffed and tested.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..diagnostics.thresholds import EXPLODING_NORM, VANISHING_NORM
from . import health as H
from .graph import CONST, INPUT, OP, PARAM, Graph, Node, Summary

FORWARD, BACKWARD = "forward", "backward"

FONT = "Helvetica,Arial,sans-serif"
FILL = {
    OP: "#f1f3f5",
    PARAM: "#cfe2ff",
    INPUT: "#d3f9d8",
    CONST: "#fff4e6",
    "output": "#fff3bf",
    "module": "#e5dbff",
}
KIND_TEXT = {
    PARAM: "parameter",
    INPUT: "input",
    CONST: "constant",
    OP: "op",
    "output": "output",
    "module": "module (collapsed)",
}
CLUSTER_BG = ["#f8f9fa", "#edf2ff", "#fff9db", "#f3f0ff", "#e6fcf5"]


def to_dot(
    *roots: Any,
    params: Any = None,
    view: str = FORWARD,
    show_saved: bool | None = None,
    grads: bool | None = None,
    values: bool | None = None,
    collapse: str | Sequence[str] | None = None,
    depth: int | None = None,
    legend: bool = True,
    edge_labels: bool | None = None,
    vanishing: float = VANISHING_NORM,
    exploding: float = EXPLODING_NORM,
    rankdir: str = "TB",
    title: str | None = None,
    max_saved: int = 5,
    **build: Any,
) -> str:
    """DOT source for the graph behind `roots` (Tensors, a `viz.Graph`, or a model and input).

    view: "forward" (data flows from inputs to the loss) or "backward" (gradient functions,
        from the loss back to the parameters, with what each op saved for backward).
    params: names for leaves: a Module, a dict name -> tensor, or (name, tensor) pairs.
    grads: colour by gradient health and show gradient summaries (default: when recorded).
    values: show value summaries (default: with grads). show_saved: list saved values
        (default: in the backward view). collapse: module paths or type names to fold into one
        node each; depth: fold every module nested `depth` levels below the top one.
    vanishing / exploding: gradient-norm thresholds for the health colours.
    Other keywords (model=, inputs=, target=, loss_fn=, backward=) go to `as_graph`.
    """
    from .draw import as_graph

    if view not in (FORWARD, BACKWARD):
        raise ValueError(f"view must be 'forward' or 'backward', not {view!r}")
    graph = as_graph(*roots, params=params, **build)
    graph.refresh_leaf_grads()
    if grads is None:
        grads = graph.has_grads
    if values is None:
        values = bool(grads) and view == FORWARD
    if show_saved is None:
        show_saved = view == BACKWARD
    return _Writer(
        graph,
        view=view,
        show_saved=show_saved,
        grads=grads,
        values=values,
        collapse=[collapse] if isinstance(collapse, str) else list(collapse or []),
        depth=depth,
        legend=legend,
        edge_labels=edge_labels,
        vanishing=vanishing,
        exploding=exploding,
        rankdir=rankdir,
        title=title,
        max_saved=max_saved,
    ).write()


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _g(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return f"{x:.3g}"


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "scalar" if shape == () else str(tuple(shape))


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def fmt_summary(tag: str, s: Summary) -> str:
    if s.value is not None:
        return f"{tag} {_g(s.value)}"
    if s.integer:
        return f"{tag} [{_g(s.min)}, {_g(s.max)}]  mean {_g(s.mean)}"
    text = f"{tag} norm {_g(s.norm)}  mean {_g(s.mean)}  [{_g(s.min)}, {_g(s.max)}]"
    if s.nan:
        text += f"  NaN x{s.nan}"
    if s.inf:
        text += f"  inf x{s.inf}"
    return text


def _attrs(**kw: Any) -> str:
    parts = []
    for k, v in kw.items():
        if v is None:
            continue
        if isinstance(v, _Html):
            parts.append(f"{k}=<{v.text}>")
        else:
            parts.append(f"{k}={_q(str(v))}")
    return "[" + " ".join(parts) + "]"


class _Html:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _html_label(title: str, lines: Iterable[tuple[str, int, str | None]]) -> _Html:
    """Bold title, then (text, point size, colour) lines, all escaped."""
    out = [f"<B>{_esc(title)}</B>" if title else ""]
    for text, size, color in lines:
        c = f' COLOR="{color}"' if color else ""
        out.append(f'<FONT POINT-SIZE="{size}"{c}>{_esc(text)}</FONT>')
    return _Html("<BR/>".join(x for x in out if x))


Key = tuple[str, int]  # a module call: (module path, which call of that module)


class _Layout:
    """Which module call each node belongs to, outermost first.

    A module that runs more than once (MLP's one shared activation) gets one box per call:
    a call is a connected group of the ops made inside that module. Parameters and constants
    sit in the innermost box holding every op that reads them; inputs stay outside.
    """

    def __init__(self, graph: Graph) -> None:
        self.types = graph.modules.types
        self.boxed = graph.modules.boxed
        self.parent = self._module_tree()
        ops = [n for n in graph.nodes if n.kind == OP]
        chains_of_scope: dict[str | None, list[str]] = {}
        members: dict[str, list[Node]] = {}
        for n in ops:
            if n.scope not in chains_of_scope:
                chains_of_scope[n.scope] = (
                    []
                    if n.scope is None
                    else [p for p in self.ancestry(n.scope) if p == n.scope or self.boxed(p)]
                )
            for p in chains_of_scope[n.scope]:
                members.setdefault(p, []).append(n)
        call: dict[str, dict[str, int]] = {}
        self.calls: dict[str, int] = {}
        for p, group in members.items():
            call[p], self.calls[p] = _components(group)
        self.chain: dict[str, list[Key]] = {}
        for n in ops:
            self.chain[n.id] = [(p, call[p][n.id]) for p in chains_of_scope[n.scope]]
        users = graph.consumers()
        for n in graph.nodes:
            if n.kind == OP:
                continue
            if n.kind == INPUT or not users[n.id]:
                self.chain[n.id] = []
                continue
            common = self.chain[users[n.id][0]]
            for u in users[n.id][1:]:
                other = self.chain[u]
                k = 0
                while k < min(len(common), len(other)) and common[k] == other[k]:
                    k += 1
                common = common[:k]
            self.chain[n.id] = list(common)

    def _module_tree(self) -> dict[str, str | None]:
        """Module path -> parent path among the modules seen (None for a top module)."""
        paths = set(self.types)
        parent: dict[str, str | None] = {}
        for p in sorted(paths):
            if p == "":
                parent[p] = None
                continue
            head = p.rpartition(".")[0]
            while head and head not in paths:
                head = head.rpartition(".")[0]
            parent[p] = head if head else ("" if "" in paths else None)
        return parent

    def ancestry(self, path: str) -> list[str]:
        """Outermost first, ending with `path` itself."""
        chain = [path]
        while self.parent.get(chain[-1]) is not None:
            chain.append(self.parent[chain[-1]])
        return chain[::-1]

    def label(self, key: Key) -> str:
        path, k = key
        kind = self.types.get(path, "?")
        text = kind if path in ("", kind) else f"{path}: {kind}"
        n = self.calls.get(path, 1)
        return f"{text} (call {k + 1} of {n})" if n > 1 else text


def _components(group: list[Node]) -> tuple[dict[str, int], int]:
    """Connected groups of ops (through edges inside the group), numbered in graph order."""
    inside = {n.id for n in group}
    root: dict[str, str] = {n.id: n.id for n in group}

    def find(x: str) -> str:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    for n in group:
        for i in n.inputs:
            if i in inside:
                a, b = find(i), find(n.id)
                if a != b:
                    root[b] = a
    number: dict[str, int] = {}
    out: dict[str, int] = {}
    for n in group:  # graph order, so numbering is stable
        r = find(n.id)
        if r not in number:
            number[r] = len(number)
        out[n.id] = number[r]
    return out, len(number)


class _Writer:
    def __init__(self, graph: Graph, **opt: Any) -> None:
        self.g = graph
        self.opt = opt
        self.view = opt["view"]
        self.types = graph.modules.types
        self.lines: list[str] = []
        self.layout = _Layout(graph)
        ok_norms = [
            n.grad.norm
            for n in graph.nodes
            if n.grad is not None and self._status(n.grad) == H.OK and n.grad.norm > 0
        ]
        self.ok_range = (min(ok_norms), max(ok_norms)) if ok_norms else (0.0, 0.0)
        self.used_kinds: set[str] = set()
        self.used_status: set[str] = set()
        self._folded_paths: dict[str, bool] = {}

    def _is_folded(self, path: str, level: int) -> bool:
        wanted = self.opt["collapse"]
        depth = self.opt["depth"]
        return (
            path in wanted
            or self.types.get(path) in wanted
            or (depth is not None and level == depth)
        )

    def _fold(self, chain: list[Key]) -> int | None:
        """Index in `chain` of the outermost folded module call, or None."""
        for i, (path, _) in enumerate(chain):
            if self._is_folded(path, i):
                return i
        return None

    # --- status -------------------------------------------------------------------------
    def _status(self, s: Summary | None) -> str | None:
        return H.classify(s, self.opt["vanishing"], self.opt["exploding"])

    # --- writing ------------------------------------------------------------------------
    def write(self) -> str:
        g, opt = self.g, self.opt
        backward = self.view == BACKWARD
        shown = [n for n in g.nodes if not backward or n.kind == OP or n.requires_grad]
        # Which visible box each node lands in: itself, or the folded module call holding it.
        vis: dict[str, str] = {}
        box_chain: dict[str, list[Key]] = {}
        groups: dict[Key, list[Node]] = {}
        fold_chain: dict[Key, list[Key]] = {}
        for n in shown:
            chain = self.layout.chain[n.id]
            i = self._fold(chain)
            if i is None:
                vis[n.id] = n.id
                box_chain[n.id] = chain
            else:
                groups.setdefault(chain[i], []).append(n)
                fold_chain[chain[i]] = chain[:i]
        module_ids: dict[Key, str] = {}
        for k, key in enumerate(groups):
            mid = f"m{k}"
            module_ids[key] = mid
            box_chain[mid] = fold_chain[key]
            for n in groups[key]:
                vis[n.id] = mid

        out = self.lines
        name = "backward" if backward else "forward"
        out.append(f"digraph {name} {{")
        out.append(
            "  graph "
            + _attrs(
                rankdir=opt["rankdir"],
                fontname=FONT,
                fontsize=11,
                nodesep=0.25,
                ranksep=0.35,
                newrank="true",
                label=opt["title"],
                labelloc="t" if opt["title"] else None,
            )
        )
        out.append(
            "  node "
            + _attrs(
                fontname=FONT,
                fontsize=10,
                shape="box",
                style="rounded,filled",
                fillcolor=FILL[OP],
                color="#495057",
                margin="0.12,0.05",
            )
        )
        out.append("  edge " + _attrs(fontname=FONT, fontsize=8, color="#495057", arrowsize=0.6))

        statements: dict[str, str] = {}
        for n in shown:
            if vis[n.id] == n.id:
                statements[n.id] = self._node(n)
        for key, members in groups.items():
            mid = module_ids[key]
            statements[mid] = self._module_node(mid, key, members, vis)
        self._emit_clusters(box_chain, statements)
        self._emit_edges(shown, vis)
        if opt["legend"]:
            out.append(self._legend())
        out.append("}")
        return "\n".join(out) + "\n"

    def _emit_clusters(self, box_chain: dict[str, list[Key]], statements: dict[str, str]) -> None:
        """Nest each box in the boxes of the module calls it ran in (an explicit-stack walk)."""
        placed: dict[Key | None, list[str]] = {}
        children: dict[Key | None, list[Key]] = {}
        known: set[Key] = set()
        for nid in statements:  # graph order: clusters appear in the order of their first box
            chain = box_chain[nid]
            placed.setdefault(chain[-1] if chain else None, []).append(nid)
            for depth, key in enumerate(chain):
                if key not in known:
                    known.add(key)
                    children.setdefault(chain[depth - 1] if depth else None, []).append(key)
        for nid in placed.get(None, []):
            self.lines.append("  " + statements[nid])
        taken: set[str] = set()
        stack: list[tuple[Key, int, bool]] = [
            (k, 1, False) for k in reversed(children.get(None, []))
        ]
        while stack:
            key, level, closing = stack.pop()
            pad = "  " * level
            if closing:
                self.lines.append(pad + "}")
                continue
            cid = _cluster_id(key, taken)
            bg = CLUSTER_BG[(level - 1) % len(CLUSTER_BG)]
            self.lines.append(f"{pad}subgraph {cid} {{")
            self.lines.append(
                f"{pad}  graph "
                + _attrs(
                    label=self.layout.label(key),
                    style="rounded,filled",
                    fillcolor=bg,
                    color="#adb5bd",
                    fontcolor="#343a40",
                    fontsize=10,
                    labeljust="l",
                )
            )
            for nid in placed.get(key, []):
                self.lines.append(f"{pad}  {statements[nid]}")
            stack.append((key, level, True))
            for child in reversed(children.get(key, [])):
                stack.append((child, level + 1, False))

    def _node(self, n: Node) -> str:
        opt = self.opt
        lines: list[tuple[str, int, str | None]] = []
        backward = self.view == BACKWARD
        kind = "output" if n.is_output and n.kind == OP else n.kind
        self.used_kinds.add(kind)
        shape = fmt_shape(n.shape)
        if n.kind == OP:
            title = f"{n.label}Backward" if backward else n.label
            lines.append((f"{shape} {n.dtype} {n.device}", 9, None))
        elif n.kind == CONST and n.value is not None and n.value.value is not None:
            title = n.label or _g(n.value.value)
            lines.append((f"constant {n.dtype}", 8, "#868e96"))
        else:
            title = n.label or KIND_TEXT[n.kind]
            if backward and n.kind == PARAM:
                lines.append(("AccumulateGrad", 9, "#495057"))
            lines.append((f"{shape} {n.dtype} {n.device}", 9, None))
        if (
            opt["values"]
            and n.value is not None
            and not (n.kind == CONST and n.value.value is not None)
        ):
            bad = not n.value.finite
            color = H.COLOR[H.NONFINITE] if bad else "#495057"
            lines.append((fmt_summary("data", n.value), 8, color))
        born = n.kind == OP and H.nan_born_here(self.g, n)
        if born:
            self.used_status.add("born")
            lines.append(("NaN/inf born here", 9, H.COLOR[H.NONFINITE]))
        grad_born = opt["grads"] and H.grad_nan_born_here(self.g, n)
        if grad_born:
            self.used_status.add("grad_born")
            lines.append(("its backward makes NaN/inf", 9, H.COLOR[H.NONFINITE]))
        dead = opt["values"] and H.is_dead_relu(n)
        if dead:
            self.used_status.add("dead")
            lines.append((f"dead: {n.value.zero_frac:.0%} of outputs are 0", 9, H.DEAD_COLOR))
        status = self._status(n.grad) if opt["grads"] else None
        if opt["grads"] and n.grad is not None:
            color = H.COLOR[status] if status != H.OK else "#2b8a3e"
            lines.append((fmt_summary("grad", n.grad), 8, color))
        if opt["show_saved"] and n.kind == OP:
            lines.extend(self._saved_lines(n))
        fill = FILL[kind]
        border, penwidth, style = "#495057", None, "rounded,filled"
        if n.kind == CONST:
            style = "filled"
        if status is not None:
            self.used_status.add(status)
            border = H.COLOR[status]
            penwidth = 2 if status == H.OK else 3
            if status != H.OK:
                fill = H.FILL[status]
            if status == H.ZERO:
                style += ",dashed"
        if born:
            fill, border, penwidth = H.FILL[H.NONFINITE], H.COLOR[H.NONFINITE], 3
        if grad_born:
            border, penwidth = H.COLOR[H.NONFINITE], 3
            style += ",dashed"
        if dead:
            border, penwidth = H.DEAD_COLOR, 3
        if n.is_output and n.kind == OP:
            penwidth = penwidth or 2
        shape_attr = "ellipse" if n.kind == CONST else None
        return f"{n.id} " + _attrs(
            label=_html_label(title, lines),
            fillcolor=fill,
            color=border,
            penwidth=penwidth,
            style=style,
            shape=shape_attr,
            tooltip=self._tooltip(n),
        )

    def _saved_lines(self, n: Node) -> list[tuple[str, int, str | None]]:
        if not n.saved:
            return [("saves nothing", 8, "#868e96")]
        head = "saved for backward"
        if n.saved_bytes:
            head += f" ({fmt_bytes(n.saved_bytes)})"
        lines = [(head + ":", 8, "#c2255c")]
        k = self.opt["max_saved"]
        for item in n.saved[:k]:
            lines.append(("  " + item, 8, "#c2255c"))
        if len(n.saved) > k:
            lines.append((f"  +{len(n.saved) - k} more", 8, "#c2255c"))
        return lines

    def _tooltip(self, n: Node) -> str:
        parts = [f"{n.id}: {n.label or n.kind}", fmt_shape(n.shape), n.dtype, n.device]
        if n.scope:
            parts.append(f"in {n.scope}")
        return " ".join(parts)

    def _module_node(self, mid: str, key: Key, members: list[Node], vis: dict[str, str]) -> str:
        path = key[0]
        self.used_kinds.add("module")
        ops = [m for m in members if m.kind == OP]
        params = [m for m in members if m.kind == PARAM]
        count = sum(math.prod(p.shape) for p in params)
        kind = self.types.get(path, "module")
        calls = self.layout.calls.get(path, 1)
        if calls > 1:
            kind += f", call {key[1] + 1} of {calls}"
        lines: list[tuple[str, int, str | None]] = [(kind, 9, None)]
        facts = f"{len(ops)} op" + ("s" if len(ops) != 1 else "")
        if params:
            facts += f", {len(params)} params ({count:,} values)"
        lines.append((facts, 8, "#495057"))
        # The tensors leaving the box: members read by a visible box outside it.
        users = self._users()
        leaving = [m for m in members if any(vis.get(u) not in (None, mid) for u in users[m.id])]
        if leaving or any(m.is_output for m in ops):
            outs = leaving or [m for m in ops if m.is_output]
            shapes = ", ".join(dict.fromkeys(fmt_shape(m.shape) for m in outs))
            lines.append((f"out {shapes}", 9, None))
        border, penwidth, fill = "#5f3dc4", 1.2, FILL["module"]
        if self.opt["grads"]:
            statuses = [self._status(m.grad) for m in members if m.grad is not None]
            if statuses:
                worst = max(statuses, key=lambda s: H.SEVERITY[s])
                self.used_status.add(worst)
                border, penwidth = H.COLOR[worst], 2 if worst == H.OK else 3
                if worst != H.OK:
                    fill = H.FILL[worst]
                pn = [m.grad.norm for m in params if m.grad is not None]
                if pn:
                    lines.append(
                        (f"param grad norm {_g(min(pn))} .. {_g(max(pn))}", 8, H.COLOR[worst])
                    )
                if worst != H.OK:
                    lines.append((H.DESCRIPTION[worst], 8, H.COLOR[worst]))
        return f"{mid} " + _attrs(
            label=_html_label(path or self.types.get(path, "model"), lines),
            shape="box3d",
            style="filled",
            fillcolor=fill,
            color=border,
            penwidth=penwidth,
            tooltip=f"{path}: {len(ops)} ops folded",
        )

    def _users(self) -> dict[str, list[str]]:
        if not hasattr(self, "_users_cache"):
            self._users_cache = self.g.consumers()
        return self._users_cache

    def _emit_edges(self, shown: list[Node], vis: dict[str, str]) -> None:
        backward = self.view == BACKWARD
        by_id = self.g.by_id
        seen: set[tuple[str, str]] = set()
        count = 0
        label_edges = self.opt["edge_labels"]
        if label_edges is None:
            label_edges = self.opt["grads"] and len(shown) <= 400
        for n in shown:
            if n.kind != OP:
                continue
            for src in n.inputs:
                if src not in vis:  # not shown (backward view: no gradient goes there)
                    continue
                a, b = vis[src], vis[n.id]
                if a == b:
                    continue
                if backward:
                    a, b = b, a
                folded = a.startswith("m") or b.startswith("m")
                if folded:
                    if (a, b) in seen:
                        continue
                    seen.add((a, b))
                self.lines.append(f"  {a} -> {b}{self._edge_attrs(by_id[src], label_edges)}")
                count += 1

    def _edge_attrs(self, carried: Node, label_edges: bool) -> str:
        """An edge carries `carried`'s value forward and its gradient backward."""
        if not self.opt["grads"] or carried.grad is None:
            return ""
        s = carried.grad
        status = self._status(s)
        if status == H.OK:
            color = H.ok_color(s.norm, *self.ok_range)
            lo, hi = self.ok_range
            width = 1.2
            if hi > lo > 0:
                t = (math.log10(s.norm) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
                width = 1.0 + 2.0 * max(0.0, min(1.0, t))
        else:
            color = H.COLOR[status]
            width = 2.5 if status in (H.EXPLODING, H.NONFINITE) else 1.5
        label = None
        if label_edges:
            label = "NaN/inf" if status == H.NONFINITE else _g(s.norm)
        return " " + _attrs(
            color=color,
            penwidth=f"{width:.2f}",
            style=H.EDGE_STYLE.get(status),
            label=label,
            fontcolor=color if label else None,
        )

    def _legend(self) -> str:
        rows = []
        for kind in ("input", "param", "const", "op", "output", "module"):
            if kind in self.used_kinds:
                rows.append((FILL[kind], KIND_TEXT[kind], "#000000"))
        if self.opt["grads"]:
            for status in (H.OK, H.VANISHING, H.ZERO, H.EXPLODING, H.NONFINITE):
                fill = H.FILL.get(status, "#ffffff")
                rows.append((fill, H.DESCRIPTION[status], H.COLOR[status]))
            rows.append(("#ffffff", "edge width, label: grad norm", "#495057"))
        if "dead" in self.used_status:
            rows.append(("#ffffff", "dead ReLU (outputs all 0)", H.DEAD_COLOR))
        if "born" in self.used_status:
            rows.append((H.FILL[H.NONFINITE], "NaN/inf born in forward", H.COLOR[H.NONFINITE]))
        cells = "".join(
            f'<TR><TD BGCOLOR="{fill}" BORDER="1" COLOR="{color}"><FONT POINT-SIZE="9" '
            f'COLOR="{color}">{_esc(text)}</FONT></TD></TR>'
            for fill, text, color in rows
        )
        head = "legend: backward view" if self.view == BACKWARD else "legend"
        table = (
            '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="3">'
            f'<TR><TD><FONT POINT-SIZE="9"><B>{head}</B></FONT></TD></TR>{cells}</TABLE>'
        )
        return f"  legend {_attrs(shape='plaintext', style='', label=_Html(table))}"


_NON_ID = re.compile(r"[^A-Za-z0-9_]")


def _cluster_id(key: Key, taken: set[str]) -> str:
    path, call = key
    base = "cluster_" + (_NON_ID.sub("_", path) if path else "root")
    if call:
        base += f"_call{call + 1}"
    cid, k = base, 2
    while cid in taken:
        cid, k = f"{base}_{k}", k + 1
    taken.add(cid)
    return cid
