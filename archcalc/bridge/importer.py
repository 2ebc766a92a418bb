"""ONNX graph -> archcalc layers -> a readable spec.

The walk: tensors whose values depend on the network's input are *live*; every other node
(Shape, Gather, Unsqueeze, Constant and the arithmetic exporters emit to compute a reshape's
target) is folded away, its result known from ONNX shape inference. Each live node goes
through the operator table (table.IMPORTERS); a node with no entry, or one its entry cannot
express, is collected, and all of them are refused together, each operator type with its
count and first node names (or, with `keep_unmapped`, kept as zero-cost `unmapped` layers
with ONNX's inferred shapes). Layers are then named from the node names (a PyTorch export's
`/layer1/layer1.0/conv1/Conv` is the layer `conv1` of the module `layer1.0`) and folded into
blocks (fold.py) unless `flat`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


class Unmapped(Exception):
    """Raised by an importer for a node the kinds of today cannot express."""

    def __init__(self, why: str = "") -> None:
        super().__init__(why)
        self.why = why


@dataclass
class Context:
    """What an importer sees: shapes, constants, consumers; and where it puts layers."""

    model: Model
    layers: list[Layer] = field(default_factory=list)
    producer: dict[str, int] = field(default_factory=dict)      # tensor -> layer index (-1 input)
    live: set[str] = field(default_factory=set)
    readers: dict[str, list[Any]] = field(default_factory=dict)
    absorbed: set[int] = field(default_factory=set)             # id() of nodes a pattern took
    used: set[str] = field(default_factory=set)                 # initializers taken by layers
    notes: list[str] = field(default_factory=list)
    folded_bn: int = 0

    # -- reading ------------------------------------------------------------------------------
    def dims(self, t: str) -> tuple[int | None, ...]:
        d = self.model.shapes.get(t)
        if d is None:
            raise Unmapped(f"ONNX shape inference gives no shape for '{t}'")
        return d

    def hwc(self, t: str) -> tuple[int, ...]:
        """The archcalc shape of an NCHW (or N x n) tensor: H x W x C (or n)."""
        d = self.dims(t)
        if any(x is None for x in d[1:]):
            raise Unmapped(f"'{t}' has an unknown size {_fmt(d)}")
        if len(d) == 4:
            return (d[2], d[3], d[1])  # type: ignore[return-value]
        if len(d) == 2:
            return (d[1],)  # type: ignore[return-value]
        raise Unmapped(f"'{t}' has rank {len(d)} ({_fmt(d)}); archcalc's kinds take N x C x H x W or N x n")

    def const(self, t: str) -> Any:
        """The value of a constant input (a small initializer or Constant), or None."""
        if not t:
            return None
        return self.model.consts.get(t)

    def weight(self, t: str, rank: int | None = None) -> tuple[int, ...]:
        """The dimensions of a weight initializer, which the layer takes (counted as its parameters)."""
        t = self.model.const_alias.get(t, t)
        init = self.model.inits.get(t)
        if init is None:
            if t in self.live:
                raise Unmapped("its weights are computed from the input, not stored")
            raise Unmapped(f"its weight '{t}' is not an initializer")
        if rank is not None and len(init.dims) != rank:
            raise Unmapped(f"weight '{t}' has rank {len(init.dims)}, expected {rank}")
        self.used.add(t)
        return tuple(init.dims)

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
             output: str | None = None, weights: tuple[str, ...] = ()) -> None:
        ins = [self.producer[x] for x in (inputs if inputs is not None else self.live_inputs(node))]
        params = 0
        for w in weights:
            if w:
                t = self.model.inits[self.model.const_alias.get(w, w)]
                if t.data_type in FLOAT_TYPES:
                    params += math.prod(t.dims)
        self.layers.append(Layer(kind, fields, ins, node.name or node.op_type, node.op_type, params=params))
        self.producer[output or node.output[0]] = len(self.layers) - 1

    def alias(self, out: str, src: str) -> None:
        self.producer[out] = self.producer[src]

    def absorb(self, node: Any) -> None:
        self.absorbed.add(id(node))


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


def convert(model: Model, *, keep_unmapped: bool = False) -> Imported:
    """Map every live node through the operator table (see the module docstring)."""
    from .table import IMPORTERS
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
    shape = (in_dims[2], in_dims[3], in_dims[1]) if len(in_dims) == 4 else (in_dims[1],)
    ctx.live.add(in_name)
    ctx.producer[in_name] = -1
    model.shapes.setdefault(in_name, in_dims)
    for n in model.nodes:
        if n.op_type not in ("Shape", "Size") and any(x in ctx.live for x in n.input):
            ctx.live.update(o for o in n.output if o)
    for n in model.nodes:
        for x in n.input:
            if x in ctx.live:
                ctx.readers.setdefault(x, []).append(n)
        if n.op_type == "Identity" and n.input[0] not in ctx.live:  # an exporter sharing equal weights
            model.const_alias[n.output[0]] = model.const_alias.get(n.input[0], n.input[0])
    unmapped: dict[str, list[str]] = {}
    folded = Counter()
    for n in model.nodes:
        if id(n) in ctx.absorbed:
            continue
        if not any(o in ctx.live for o in n.output):
            folded[n.op_type] += 1
            continue
        fn = IMPORTERS.get(n.op_type) if n.domain in ("", "ai.onnx") else None
        why = "" if fn is not None else "no archcalc kind yet"
        if fn is not None:
            try:
                fn(ctx, n)
                continue
            except Unmapped as e:
                why = e.why
        key = f"{n.op_type}" + (f" ({why})" if why and fn is not None else "")
        unmapped.setdefault(key, []).append(n.name or n.op_type)
        if keep_unmapped:
            _keep(ctx, n, why)
        else:
            for o in n.output:  # later nodes reading it are not blamed for it
                ctx.producer.setdefault(o, -1)
    if unmapped and not keep_unmapped:
        lines = [f"{k} x{len(v)} (first: {', '.join(v[:3])})" for k, v in sorted(unmapped.items())]
        raise ImportError_(f"{model.path}: {sum(map(len, unmapped.values()))} operators have no archcalc kind:\n  "
                           + "\n  ".join(lines),
                           hint="pass --keep-unmapped to keep them as zero-cost `unmapped` layers with ONNX's shapes "
                           "(every report then flags them); the operator table is in docs/import-export.md")
    if folded:
        ctx.notes.append("folded away nodes that do not depend on the input (shape arithmetic, shared weights): "
                         + ", ".join(f"{k} x{v}" for k, v in sorted(folded.items())))
    outputs = []
    for o in model.outputs:
        if o in ctx.producer and ctx.producer[o] >= 0:
            outputs.append(ctx.producer[o])
    name = Path(model.path).stem
    floats = model.float_elements()
    shared = sum(lay.params for lay in ctx.layers) - sum(
        math.prod(model.inits[w].dims) for w in ctx.used if model.inits[w].data_type in FLOAT_TYPES)
    if shared:
        ctx.notes.append(f"the exporter stored equal weights once and shared them through Identity nodes: "
                         f"{shared:,} float elements are counted once per layer that reads them "
                         f"({floats:,} + {shared:,} = {floats + shared:,})")
    return Imported(name, shape, batch, ctx.layers, outputs, floats + shared, ctx.notes, unmapped,
                    ctx.folded_bn)


def _keep(ctx: Context, n: Any, why: str) -> None:
    """An operator without a kind, kept as a zero-cost layer with ONNX's inferred output shape."""
    outs = [o for o in n.output if o]
    ins = [x for x in n.input if x in ctx.live and x in ctx.producer]
    try:
        shape = ctx.hwc(outs[0])
    except Unmapped as e:
        raise ImportError_(f"{ctx.model.path}: node '{n.name or n.op_type}' ({n.op_type}) cannot be kept: {e.why}",
                           hint="archcalc keeps unmapped operators whose output is N x C x H x W or N x n") from None
    fields: dict[str, Any] = {"c": shape[-1]}
    if len(shape) == 3:
        fields["h"], fields["w"] = shape[0], shape[1]
    weights = tuple(x for x in n.input if x in ctx.model.inits)
    ctx.used.update(weights)
    ctx.emit(n, "unmapped", fields, inputs=ins[:1] if ins else None, output=outs[0], weights=())
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
            label = op if "/" in lay.node or not mods else op
            base = (*mods, label.lower() if mods else label)
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
    return to_yaml(imp, flat=flat, source=source or str(path)), imp
