"""ONNX graph -> archcalc layers -> a readable spec.

The walk: tensors whose values depend on the network's input are *live*; every other node
(Shape, Gather, Unsqueeze, Constant and the arithmetic exporters emit to compute a reshape's
target) is folded away, its value computed where small (consts.py). A live tensor holds the
output of some layer in some arrangement (a *view*, views.py): Transpose and Reshape change the
view and make a layer only where the new arrangement is one of archcalc's kinds (`tokens`,
`tokenmap`, `flatten`, `shuffle`). Each other live node goes through the operator table
(table.IMPORTERS), after the patterns that recognise several nodes as one kind (table.PATTERNS:
SiLU as Sigmoid·x, GELU's Erf form, LayerNorm's decomposed form, ...) and the regions that
recognise a module's scope as one layer (attention). A node with no entry, or one its entry
cannot express, is collected, and all of them are refused together, each operator type with its
count and first node names (or, with `keep_unmapped`, kept as zero-cost `unmapped` layers with
ONNX's inferred shapes). Layers are then named from the node names (a PyTorch export's
`/layer1/layer1.0/conv1/Conv` is the layer `conv1` of the module `layer1.0`), checked against
ONNX's shapes through archcalc's own analysis, and folded into blocks (fold.py) unless `flat`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import views
from .read import FLOAT_TYPES, ImportError_, Model, read


@dataclass
class Layer:
    """One imported layer: a kind with its spec fields, fed by earlier layers (-1: the input)."""

    kind: str
    fields: dict[str, Any]
    inputs: list[int]
    node: str                      # the primary ONNX node's name (or op type)
    op: str
    path: tuple[str, ...] = ()
    name: str = ""
    params: int = 0                # float elements of the initializers it took
    shape: tuple[int, ...] = ()    # its output's archcalc shape, as ONNX's shapes give it


@dataclass
class Value:
    """What a live tensor holds: the output of `layer` (-1: the network's input), of archcalc
    shape `shape`, arranged over the tensor's axes as `view` says (views.py)."""

    layer: int
    shape: tuple[int, ...]
    view: tuple[Any, ...]


class Unmapped(Exception):
    """Raised by an importer for a node the kinds of today cannot express."""

    def __init__(self, why: str = "") -> None:
        super().__init__(why)
        self.why = why


@dataclass
class Context:
    """What an importer sees: shapes, views, constants, consumers; and where it puts layers."""

    model: Model
    layers: list[Layer] = field(default_factory=list)
    vals: dict[str, Value] = field(default_factory=dict)        # live tensor -> what it holds
    live: set[str] = field(default_factory=set)
    readers: dict[str, list[Any]] = field(default_factory=dict)
    made_by: dict[str, Any] = field(default_factory=dict)       # tensor -> the node making it
    absorbed: set[int] = field(default_factory=set)             # id() of nodes a pattern took
    used: set[str] = field(default_factory=set)                 # initializers taken by layers
    notes: list[str] = field(default_factory=list)
    folded_bn: int = 0
    constant_floats: int = 0                                    # float initializer elements that are no parameter
    batch: int = 1
    input_name: str = ""
    summaries: dict[str, tuple[int, int]] = field(default_factory=dict)

    # -- reading ------------------------------------------------------------------------------
    def dims(self, t: str) -> tuple[int | None, ...]:
        d = self.model.shapes.get(t)
        if d is None:
            raise Unmapped(f"ONNX shape inference gives no shape for '{t}'")
        return d

    def value(self, t: str) -> Value:
        v = self.vals.get(t)
        if v is None:
            raise Unmapped(f"'{t}' comes from an operator that was not mapped")
        return v

    def shape(self, t: str) -> tuple[int, ...]:
        """The archcalc shape of the layer output a live tensor holds."""
        return self.value(t).shape

    def hwc(self, t: str) -> tuple[int, ...]:
        """The archcalc shape of an N x C x H x W map (or an N x n vector), for operators that read
        ONNX axis 1 as the channels (Conv, pools, BatchNormalization, ...)."""
        v = self.value(t)
        d = self.dims(t)
        if any(x is None for x in d[1:]):
            raise Unmapped(f"'{t}' has an unknown size {_fmt(d)}")
        if len(v.shape) == 3 and v.view == views.canonical(v.shape):
            return v.shape
        if len(v.shape) == 1 and len(d) == 2 and v.view == views.canonical(v.shape):
            return v.shape
        if len(v.shape) == 3 and len(d) == 4:
            raise Unmapped("on a map laid out channels last (N x H x W x C): it would take H for the channels")
        raise Unmapped(f"'{t}' holds a {_what(v.shape)} as {_fmt(d)}; this operator takes N x C x H x W (or N x n)")

    def last_axis(self, t: str, axis: int = -1) -> bool:
        """Whether ONNX axis `axis` of `t` holds exactly the archcalc last axis (the channels)."""
        v = self.value(t)
        d = self.dims(t)
        a = axis % len(d)
        return v.view[a] == (len(v.shape) - 1,) or (v.shape[-1] == 1 and v.view[a] == ())

    def const(self, t: str) -> Any:
        """The value of a constant input (a small initializer, a Constant, or shape arithmetic), or None."""
        if not t:
            return None
        return self.model.consts.get(t)

    def scalar(self, t: str) -> float | None:
        """A constant holding one number, as a float."""
        v = self.const(t)
        if v is None or getattr(v, "size", 0) != 1:
            return None
        return float(v.reshape(-1)[0])

    def init(self, t: str) -> Any:
        """The initializer a non-live tensor is (through Identity nodes sharing it, and the Transpose an
        export without constant folding puts before a MatMul), or None."""
        found = self._stored(t)
        return None if found is None else self.model.inits[found[0]]

    def _stored(self, t: str) -> tuple[str, tuple[int, ...]] | None:
        """(initializer, its dimensions as the reading operator sees them) of a weight tensor."""
        t = self.model.const_alias.get(t, t)
        init = self.model.inits.get(t)
        if init is not None:
            return t, tuple(init.dims)
        n = self.made_by.get(t)
        if n is None or t in self.live or n.op_type not in ("Transpose", "Unsqueeze", "Squeeze", "Reshape",
                                                             "Flatten", "Identity", "Cast"):
            return None
        src = self._stored(n.input[0])
        if src is None:
            return None
        if n.op_type == "Transpose":
            perm = self.attrs(n).get("perm") or list(range(len(src[1])))[::-1]
            return src[0], tuple(src[1][k] for k in perm)
        d = self.model.shapes.get(t)  # the same values, another shape (gamma as C x 1 x 1)
        return (src[0], tuple(d)) if d is not None and None not in d and math.prod(d) == math.prod(src[1]) else None

    def weight(self, t: str, rank: int | None = None) -> tuple[int, ...]:
        """The dimensions of a weight initializer, which the layer takes (counted as its parameters)."""
        found = self._stored(t)
        if found is None:
            if t in self.live:
                raise Unmapped("its weights are computed from the input, not stored")
            raise Unmapped(f"its weight '{t}' is not an initializer")
        name, dims = found
        if rank is not None and len(dims) != rank:
            raise Unmapped(f"weight '{name}' has rank {len(dims)}, expected {rank}")
        self.used.add(name)
        return dims

    def sources(self, t: str) -> tuple[list[str], set[str]]:
        """The initializers a non-live tensor is computed from, and the op types on the way."""
        inits, ops, seen, todo = [], set(), set(), [t]
        while todo:
            x = todo.pop()
            if x in seen or not x:
                continue
            seen.add(x)
            x = self.model.const_alias.get(x, x)
            if x in self.model.inits:
                inits.append(x)
                continue
            n = self.made_by.get(x)
            if n is not None and x not in self.live and n.op_type not in ("Shape", "Size"):
                ops.add(n.op_type)
                todo += list(n.input)
        return inits, ops

    def attrs(self, node: Any) -> dict[str, Any]:
        from onnx import helper
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def live_inputs(self, node: Any) -> list[str]:
        return [x for x in node.input if x in self.live]

    def only_reader(self, t: str) -> Any:
        """The one node reading `t`, if exactly one does and `t` is no graph output."""
        rs = self.readers.get(t, [])
        return rs[0] if len(rs) == 1 and t not in self.model.outputs else None

    # -- writing ------------------------------------------------------------------------------
    def emit(self, node: Any, kind: str, fields: dict[str, Any], inputs: list[str] | None = None,
             output: str | None = None, weights: tuple[str, ...] = (), view: tuple[Any, ...] | None = None,
             shape: tuple[int, ...] | None = None, params: int | None = None, name: str | None = None) -> None:
        """A layer of `kind` made by `node` (and the nodes a pattern absorbed), reading `inputs`
        and giving `output`. Its archcalc shape comes from ONNX's dims through `view` (by
        default: the first input's view when the rank is kept, else the canonical one), or is
        given as `shape`."""
        ins_t = inputs if inputs is not None else self.live_inputs(node)
        ins = [self.value(x).layer for x in ins_t]
        out = output or node.output[0]
        if params is None:
            params = 0
            for w in weights:
                if w:
                    t = self.init(w)
                    self.used.add(t.name)
                    if t.data_type in FLOAT_TYPES:
                        params += math.prod(t.dims)
        d = self.dims(out)
        if view is not None and len(view) != len(d):
            raise Unmapped(f"its output {_fmt(d)} does not hold the value it should")
        if shape is None:
            if view is None and ins_t and len(self.dims(ins_t[0])) == len(d) == len(self.value(ins_t[0]).view):
                v0 = self.value(ins_t[0])
                shape = views.shape_of(v0.view, d, len(v0.shape))  # type: ignore[arg-type]
                view = v0.view if shape is not None else None
            if shape is None:
                view = view or _canonical_for(d)
                shape = views.shape_of(view, d, _rank_of(view))  # type: ignore[arg-type]
            if shape is None or any(x is None for x in shape):
                raise Unmapped(f"its output {_fmt(d)} has no archcalc shape")
        view = view or views.canonical(shape)
        self.layers.append(Layer(kind, fields, ins, name or node.name or node.op_type, node.op_type, params=params,
                                 shape=shape))
        self.vals[out] = Value(len(self.layers) - 1, shape, view)

    def alias(self, out: str, src: str, view: tuple[Any, ...] | None = None) -> None:
        """`out` holds what `src` holds (in another arrangement when `view` is given)."""
        v = self.value(src)
        self.vals[out] = Value(v.layer, v.shape, v.view if view is None else view)

    def absorb(self, *nodes: Any) -> None:
        for n in nodes:
            self.absorbed.add(id(n))

    def summary(self, template: str, amount: int) -> None:
        """A note said once for all the layers it concerns: `template` with {count} and {total}."""
        count, total = self.summaries.get(template, (0, 0))
        self.summaries[template] = (count + 1, total + amount)


#: the layer of a value made by an unmapped operator (the import fails: nothing is made of it)
_UNMAPPED = -2
#: ... when its output has no archcalc shape either: the nodes reading it are skipped
_BLAMED = -3


def _blame(ctx: Context, n: Any) -> None:
    """Values for the outputs of an unmapped node, so that the nodes after it are still mapped (and
    refused only when they have no kind themselves): its ONNX shape as an archcalc one when it has
    one."""
    for o in n.output:
        if not o or o in ctx.vals:
            continue
        d = ctx.model.shapes.get(o)
        shape = view = None
        if d is not None and len(d) in (2, 3, 4) and None not in d:
            view = _canonical_for(d)
            shape = views.shape_of(view, d, _rank_of(view))
        ctx.vals[o] = Value(_UNMAPPED, shape, view) if shape else Value(_BLAMED, (1,), (views.N, (0,)))


def _canonical_for(d: tuple[int | None, ...]) -> tuple[Any, ...]:
    """The canonical view of an ONNX tensor of rank 2, 3 or 4 (N x n, N x L x C, N x C x H x W)."""
    if len(d) == 4:
        return views.canonical((0, 0, 0))
    if len(d) in (2, 3):
        return views.canonical((0,) * (len(d) - 1))
    raise Unmapped(f"its output has rank {len(d)} ({_fmt(d)}); archcalc's values are N x C x H x W, "
                   "N x L x C or N x n")


def _rank_of(view: tuple[Any, ...]) -> int:
    return 1 + max((a for g in view if g != views.N for a in g), default=-1)


def _what(shape: tuple[int, ...]) -> str:
    return {3: "map", 2: "sequence", 1: "vector"}[len(shape)]


def _fmt(d: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("?" if x is None else str(x) for x in d) + "]"


@dataclass
class Imported:
    """An imported model: its layers, input, outputs, and what the summary says about it."""

    name: str
    input: tuple[int, ...]
    batch: int
    layers: list[Layer]
    outputs: list[int]
    initializer_floats: int
    notes: list[str]
    unmapped: dict[str, list[str]]
    folded_bn: int
    constant_floats: int = 0       # initializer floats that are no parameter (an exporter's expanded constants)


def convert(model: Model, *, keep_unmapped: bool = False) -> Imported:
    """Map every live node through the operator table (see the module docstring)."""
    from .consts import evaluate
    from .table import IMPORTERS, PATTERNS, REGIONS
    ctx = Context(model)
    if len(model.inputs) != 1:
        names = ", ".join(n for n, _ in model.inputs) or "none"
        raise ImportError_(f"{model.path}: the graph has {len(model.inputs)} inputs ({names}); "
                           "archcalc imports networks with one input")
    in_name, in_dims = model.inputs[0]
    if len(in_dims) not in (2, 4) or any(d is None for d in in_dims[1:]):
        raise ImportError_(f"{model.path}: input '{in_name}' is {_fmt(in_dims)}; archcalc imports an "
                           "N x C x H x W image or an N x n vector with fixed sizes",
                           hint="export the model with a fixed input size (torch.onnx.export with an example input)")
    batch = in_dims[0] if isinstance(in_dims[0], int) and in_dims[0] > 0 else 1
    ctx.batch, ctx.input_name = batch, in_name
    shape = (in_dims[2], in_dims[3], in_dims[1]) if len(in_dims) == 4 else tuple(in_dims[1:])
    ctx.live.add(in_name)
    ctx.vals[in_name] = Value(-1, shape, views.canonical(shape))  # type: ignore[arg-type]
    model.shapes.setdefault(in_name, in_dims)
    for n in model.nodes:
        for o in n.output:
            if o:
                ctx.made_by[o] = n
        if n.op_type not in ("Shape", "Size") and any(x in ctx.live for x in (*n.input, *_outer_reads(n))):
            ctx.live.update(o for o in n.output if o)
    for n in model.nodes:
        for x in n.input:
            if x in ctx.live and n.op_type not in ("Shape", "Size"):  # a shape is known: not a use of the values
                ctx.readers.setdefault(x, []).append(n)
        if n.op_type == "Identity" and n.input[0] not in ctx.live:  # an exporter sharing equal weights
            model.const_alias[n.output[0]] = model.const_alias.get(n.input[0], n.input[0])
    evaluate(model, ctx.live)
    regions = {fn: fn.prepare(ctx) for fn in REGIONS}
    unmapped: dict[str, list[str]] = {}
    folded = Counter()
    for n in model.nodes:
        if id(n) in ctx.absorbed:
            continue
        if not any(o in ctx.live for o in n.output):
            folded[n.op_type] += 1
            continue
        if any(x in ctx.vals and ctx.vals[x].layer == _BLAMED for x in n.input):
            _blame(ctx, n)  # downstream of an unmapped operator whose output has no archcalc shape: not blamed
            if n.op_type not in IMPORTERS and n.op_type not in PATTERNS:  # but listed if it has no kind itself
                unmapped.setdefault(n.op_type, []).append(n.name or n.op_type)
            continue
        why = ""
        done = False
        try:
            for fn, prepared in regions.items():
                if fn(ctx, n, prepared):
                    done = True
                    break
            if not done and n.domain in ("", "ai.onnx"):
                for pattern in PATTERNS.get(n.op_type, ()):
                    if pattern(ctx, n):
                        done = True
                        break
            if done:
                continue
            fn = IMPORTERS.get(n.op_type) if n.domain in ("", "ai.onnx") else None
            if fn is None:
                why = "no archcalc kind yet"
            else:
                fn(ctx, n)
                continue
        except Unmapped as e:
            why = e.why or "no archcalc kind yet"
        key = f"{n.op_type}" + (f" ({why})" if why != "no archcalc kind yet" else "")
        unmapped.setdefault(key, []).append(n.name or n.op_type)
        if keep_unmapped:
            _keep(ctx, n, why)
        else:
            _blame(ctx, n)
    if unmapped and not keep_unmapped:
        lines = [f"{k} x{len(v)} (first: {', '.join(v[:3])})" for k, v in sorted(unmapped.items())]
        raise ImportError_(f"{model.path}: {sum(map(len, unmapped.values()))} operators have no archcalc kind:\n  "
                           + "\n  ".join(lines),
                           hint="pass --keep-unmapped to keep them as zero-cost `unmapped` layers with ONNX's shapes "
                           "(every report then flags them); the operator table is in docs/import-export.md")
    for template, (count, total) in ctx.summaries.items():
        ctx.notes.append(template.format(count=count, total=total))
    if folded:
        ctx.notes.append("folded away nodes that do not depend on the input (shape arithmetic, shared weights): "
                         + ", ".join(f"{k} x{v}" for k, v in sorted(folded.items())))
    outputs = []
    for o in model.outputs:
        if o in ctx.vals and ctx.vals[o].layer >= 0:
            outputs.append(ctx.vals[o].layer)
    name = Path(model.path).stem
    floats = model.float_elements()
    shared = sum(lay.params for lay in ctx.layers) + ctx.constant_floats - sum(
        math.prod(model.inits[w].dims) for w in ctx.used if model.inits[w].data_type in FLOAT_TYPES)
    if shared > 0:
        ctx.notes.append(f"the exporter stored equal weights once and shared them through Identity nodes: "
                         f"{shared:,} float elements are counted once per layer that reads them "
                         f"({floats:,} + {shared:,} = {floats + shared:,})")
    return Imported(name, shape, batch, ctx.layers, outputs, floats + max(shared, 0), ctx.notes,  # type: ignore[arg-type]
                    unmapped, ctx.folded_bn, ctx.constant_floats)


def _outer_reads(n: Any) -> list[str]:
    """The names the subgraphs of an If, Loop or Scan read from the graph around them."""
    out: list[str] = []
    for a in n.attribute:
        for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
            made = {o for m in g.node for o in m.output} | {i.name for i in g.input} | {t.name for t in g.initializer}
            for m in g.node:
                out += [x for x in (*m.input, *_outer_reads(m)) if x and x not in made]
    return out


def _keep(ctx: Context, n: Any, why: str) -> None:
    """An operator without a kind, kept as a zero-cost layer with ONNX's inferred output shape."""
    outs = [o for o in n.output if o]
    ins = [x for x in n.input if x in ctx.live and x in ctx.vals]
    try:
        d = ctx.dims(outs[0])
        view = _canonical_for(d)
        shape = views.shape_of(view, d, _rank_of(view))
        if shape is None or any(x is None for x in shape):
            raise Unmapped(f"its output {_fmt(d)} has an unknown size")
    except Unmapped as e:
        raise ImportError_(f"{ctx.model.path}: node '{n.name or n.op_type}' ({n.op_type}) cannot be kept: {e.why}",
                           hint="archcalc keeps unmapped operators whose output is N x C x H x W, N x L x C "
                           "or N x n") from None
    fields: dict[str, Any] = {"c": shape[-1]}
    if len(shape) == 3:
        fields["h"], fields["w"] = shape[0], shape[1]
    elif len(shape) == 2:
        fields["l"] = shape[0]
    weights = tuple(x for x in n.input if x in ctx.model.inits)
    ctx.used.update(weights)
    ctx.emit(n, "unmapped", fields, inputs=ins[:1] if ins else [], output=outs[0], view=view, shape=shape,
             params=0)
    for o in outs[1:]:
        ctx.alias(o, outs[0])


# --- names --------------------------------------------------------------------------------------

_BAD = re.compile(r"[^A-Za-z0-9_.\-]")


def scope(node_name: str) -> tuple[tuple[str, ...], str]:
    """(module path, op label) of a node name: `/layer1/layer1.0/conv1/Conv` -> (layer1, 0, conv1), Conv.

    PyTorch's exporter writes each scope as the module's full dotted path; its local name is
    what follows the parent's path. A name without '/' is one label at the top."""
    if "/" not in node_name:
        return (), node_name
    parts = [p for p in node_name.split("/") if p]
    if not parts:
        return (), node_name
    mods, full = [], ""
    for c in parts[:-1]:
        local = c[len(full) + 1:] if full and c.startswith(full + ".") else c
        full = c if full and c.startswith(full + ".") else (f"{full}.{c}" if full else c)
        mods.append(local)
    return tuple(mods), parts[-1]


def clean(name: str, fallback: str) -> str:
    """A valid archcalc name (letters, digits, _ . -, not starting with a digit)."""
    s = _BAD.sub("_", name).strip(".-") or fallback
    if not (s[0].isalpha() or s[0] == "_"):
        s = f"{fallback}{s}" if s[0].isdigit() else f"{fallback}_{s}"
    return s


def name_layers(layers: list[Layer]) -> None:
    """Give each layer a path (module components + its own name) from its node's name."""
    scopes = [scope(lay.node) for lay in layers]
    count = Counter(s for s, _ in scopes)
    containers = {s[:i] for s, _ in scopes for i in range(len(s))}
    used: set[tuple[str, ...]] = set()
    for lay, (mods, op) in zip(layers, scopes, strict=True):
        if mods and count[mods] == 1 and mods not in containers:
            base = mods
        else:
            label = lay.kind if re.sub(r"_\d+$", "", op) == lay.op else op  # `/Transpose` made tokens: `tokens`
            base = (*mods, label.lower() if mods or label == lay.kind else label)
        mods_c = tuple(_BAD.sub("_", m) for m in base[:-1])  # made valid where they become names
        leaf = _BAD.sub("_", base[-1])
        path = (*mods_c, leaf)
        k = 1
        while path in used:
            k += 1
            path = (*mods_c, f"{leaf}_{k}")
        used.add(path)
        lay.path = path


def import_onnx(path: str | Path, *, keep_unmapped: bool = False, flat: bool = False,
                max_bytes: int | None = None, max_nodes: int | None = None,
                source: str | None = None) -> tuple[str, Imported]:
    """An ONNX file -> (spec YAML text, the imported model), see the module docstring."""
    from .emit import to_yaml
    kw = {k: v for k, v in (("max_bytes", max_bytes), ("max_nodes", max_nodes)) if v is not None}
    model = read(path, **kw)
    imp = convert(model, keep_unmapped=keep_unmapped)
    name_layers(imp.layers)
    if source is not None:
        imp.name = clean(source.rpartition(":")[2].split(".")[-1].rstrip("()"), "model")
    check(imp, to_yaml(imp, flat=True), str(path))
    return to_yaml(imp, flat=flat, source=source or str(path)), imp


def check(imp: Imported, flat_text: str, path: str) -> None:
    """Every layer's shape as archcalc computes it from the fields written must be the shape ONNX
    gives its output: an importer that misread an operator is caught here, never reported as a
    figure."""
    from .. import analyze, load
    from ..errors import ArchcalcError
    try:
        an = analyze(load(text=flat_text))
    except ArchcalcError as e:
        raise ImportError_(f"{path}: the imported layers do not make a valid spec: {e.message}",
                           hint="this is a bug in archcalc's importer: please report it with the model") from None
    for row, lay in zip(an.rows[len(an.rows) - len(imp.layers):], imp.layers, strict=True):
        if tuple(row.output_shape) != tuple(lay.shape):
            raise ImportError_(f"{path}: layer '{'/'.join(lay.path)}' ({lay.kind}, from node '{lay.node}'): archcalc "
                               f"computes {list(row.output_shape)}, ONNX gives {list(lay.shape)}",
                               hint="this is a bug in archcalc's importer: please report it with the model")
