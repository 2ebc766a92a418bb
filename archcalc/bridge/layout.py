"""The executor's weights, and their order in ONNX's and PyTorch's NCHW world.

The executor (docs/executor.md) keeps NHWC activations and (f_h, f_w, n_c/g, n_c') kernels;
ONNX and PyTorch keep NCHW and (n_c', n_c/g, f_h, f_w). Each kind's `nchw` entry in the
operator table converts its weights. One thing no single layer can know: a flat vector made by
flattening H x W x C is in H, W, C order here and in C, H, W order there, so a dense layer (or
a BatchNorm on vectors) after it must take its rows in another order. `perms` follows that
order through the graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..graph import Graph
from . import ExportError

#: kinds that keep the order of a flat input vector element by element (their per-element weights,
#: if any, are reordered by their `nchw` entry)
_ELEMENTWISE = {"relu", "relu6", "sigmoid", "tanh", "hardswish", "softmax", "dropout", "batchnorm", "unmapped",
                "silu", "gelu", "hardsigmoid", "leakyrelu", "prelu", "layernorm", "groupnorm", "scale", "posembed",
                "identity", "droppath"}
#: kinds that read a flat vector in any order: their weights take its order (layout's `perm`)
_REORDERING = {"dense", "linear", "flatten", "add", "concat", "multiply"}


def executor_weights(graph: Graph, *, seed: int = 0, weights: str | Path | None = None) -> list[dict[str, Any]]:
    """Every node's weights as `archcalc run --seed` (or `--weights`) gives them, float32.

    Drawn (or read, each file member's shape checked before its data) by the executor's own code
    (execute._plan and _weights), so an exported model computes what the executor computes. The
    parameters' size is known before any is allocated: an export holds about three copies of
    them (these arrays, the ONNX initializers, the bytes written), refused when more than the
    memory available now."""
    import numpy as np

    from ..execute import ExecError, _fmt_bytes, _plan, _Weights, _weights, available_memory
    dt = np.dtype("float32")
    try:
        plan = _plan(graph, dt, graph.batch)
    except ExecError as e:
        raise ExportError(e.message, e.loc, e.hint) from None
    need, have = 3 * plan.param_bytes, available_memory()
    if need > have:
        raise ExportError(f"exporting this holds about {_fmt_bytes(need)} (three copies of its "
                          f"{_fmt_bytes(plan.param_bytes)} of parameters), more than the {_fmt_bytes(have)} "
                          "available", hint="export a smaller setting of the spec (--set, --input)")
    rng = np.random.default_rng(seed)
    given = None
    try:
        given = _Weights(weights) if weights is not None else None
        return _weights(graph.nodes, plan.weights, given, rng, dt)
    except ExecError as e:
        raise ExportError(e.message, e.loc, e.hint) from None
    finally:
        if given is not None:
            given.close()


def perms(graph: Graph, shapes: list[tuple[int, ...]]) -> list[Any]:
    """For every node, the order of its flat output in NCHW terms (None: the same as archcalc's)."""
    import numpy as np
    out: list[Any] = []
    for j, node in enumerate(graph.nodes):
        k = node.kind.name
        ins = [out[i] for i in node.inputs]
        p = None
        if k == "flatten":
            s = shapes[node.inputs[0]]
            if len(s) == 3:
                p = np.arange(s[0] * s[1] * s[2]).reshape(s).transpose(2, 0, 1).ravel()
                if ins[0] is not None:  # pragma: no cover - a 3-D input never carries a vector order
                    p = ins[0][p]
                if np.array_equal(p, np.arange(p.size)):  # 1 x 1 x C (or H x 1 x 1): the same order
                    p = None
            else:
                p = ins[0]
        elif k in _ELEMENTWISE and ins:
            p = ins[0]
        elif k == "add" and len(shapes[j]) == 1:
            if any(x is not None for x in ins):
                if not all(x is not None and np.array_equal(x, ins[0]) for x in ins):
                    raise ExportError(f"layer '{node.path}' adds flat vectors flattened in different orders",
                                      hint="add before flattening")
                p = ins[0]
        elif k == "concat" and len(shapes[j]) == 1 and any(x is not None for x in ins):
            parts, off = [], 0
            for i, x in zip(node.inputs, ins, strict=True):
                n = shapes[i][0]
                parts.append((np.arange(n) if x is None else x) + off)
                off += n
            p = np.concatenate(parts)
        elif k == "multiply" and any(x is not None for x in ins):
            full = [x for x, i in zip(ins, node.inputs, strict=True) if len(shapes[i]) == len(shapes[j])]
            if any(x is None or not np.array_equal(x, full[0]) for x in full) or len(full) != len(ins):
                raise ExportError(f"layer '{node.path}' multiplies flat vectors flattened in different orders",
                                  hint="multiply before flattening")
            p = full[0]
        elif any(x is not None for x in ins) and k not in _REORDERING:
            raise ExportError(f"layer '{node.path}' ({k}) reads a vector flattened from a map: ONNX and PyTorch "
                              f"flatten channels first (C, H, W), archcalc H, W, C, and a {k} depends on that order",
                              hint="apply it before flattening, or flatten a map of 1 x 1 x C")
        out.append(p)
    return out
