"""Graph -> Analysis: one pass in topological order asking each node's kind for its figures.

The walker is stateless and adds nothing of its own: every figure comes from a kind's
formula, multiplied by the batch. A kind's `KindError` becomes a `SpecError` at the
line of the node (or of the field at fault).
"""

from __future__ import annotations

from .analysis import Analysis, Row
from .errors import KindError, SpecError
from .formula import ZERO, Formula, q, scaled, total
from .graph import Graph
from .shape import Shape, fmt

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


def walk(graph: Graph, *, dtype: str = "float32") -> Analysis:
    """Propagate shapes and count parameters, MACs and other operations for every node."""
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype {dtype!r}", hint=f"one of: {', '.join(DTYPE_BYTES)}")
    nodes = graph.nodes
    batch = graph.batch
    n_sym = q("N", batch) if batch != 1 else None
    shapes: list[Shape] = []
    rows: list[Row] = []
    for node in nodes:
        ins = [shapes[i] for i in node.inputs]
        kind = node.kind
        try:
            out = kind.out_shape(ins)
            for d in out:
                if d <= 0:  # pragma: no cover - window() raises first; kept as a guard
                    raise KindError(f"output size {fmt(out)} is not positive")
            weights = kind.weights(ins, out)
            macs = kind.macs(ins, out)
            other = kind.other_ops(ins, out)
        except KindError as e:
            loc = node.item.at(e.field) if (e.field and node.item is not None and e.field in node.item) else node.loc
            on = f" on input {', '.join(fmt(s) for s in ins)}" if ins else ""
            err = SpecError(f"layer '{node.path}' ({kind.name}){on}: {e.message}", loc, e.hint)
            _instance_notes(err, graph, node.path)
            raise err from None
        shapes.append(out)
        if n_sym is not None:
            if macs is not ZERO:
                macs = scaled(n_sym, macs)
            other = {k: scaled(n_sym, v) for k, v in other.items()}
        counts = [w.count for w in weights]  # each weight's size once: for the split and the formula
        tr = sum(c.value for w, c in zip(weights, counts, strict=True) if w.trainable)
        rows.append(Row(
            name=node.path, kind=kind.name, index=len(rows),
            inputs=tuple(nodes[i].path for i in node.inputs),
            input_shapes=tuple(ins), output_shape=out,
            trainable=tr, non_trainable=sum(c.value for c in counts) - tr,
            macs=macs.value, other={k: v.value for k, v in other.items()},
            params_formula=total(*counts) if counts else ZERO,
            macs_formula=macs, other_formulas=other, node=node,
        ))
    return Analysis(graph=graph, rows=rows, dtype=dtype, bytes_per_value=DTYPE_BYTES[dtype])


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
