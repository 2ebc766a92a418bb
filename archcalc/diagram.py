"""Analysis -> a layer-graph diagram as text: Mermaid (GitHub, GitLab Markdown) or Graphviz DOT.

Each node is one layer (or, with `depth`, one folded block instance) labelled with its
kind, output shape and cost; each edge is one input of a layer (`from:` or the previous
layer). Block instances that are not folded are drawn as clusters (Mermaid subgraphs,
DOT `cluster_` subgraphs). Folding keeps the edges that cross a folded block's boundary,
attached to the folded node, and drops the edges inside it.

Node ids are generated (`n0`, `n1`, ... in layer order; clusters `c0`, ...) so that any
layer path is safe; labels are escaped for each format. Mermaid draws at most 500 edges by
default, so a larger graph is folded to the deepest depth that fits, and says so. Images
(SVG, PNG, PDF) are drawn from the DOT text by Graphviz's `dot` program, when installed.
Nothing here imports anything beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .analysis import Analysis, Row
from .errors import ArchcalcError
from .shape import fmt

FORMATS = ("mermaid", "dot")
#: Image formats, drawn from the DOT text by Graphviz's `dot` program.
IMAGES = ("svg", "png", "pdf")
#: The most edges Mermaid draws by default (its `maxEdges`): GitHub, GitLab and mermaid-cli
#: show an error instead of a graph with more.
MERMAID_MAX_EDGES = 500


@dataclass
class DNode:
    """One drawn node: a layer, or a folded block instance."""

    id: str
    row: Row
    folded: bool = False          # a block instance folded into one node
    role: str = "layer"           # layer | input | output
    short: str = ""               # the name inside its cluster (the cluster's title holds the rest)


@dataclass
class Cluster:
    """An unfolded block instance: a box around its layers (nested clusters inside)."""

    id: str
    path: str
    block: str
    title: str = ""               # the path inside the enclosing cluster
    items: list[DNode | Cluster] = field(default_factory=list)


@dataclass
class Diagram:
    """Nodes, edges (pairs of node ids, no duplicates) and the cluster tree."""

    title: str
    nodes: list[DNode]
    edges: list[tuple[str, str]]
    top: list[DNode | Cluster]


def _si(n: int) -> str:
    from .render import si
    return si(n).replace(" ", "")


def _owner(name: str, depth: int | None, an: Analysis) -> str:
    """The drawn node a layer belongs to: itself, or the folded block instance holding it."""
    if depth is None:
        return name
    parts = name.split("/")
    if len(parts) <= depth:
        return name
    key = "/".join(parts[:depth])
    return key if key in an.graph.instances else name


def build(an: Analysis, depth: int | None = None) -> Diagram:
    """The diagram's structure (format-independent), with `depth` folding as `Analysis.folded`."""
    rows = an.folded(depth)
    outputs = {r.name for r in an.outputs}
    instances = an.graph.instances
    nodes: list[DNode] = []
    by_name: dict[str, DNode] = {}
    for i, r in enumerate(rows):
        folded = r.node is None  # Analysis.folded makes new rows, without a node, for blocks
        role = "input" if r.index == 0 else "output" if r.name in outputs else "layer"
        n = DNode(f"n{i}", r, folded, role)
        nodes.append(n)
        by_name[r.name] = n
    # a folded block's output layer is an output of the network: mark the folded node
    for o in outputs:
        own = by_name.get(_owner(o, depth, an))
        if own is not None and own.role == "layer":
            own.role = "output"
    edges: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for r in an.rows:
        dst = by_name[_owner(r.name, depth, an)].id
        for src_name in r.inputs:
            src = by_name[_owner(src_name, depth, an)].id
            if src != dst and (src, dst) not in seen:
                seen.add((src, dst))
                edges.append((src, dst))
    # clusters: unfolded block instances, nested by path (their layers are contiguous)
    top: list[DNode | Cluster] = []
    clusters: dict[str, Cluster] = {}
    for n in nodes:
        parts = n.row.name.split("/")
        parent: list[DNode | Cluster] = top
        n.short = n.row.name
        k0 = 0  # parts[:k0] is the innermost enclosing cluster's path
        for k in range(1, len(parts)):
            prefix = "/".join(parts[:k])
            inst = instances.get(prefix)
            if inst is None:
                continue
            c = clusters.get(prefix)
            if c is None:
                c = Cluster(f"c{len(clusters)}", prefix, inst.block, "/".join(parts[k0:k]))
                clusters[prefix] = c
                parent.append(c)
            parent = c.items
            k0 = k
            n.short = "/".join(parts[k:])
        parent.append(n)
    return Diagram(an.name, nodes, edges, top)


def _label_lines(n: DNode) -> list[str]:
    r = n.row
    if n.role == "input":
        return [r.name, fmt(r.output_shape)]
    kind = f"{r.kind} block, {r.layers} layers" if n.folded else r.kind
    if r.training_only:
        kind += ", training only"
    name = n.short or r.name
    lines = [name, kind, fmt(r.output_shape)] if kind != name else [name, fmt(r.output_shape)]
    cost = []
    if r.params:
        cost.append(f"params {_si(r.params)}")
    if r.macs:
        cost.append(f"MACs {_si(r.macs)}")
    if cost:
        lines.append(", ".join(cost))
    return lines


# --- Mermaid --------------------------------------------------------------------------------
_MERMAID_ESC = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;", "&": "#amp;",
                "\n": " ", "\r": " "}


def mermaid_escape(s: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes, no line breaks)."""
    return "".join(_MERMAID_ESC.get(ch, ch) for ch in s)


def _mermaid_node(n: DNode) -> str:
    label = "<br/>".join(mermaid_escape(x) for x in _label_lines(n))
    if n.role == "input":
        return f'{n.id}(["{label}"])'
    if n.folded:
        return f'{n.id}[["{label}"]]'
    if n.role == "output":
        return f'{n.id}(["{label}"])'
    return f'{n.id}["{label}"]'


def to_mermaid(d: Diagram, direction: str = "TD", note: str | None = None) -> str:
    out = [f"flowchart {direction}",
           f"  %% {mermaid_escape(d.title)}: layers with output shape and cost "
           "(MACs = kernel and matrix-product multiply-accumulates)"]
    if note:
        out.append(f"  %% {mermaid_escape(note)}")

    def emit(items: list[DNode | Cluster], indent: str) -> None:
        for it in items:
            if isinstance(it, Cluster):
                title = mermaid_escape(f"{it.title} ({it.block})")
                out.append(f'{indent}subgraph {it.id}["{title}"]')
                emit(it.items, indent + "  ")
                out.append(f"{indent}end")
            else:
                out.append(indent + _mermaid_node(it))

    emit(d.top, "  ")
    out += [f"  {a} --> {b}" for a, b in d.edges]
    return "\n".join(out) + "\n"


# --- DOT ------------------------------------------------------------------------------------
def dot_escape(s: str) -> str:
    """Text safe inside a double-quoted DOT string."""
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")


def _dot_node(n: DNode) -> str:
    label = "\\n".join(dot_escape(x) for x in _label_lines(n))
    attrs = [f'label="{label}"']
    dashed = ",dashed" if n.row.training_only else ""  # training-only: runs in training alone
    if n.role in ("input", "output"):
        attrs.append(f'style="rounded,filled{dashed}"')
        attrs.append('fillcolor="#eeeeee"')
    elif dashed:
        attrs.append("style=dashed")
    if n.folded:
        attrs.append("shape=box3d")
    return f"{n.id} [{', '.join(attrs)}];"


def to_dot(d: Diagram, direction: str = "TB") -> str:
    out = [f'digraph "{dot_escape(d.title)}" {{',
           f"  rankdir={direction};",
           '  graph [fontname="Helvetica", fontsize=10];',
           '  node [shape=box, fontname="Helvetica", fontsize=10];',
           '  edge [arrowsize=0.7];']

    def emit(items: list[DNode | Cluster], indent: str) -> None:
        for it in items:
            if isinstance(it, Cluster):
                out.append(f"{indent}subgraph cluster_{it.id} {{")
                out.append(f'{indent}  label="{dot_escape(f"{it.title} ({it.block})")}";')
                out.append(f'{indent}  style=dashed;')
                emit(it.items, indent + "  ")
                out.append(f"{indent}}}")
            else:
                out.append(indent + _dot_node(it))

    emit(d.top, "  ")
    out += [f"  {a} -> {b};" for a, b in d.edges]
    out.append("}")
    return "\n".join(out) + "\n"


@dataclass
class Drawing:
    """A rendered diagram, the depth it was drawn at, and what was folded to make it fit (if anything)."""

    text: str
    depth: int | None
    edges: int
    note: str | None = None


def _levels(an: Analysis) -> int:
    """How deeply block instances nest (0: no blocks)."""
    return max((k.count("/") + 1 for k in an.graph.instances), default=0)


def fit_edges(an: Analysis, depth: int | None, max_edges: int) -> tuple[Diagram, int | None, str | None]:
    """The diagram at `depth`, or folded to the deepest depth whose edges number at most
    `max_edges`, with a note saying what was done (None when nothing needed doing)."""
    d = build(an, depth)
    if len(d.edges) <= max_edges:
        return d, depth, None
    levels = _levels(an)
    for k in range(levels if depth is None else min(depth - 1, levels), 0, -1):
        folded = build(an, k)
        if len(folded.edges) <= max_edges:
            return folded, k, (f"folded to --depth {k} ({len(folded.edges)} edges): drawn "
                               f"{'in full' if depth is None else f'at --depth {depth}'} it has {len(d.edges)} "
                               f"edges, more than Mermaid draws ({max_edges}, its maxEdges); "
                               "--format dot has no such limit")
    return d, depth, (f"{len(d.edges)} edges, more than Mermaid draws ({max_edges}, its maxEdges), "
                      f"{'and no folding brings it under' if levels else 'and the spec has no blocks to fold'}: "
                      "it renders only where maxEdges is raised; --format dot has no such limit")


def draw(an: Analysis, fmt: str = "mermaid", depth: int | None = None,
         max_edges: int | None = MERMAID_MAX_EDGES) -> Drawing:
    """The layer graph as Mermaid or DOT text. Mermaid past `max_edges` edges is folded to the
    deepest depth that fits (None or 0: never), and the text says so in a comment."""
    if fmt == "mermaid":
        d, depth, note = fit_edges(an, depth, max_edges) if max_edges else (build(an, depth), depth, None)
        return Drawing(to_mermaid(d, note=note), depth, len(d.edges), note)
    if fmt == "dot":
        d = build(an, depth)
        return Drawing(to_dot(d), depth, len(d.edges))
    raise ValueError(f"unknown diagram format {fmt!r}: one of {', '.join(FORMATS)}")


def render(an: Analysis, fmt: str = "mermaid", depth: int | None = None,
           max_edges: int | None = MERMAID_MAX_EDGES) -> str:
    """The layer graph of an analysis as Mermaid or DOT text (see `draw`)."""
    return draw(an, fmt, depth, max_edges).text


class GraphvizError(ArchcalcError):
    """Graphviz's `dot` is missing, or failed to draw."""


def require_dot(fmt: str = "svg") -> str:
    """The path of Graphviz's `dot` program, or an error that says how to get it."""
    import shutil
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError(f"drawing {fmt.upper()} needs Graphviz's `dot` program, which is not on PATH",
                            hint="install Graphviz (apt install graphviz, brew install graphviz, conda install "
                                 "graphviz, or graphviz.org/download), or write -o FILE.dot (or .mmd) instead")
    return exe


def to_image(dot_text: str, fmt: str) -> bytes:
    """SVG, PNG or PDF bytes drawn from DOT text by Graphviz's `dot` program."""
    import subprocess
    if fmt not in IMAGES:
        raise ValueError(f"unknown image format {fmt!r}: one of {', '.join(IMAGES)}")
    exe = require_dot(fmt)
    p = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True)
    if p.returncode != 0 or not p.stdout:
        err = p.stderr.decode("utf-8", "replace").strip() or f"exit status {p.returncode}"
        raise GraphvizError(f"Graphviz's dot could not draw the graph: {err}",
                            hint="write -o FILE.dot and run dot on it to see more; please report it")
    return p.stdout


__all__ = ["FORMATS", "IMAGES", "MERMAID_MAX_EDGES", "Cluster", "DNode", "Diagram", "Drawing", "GraphvizError",
           "build", "dot_escape", "draw", "fit_edges", "mermaid_escape", "render", "require_dot", "to_dot",
           "to_image", "to_mermaid"]
