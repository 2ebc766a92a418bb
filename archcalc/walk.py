"""Graph -> Analysis: one pass in topological order asking each node's kind for its figures.

The walker is stateless and adds nothing of its own: every figure comes from a kind's
formula, multiplied by the batch. A kind's `KindError` becomes a `SpecError` at the
line of the node (or of the field at fault).

A node that does not run in this pass (training-only, at inference: `Graph.inactive`) keeps
its shape and parameters; its MACs, other operations and activation memory are zero, and its
row says it is training-only (`Row.training_only`, which also marks such rows in training).
"""

from __future__ import annotations

import math
from typing import Any

from ._gc import paused
from .analysis import Analysis, Row, TrainingRow
from .errors import KindError, SpecError
from .formula import ZERO, Formula, q, scaled, total
from .graph import Graph, Instance, Node, include_note
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
    train_only, inactive = graph.train_only, graph.inactive
    for index, node in enumerate(nodes):
        ins = tuple(map(shapes.__getitem__, node.inputs))
        kind = node.kind
        key = (id(kind), ins)
        figures = memo.get(key)
        if figures is None:
            figures = memo[key] = (ins, *_figures(graph, node, ins, n_sym, index))
        # rows with equal inputs share one tuple of input shapes (a million-layer graph holds a million)
        ins, out, tr, nt, params_formula, macs, other, other_values, elems = figures
        shapes.append(out)
        if train_only and index in train_only:
            idle = index in inactive  # parameters only: it does not run in this pass
            rows.append(TrainingRow(node.path, kind.name, index, tuple(map(paths.__getitem__, node.inputs)), ins,
                                    out, tr, nt, 0 if idle else macs.value, {} if idle else other_values,
                                    params_formula, ZERO if idle else macs, {} if idle else other, node, 1,
                                    0 if idle else elems))
            continue
        # positional, in Row's field order (the walk's inner loop: keywords cost a third more)
        rows.append(Row(node.path, kind.name, index, tuple(map(paths.__getitem__, node.inputs)), ins, out,
                        tr, nt, macs.value, other_values, params_formula, macs, other, node, 1, elems))
    return Analysis(graph=graph, rows=rows, dtype=dtype, bytes_per_value=DTYPE_BYTES[dtype])


def checked_shape(out: Shape) -> Shape:
    """A shape a layer computed, held to the bound every written size has (2^63 - 1): repeated
    upsampling could otherwise make sizes of thousands of digits (KindError)."""
    for d in out:
        if d <= 0:  # pragma: no cover - window() raises first; kept as a guard
            raise KindError(f"output size {fmt(out)} is not positive")
        if d > MAX_INT:
            raise KindError(f"its output has a dimension of {_short(d)}, more than the largest size "
                            "archcalc accepts, 2^63 - 1",
                            hint="no framework holds a tensor that large (sizes are 64-bit): "
                                 "is an upsampling scale, a repeat count or an input size wrong?")
    return out


def _figures(graph: Graph, node: Node, ins: tuple[Shape, ...], n_sym: Formula | None,
             index: int) -> tuple[Any, ...]:
    """(output shape, trainable, non-trainable, params formula, MACs formula, other formulas,
    other values, output elements)."""
    kind = node.kind
    shapes = list(ins)
    try:
        out = checked_shape(kind.out_shape(shapes))
        weights = kind.weights(shapes, out)
        macs = kind.macs(shapes, out)
        other = kind.other_ops(shapes, out)
    except KindError as e:
        err = kind_error(node, ins, e, graph.instances)
        if index in graph.train_only and not graph.training:
            from .graph import _note
            _note(err, "a training-only layer: its parameters count at inference too, so it must fit "
                       "the input; a `when:` condition can leave it out")
        raise include_note(graph.spec, err) from None
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


def kind_error(node: Node, ins: tuple[Shape, ...], e: KindError, instances: dict[str, Instance],
               cls: type[SpecError] = SpecError) -> SpecError:
    """A kind's error as a SpecError at the node's line (or its field's), naming the block
    instances it sits in (innermost first), since the location is in the block's definition.
    Also raised while a graph is built, when expansion reads a shape (`in.c`)."""
    from .graph import _note
    loc = node.item.at(e.field) if (e.field and node.item is not None and e.field in node.item) else node.loc
    on = f" on input {', '.join(fmt(s) for s in ins)}" if ins else ""
    err = cls(f"layer '{node.path}' ({node.kind.name}){on}: {e.message}", loc, e.hint)
    parts = node.path.split("/")
    for i in range(len(parts) - 1, 0, -1):
        inst = instances.get("/".join(parts[:i]))
        if inst is not None:
            _note(err, f"in block '{inst.block}' used at {inst.loc} as {inst.path}")
    return err


def explain_shape(row: Row) -> str:
    """The output-shape derivation of a row (recomputed by the kind's own shape code)."""
    return row.node.kind.shape_text(list(row.input_shapes), row.output_shape)


__all__ = ["DTYPE_BYTES", "Formula", "explain_shape", "walk"]
