"""The values of the nodes that do not depend on the network's input, as far as they are small.

Exporters compute a reshape's target, a pad's sizes or a slice's bounds from the input's shape
(Shape, Gather, Unsqueeze, Concat, Div, ...): at a fixed input size those are constants, and the
importer needs them (`chunk(2)` of 116 channels is a Slice from 0 to 58, written as
Shape -> Gather -> Add -> Div -> Mul). Each such node is evaluated here once, in topological
order, with NumPy, from the shapes ONNX shape inference gave the live tensors and the small
constants of the file. A value larger than `LIMIT` elements, or an operator not listed, stays
unknown (None), and all of them together hold at most `TOTAL` elements: nothing large is ever
computed, so a hostile file costs bounded time and memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

#: The most elements a computed constant may have (shape arithmetic and index tables are far smaller),
#: and all computed constants together (128 MiB of int64): a file of many large ones gets no more.
LIMIT = 1 << 16
TOTAL = 1 << 24

_INT_DIV = {"Div"}


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def evaluate(model: Any, live: set[str]) -> None:
    """Add to `model.consts` the value of every non-live node's outputs that can be computed, and to
    `model.shapes` the sizes of live tensors ONNX's shape inference left unknown because they came from
    such values (Swin pads to a multiple of its window with sizes computed from Shape): one pass in
    topological order, each live node inferred by ONNX's own rule for its operator, from its inputs'
    sizes and the constants now known."""
    import numpy as np
    consts = model.consts
    budget = TOTAL
    for n in model.nodes:
        outs = [o for o in n.output if o]
        if not outs:
            continue
        if outs[0] not in live and n.domain in ("", "ai.onnx") and n.op_type in _OPS \
                and not all(o in consts for o in outs):
            vals = _value(np, model, n) if budget > 0 else ()
            for o, v in zip(outs, vals, strict=False):
                v = np.asarray(v)
                if v.size <= min(LIMIT, budget):
                    consts[o] = v
                    model.shapes[o] = tuple(v.shape)
                    budget -= v.size
        if any(o not in consts and (o not in model.shapes or None in model.shapes[o]) for o in outs):
            _infer_node(model, n)


def _value(np: Any, model: Any, n: Any) -> tuple[Any, ...]:
    """The values of a non-live node's outputs, or () when an input is unknown or the op fails."""
    if n.op_type in ("Shape", "Size"):
        dims = model.shapes.get(n.input[0])
        if dims is None or any(d is None for d in dims):
            return ()
        args: list[Any] = [np.array(dims, np.int64)]
    else:
        if any(x and x not in model.consts for x in n.input):
            return ()
        args = [None if not x else model.consts[x] for x in n.input]
        if not _small_enough(np, n, args):
            return ()
    try:
        with np.errstate(all="ignore"):
            vals = _OPS[n.op_type](np, _attrs(n), *args)
    except Exception:  # noqa: BLE001 - a value that cannot be computed simply stays unknown
        return ()
    return vals if isinstance(vals, tuple) else (vals,)


_BROADCAST = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Equal", "Less", "Greater", "And", "Or", "Where", "Min",
              "Max"}


def _small_enough(np: Any, n: Any, args: list[Any]) -> bool:
    """Whether the result of an operator that can grow its inputs stays within LIMIT elements
    (a broadcast of two vectors could otherwise make LIMIT² of them)."""
    arrays = [a for a in args if a is not None]
    try:
        if n.op_type in _BROADCAST:
            return math.prod(np.broadcast_shapes(*(a.shape for a in arrays))) <= LIMIT
        if n.op_type == "Gather" and len(arrays) == 2:
            x, i = arrays
            axis = _attrs(n).get("axis", 0) % max(x.ndim, 1)
            return i.size * (x.size // max(x.shape[axis], 1) if x.ndim else 1) <= LIMIT
    except ValueError:
        return False
    return True


def _infer_node(model: Any, n: Any) -> None:
    """A node's output sizes by ONNX's inference rule for it, from what is known now."""
    import onnx
    from onnx import helper, numpy_helper
    try:
        schema = onnx.defs.get_schema(n.op_type, max(model.opset, 1), n.domain or "")
    except Exception:  # noqa: BLE001 - an operator ONNX does not define: its sizes stay unknown
        return
    types, data = {}, {}
    for x in n.input:
        if not x:
            continue
        if x in model.consts:
            v = model.consts[x]
            data[x] = numpy_helper.from_array(v, x)
            types[x] = helper.make_tensor_type_proto(data[x].data_type, list(v.shape))
        elif x in model.shapes:
            dims = [d if d is not None else None for d in model.shapes[x]]
            elem = model.inits[x].data_type if x in model.inits else onnx.TensorProto.FLOAT
            types[x] = helper.make_tensor_type_proto(elem, dims)
        else:
            return
    try:
        out = onnx.shape_inference.infer_node_outputs(schema, n, types, data, opset_imports=list(
            model.proto.opset_import))
    except Exception:  # noqa: BLE001 - sizes ONNX cannot infer stay unknown
        return
    for name, tp in out.items():
        if tp.HasField("tensor_type") and tp.tensor_type.HasField("shape"):
            model.shapes[name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                       for d in tp.tensor_type.shape.dim)


def _axes(attrs: dict[str, Any], given: Any) -> list[int] | None:
    if given is not None:
        return [int(a) for a in given.reshape(-1)]
    a = attrs.get("axes")
    return None if a is None else [int(x) for x in a]


def _shape(np: Any, a: dict[str, Any], x: Any) -> Any:
    start, end = a.get("start", 0), a.get("end")
    return x[start:end]


def _size(np: Any, a: dict[str, Any], x: Any) -> Any:
    return np.array(math.prod(int(d) for d in x), np.int64)


def _gather(np: Any, a: dict[str, Any], x: Any, i: Any) -> Any:
    return np.take(x, i.astype(np.int64), axis=a.get("axis", 0))


def _unsqueeze(np: Any, a: dict[str, Any], x: Any, axes: Any = None) -> Any:
    ax = _axes(a, axes) or []
    rank = x.ndim + len(ax)
    for k in sorted(v % rank for v in ax):
        x = np.expand_dims(x, k)
    return x


def _squeeze(np: Any, a: dict[str, Any], x: Any, axes: Any = None) -> Any:
    ax = _axes(a, axes)
    return np.squeeze(x) if ax is None else np.squeeze(x, axis=tuple(v % x.ndim for v in ax))


def _concat(np: Any, a: dict[str, Any], *xs: Any) -> Any:
    return np.concatenate([x for x in xs if x is not None], axis=a.get("axis", 0))


def _slice(np: Any, a: dict[str, Any], x: Any, starts: Any = None, ends: Any = None, axes: Any = None,
           steps: Any = None) -> Any:
    starts = a.get("starts") if starts is None else starts.reshape(-1).tolist()
    ends = a.get("ends") if ends is None else ends.reshape(-1).tolist()
    axes = a.get("axes", list(range(len(starts)))) if axes is None else axes.reshape(-1).tolist()
    steps = [1] * len(starts) if steps is None else steps.reshape(-1).tolist()
    idx = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        idx[int(ax)] = slice(int(s), int(e), int(st))
    return x[tuple(idx)]


def _cast(np: Any, a: dict[str, Any], x: Any) -> Any:
    from onnx import helper
    return x.astype(helper.tensor_dtype_to_np_dtype(a["to"]))


def _div(np: Any, a: dict[str, Any], x: Any, y: Any) -> Any:
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":  # ONNX integer division truncates
        return (np.fix(x / y)).astype(np.result_type(x, y))
    return x / y


def _mod(np: Any, a: dict[str, Any], x: Any, y: Any) -> Any:
    return np.fmod(x, y) if a.get("fmod", 0) else np.mod(x, y)


def _reshape(np: Any, a: dict[str, Any], x: Any, shape: Any) -> Any:
    s = [int(v) for v in shape.reshape(-1)]
    if not a.get("allowzero", 0):
        s = [x.shape[i] if v == 0 else v for i, v in enumerate(s)]
    return x.reshape(s)


def _constant_of_shape(np: Any, a: dict[str, Any], shape: Any) -> Any:
    from onnx import numpy_helper
    v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
    s = [int(d) for d in shape.reshape(-1)]
    if math.prod(s) > LIMIT:
        raise ValueError("too large")
    return np.full(s, v.reshape(-1)[0], dtype=v.dtype)


def _expand(np: Any, a: dict[str, Any], x: Any, shape: Any) -> Any:
    s = np.broadcast_shapes(x.shape, tuple(int(d) for d in shape.reshape(-1)))
    if math.prod(s) > LIMIT:
        raise ValueError("too large")
    return np.broadcast_to(x, s).copy()


def _range(np: Any, a: dict[str, Any], start: Any, limit: Any, delta: Any) -> Any:
    n = math.ceil((float(limit) - float(start)) / float(delta))
    if n > LIMIT:
        raise ValueError("too large")
    return np.arange(start, limit, delta).astype(np.result_type(start))


def _tile(np: Any, a: dict[str, Any], x: Any, reps: Any) -> Any:
    r = [int(v) for v in reps.reshape(-1)]
    if x.size * math.prod(r) > LIMIT:
        raise ValueError("too large")
    return np.tile(x, r)


def _reduce(fn: str) -> Callable[..., Any]:
    def f(np: Any, a: dict[str, Any], x: Any, axes: Any = None) -> Any:
        ax = _axes(a, axes)
        keep = bool(a.get("keepdims", 1))
        return getattr(np, fn)(x, axis=None if ax is None else tuple(ax), keepdims=keep)
    return f


def _binary(name: str) -> Callable[..., Any]:
    return lambda np, a, x, y: getattr(np, name)(x, y)


def _unary(name: str) -> Callable[..., Any]:
    return lambda np, a, x: getattr(np, name)(x)


_OPS: dict[str, Callable[..., Any]] = {
    "Shape": _shape, "Size": _size, "Identity": lambda np, a, x: x, "Gather": _gather, "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze, "Concat": _concat, "Slice": _slice, "Cast": _cast, "Add": _binary("add"),
    "Sub": _binary("subtract"), "Mul": _binary("multiply"), "Div": _div, "Mod": _mod, "Pow": _binary("power"),
    "Neg": _unary("negative"), "Abs": _unary("abs"), "Floor": _unary("floor"), "Ceil": _unary("ceil"),
    "Sqrt": _unary("sqrt"), "Reciprocal": _unary("reciprocal"), "Reshape": _reshape,
    "ConstantOfShape": _constant_of_shape, "Expand": _expand, "Range": _range, "Tile": _tile,
    "Equal": _binary("equal"), "Less": _binary("less"), "Greater": _binary("greater"), "Not": _unary("logical_not"),
    "And": _binary("logical_and"), "Or": _binary("logical_or"), "Where": lambda np, a, c, x, y: np.where(c, x, y),
    "Min": lambda np, a, *xs: np.minimum.reduce(np.broadcast_arrays(*xs)),
    "Max": lambda np, a, *xs: np.maximum.reduce(np.broadcast_arrays(*xs)),
    "Transpose": lambda np, a, x: np.transpose(x, a.get("perm")),
    "ReduceProd": _reduce("prod"), "ReduceSum": _reduce("sum"), "ReduceMax": _reduce("max"),
    "ReduceMin": _reduce("min"),
}
