"""Graph -> Analysis: one pass in topological order asking each node's kind for its figures.

The walker is stateless and adds nothing of its own: every figure comes from a kind's
formula, multiplied by the batch. A kind's `KindError` becomes a `SpecError` at the
line of the node (or of the field at fault).
"""

from __future__ import annotations

import math
from typing import Any

from ._gc import paused
from .analysis import Analysis, Row
from .errors import KindError, SpecError
from .formula import ZERO, Formula, q, scaled, total
from .graph import Graph, Node
from .kinds.base import MAX_INT, _short
from .shape import Shape, fmt

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


@paused
def walk(graph: Graph, *, dtype: str = "float32") -> Analysis:
    """Propagate shapes and count parameters, MACs and other operations for every node."""
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype {dtype!r}", hint=f"one of: {', '.join(DTYPE_BYTES)}")
    nodes = graph.nodes
    batch = graph.batch
    n_sym = q("N", batch) if batch != 1 else None
    shapes: list[Shape] = []
    rows: list[Row] = []
    # A node's figures depend only on its kind (fields) and its input shapes, and graph.build
    # gives equal layers one Kind object: repeated layers are counted once, their rows share
    # the (immutable) formulas.
    memo: dict[tuple[int, tuple[Shape, ...]], tuple[Any, ...]] = {}
    paths = [n.path for n in nodes]
    for index, node in enumerate(nodes):
        ins = tuple(map(shapes.__getitem__, node.inputs))
        kind = node.kind
        key = (id(kind), ins)
        figures = memo.get(key)
        if figures is None:
            figures = memo[key] = (ins, *_figures(graph, node, ins, n_sym))
        # rows with equal inputs share one tuple of input shapes (a million-layer graph holds a million)
        ins, out, tr, nt, params_formula, macs, other, other_values, elems = figures
        shapes.append(out)
        # positional, in Row's field order (the walk's inner loop: keywords cost a third more)
        rows.append(Row(node.path, kind.name, index, tuple(map(paths.__getitem__, node.inputs)), ins, out,
                        tr, nt, macs.value, other_values, params_formula, macs, other, node, 1, elems))
    return Analysis(graph=graph, rows=rows, dtype=dtype, bytes_per_value=DTYPE_BYTES[dtype])


def _figures(graph: Graph, node: Node, ins: tuple[Shape, ...], n_sym: Formula | None) -> tuple[Any, ...]:
    """(output shape, trainable, non-trainable, params formula, MACs formula, other formulas,
    other values, output elements)."""
    kind = node.kind
    shapes = list(ins)
    try:
        out = kind.out_shape(shapes)
        for d in out:
            if d <= 0:  # pragma: no cover - window() raises first; kept as a guard
                raise KindError(f"output size {fmt(out)} is not positive")
            if d > MAX_INT:  # the bound every written size has holds for computed ones too
                raise KindError(f"its output has a dimension of {_short(d)}, more than the largest size "
                                "archcalc accepts, 2^63 - 1",
                                hint="no framework holds a tensor that large (sizes are 64-bit): "
                                     "is an upsampling scale, a repeat count or an input size wrong?")
        weights = kind.weights(shapes, out)
        macs = kind.macs(shapes, out)
        other = kind.other_ops(shapes, out)
    except KindError as e:
        loc = node.item.at(e.field) if (e.field and node.item is not None and e.field in node.item) else node.loc
        on = f" on input {', '.join(fmt(s) for s in ins)}" if ins else ""
        err = SpecError(f"layer '{node.path}' ({kind.name}){on}: {e.message}", loc, e.hint)
        _instance_notes(err, graph, node.path)
        raise err from None
    if n_sym is not None:
        if macs is not ZERO:
            macs = scaled(n_sym, macs)
        other = {k: scaled(n_sym, v) for k, v in other.items()}
    counts = [w.count for w in weights]  # each weight's size once: for the split and the formula
    tr = sum(c.value for w, c in zip(weights, counts, strict=True) if w.trainable)
    nt = sum(c.value for c in counts) - tr
    # rows share `other_values` too: nothing changes a row's dict (folded rows make their own)
    return (out, tr, nt, (total(*counts) if counts else ZERO), macs, other,
            {k: v.value for k, v in other.items()}, math.prod(out))


def _instance_notes(err: SpecError, graph: Graph, path: str) -> None:
    """Name the block instances a failing layer sits in (innermost first): the location is in the block."""
    from .graph import _note
    parts = path.split("/")
    for i in range(len(parts) - 1, 0, -1):
        inst = graph.instances.get("/".join(parts[:i]))
        if inst is not None:
            _note(err, f"in block '{inst.block}' used at {inst.loc} as {inst.path}")


def explain_shape(row: Row) -> str:
    """The output-shape derivation of a row (recomputed by the kind's own shape code)."""
    return row.node.kind.shape_text(list(row.input_shapes), row.output_shape)


__all__ = ["DTYPE_BYTES", "Formula", "explain_shape", "walk"]
