"""Pooling: ONNX MaxPool and AveragePool <-> maxpool and avgpool; the global pools (and ReduceMean,
ReduceMax over H and W), with the Flatten (or Reshape, or Squeeze) that follows them folded into
`keepdims: false`; adaptive pools <-> AveragePool (MaxPool) when their windows tile the input, else
a Slice and a ReduceMean (ReduceMax) per window."""

from __future__ import annotations

from typing import Any

from .. import views
from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports, pattern
from .common import onnx_pads, pads_of, pair


@imports("MaxPool", "AveragePool")
def pool(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    if len([o for o in n.output if o]) > 1:
        raise Unmapped("with indices output")
    k = tuple(a["kernel_shape"])
    if len(k) != 2:
        raise Unmapped("only 2-D pooling")
    if tuple(a.get("dilations", [1, 1])) != (1, 1):
        raise Unmapped("dilated pooling")
    s = tuple(a.get("strides", [1, 1]))
    h, w, _ = ctx.hwc(n.input[0])
    fields: dict[str, Any] = {"size": pair(k)}
    if s != k:
        fields["stride"] = pair(s)
    p = onnx_pads(a, (h, w), k, s)  # type: ignore[arg-type]
    if p is not None:
        fields["padding"] = p
    if a.get("ceil_mode", 0):
        fields["ceil"] = True
    if n.op_type == "AveragePool" and p is not None and not a.get("count_include_pad", 0):
        fields["count_pad"] = False
    ctx.emit(n, "maxpool" if n.op_type == "MaxPool" else "avgpool", fields, inputs=[n.input[0]])


@imports("GlobalAveragePool", "GlobalMaxPool")
def global_pool(ctx: Context, n: Any) -> None:
    ctx.hwc(n.input[0])
    kind = "globalavgpool" if n.op_type == "GlobalAveragePool" else "globalmaxpool"
    nxt = ctx.only_reader(n.output[0])
    if nxt is not None and nxt.op_type in ("Flatten", "Reshape", "Squeeze") and len(ctx.dims(nxt.output[0])) == 2:
        if nxt.op_type != "Flatten" or ctx.attrs(nxt).get("axis", 1) == 1:
            ctx.absorb(nxt)
            ctx.emit(n, kind, {}, inputs=[n.input[0]], output=nxt.output[0])
            return
    ctx.emit(n, kind, {"keepdims": True}, inputs=[n.input[0]])


@imports("ReduceMean", "ReduceMax")
def reduce(ctx: Context, n: Any) -> None:
    """x.mean([2, 3]) (ShuffleNetV2's pooling) and its max: a global pool over H and W."""
    v = ctx.value(n.input[0])
    a = ctx.attrs(n)
    axes = a.get("axes")
    if axes is None and len(n.input) > 1 and n.input[1]:
        c = ctx.const(n.input[1])
        axes = None if c is None else [int(x) for x in c.reshape(-1)]
    rank = len(ctx.dims(n.input[0]))
    if axes is None or len(v.shape) != 3:
        raise Unmapped("a reduction other than over a map's H and W")
    reduced = sorted(g for x in axes for g in v.view[x % rank])
    if reduced != [0, 1] or any(v.view[x % rank] in (views.N, ()) for x in axes):
        raise Unmapped("a reduction other than over a map's H and W")
    kind = "globalavgpool" if n.op_type == "ReduceMean" else "globalmaxpool"
    keep = bool(a.get("keepdims", 1))
    ctx.emit(n, kind, {"keepdims": True} if keep else {}, inputs=[n.input[0]],
             view=None if keep else views.canonical((1,)))


@pattern("Slice")
def adaptive(ctx: Context, n: Any) -> bool:
    """An adaptive pool as `archcalc export` writes one whose windows do not tile the input: along H,
    then W, a Slice and a ReduceMean (ReduceMax) per window [floor(i·n/o), ceil((i+1)·n/o)), joined by
    a Concat. PyTorch's adaptive windows, exactly: anything else is left to the other importers."""
    x = n.input[0]
    v = ctx.vals.get(x)
    if v is None or len(v.shape) != 3 or v.view != views.canonical(v.shape):
        return False
    h, w, _ = v.shape
    found = _adaptive_axis(ctx, x)
    if found is None:
        return False
    op, axis, o, nodes, y = found
    size = [h, w]
    size[axis - 2] = o
    if axis == 2:  # then the columns, from the rows' result
        more = _adaptive_axis(ctx, y)
        if more is not None and more[0] == op and more[1] == 3:
            size[1] = more[2]
            nodes, y = nodes + more[3], more[4]
    ctx.absorb(*nodes)
    kind = "adaptiveavgpool" if op == "ReduceMean" else "adaptivemaxpool"
    ctx.emit(n, kind, {"size": pair((size[0], size[1]))}, inputs=[x], output=y)
    return True


def _adaptive_axis(ctx: Context, x: str) -> Any:
    """(reduce op, axis, windows, nodes, output) of one axis of the adaptive pattern read from `x`."""
    readers = ctx.readers.get(x, [])
    if not readers or any(r.op_type != "Slice" for r in readers):
        return None
    ranges, reds = [], []
    for r in readers:
        if len(r.input) != 4:
            return None
        st, en, ax = (ctx.const(t) for t in r.input[1:4])
        red = ctx.only_reader(r.output[0])
        if st is None or en is None or ax is None or st.size != 1 or red is None \
                or red.op_type not in ("ReduceMean", "ReduceMax"):
            return None
        axis = int(ax.reshape(-1)[0]) % 4
        ra = ctx.attrs(red)
        if list(ra.get("axes", [])) not in ([axis], [axis - 4]) or not ra.get("keepdims", 1):
            return None
        ranges.append((int(st.reshape(-1)[0]), int(en.reshape(-1)[0]), axis))
        reds.append(red)
    cat = ctx.only_reader(reds[0].output[0])
    if cat is None or cat.op_type != "Concat" or list(cat.input) != [r.output[0] for r in reds]:
        return None
    axes = {a for _, _, a in ranges}
    ops = {r.op_type for r in reds}
    if len(axes) != 1 or len(ops) != 1 or ctx.attrs(cat).get("axis") % 4 != next(iter(axes)):
        return None
    axis = axes.pop()
    n = ctx.dims(x)[axis]
    if [(a, e) for a, e, _ in ranges] != adaptive_windows(n, len(ranges)):  # type: ignore[arg-type]
        return None
    return ops.pop(), axis, len(ranges), [*readers, *reds, cat], cat.output[0]


def _geometry(kind: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    k = kind.size
    s = tuple(si or ki for si, ki in zip(kind.stride, k, strict=True))
    return k, s  # type: ignore[return-value]


def _onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
          ws: dict[str, Any]) -> str:
    k, s = _geometry(kind)
    t, bo, l, r = pads_of(kind, shapes[0], k, s)
    attrs: dict[str, Any] = {"kernel_shape": list(k), "strides": list(s), "ceil_mode": int(kind.ceil)}
    if kind.padding == "same":
        attrs["auto_pad"] = "SAME_UPPER"
    else:
        attrs["pads"] = [t, l, bo, r]
    if kind.name == "avgpool":
        attrs["count_include_pad"] = int(kind.count_pad)
        return b.node("AveragePool", [ins[0]], **attrs)
    return b.node("MaxPool", [ins[0]], **attrs)


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    k, s = _geometry(kind)
    t, bo, l, r = pads_of(kind, shapes[0], k, s)
    pad = None
    if not (t == bo and l == r and t <= k[0] // 2 and l <= k[1] // 2):
        if kind.name == "avgpool" and not kind.count_pad:
            from .. import ExportError
            raise ExportError(f"avgpool with padding {[t, bo, l, r]} and count_pad: false has no PyTorch module",
                              hint="use symmetric padding of at most half the window")
        pad, (t, l) = (l, r, t, bo), (0, 0)
    args: dict[str, Any] = {"kernel_size": pair(k)}
    if s != k:
        args["stride"] = pair(s)
    if (t, l) != (0, 0):
        args["padding"] = pair((t, l))
    if kind.ceil:
        args["ceil_mode"] = True
    if kind.name == "avgpool" and not kind.count_pad:
        args["count_include_pad"] = False
    return TorchLayer("nn.MaxPool2d" if kind.name == "maxpool" else "nn.AvgPool2d", args, pad=pad,
                      pad_value=float("-inf") if kind.name == "maxpool" else 0.0)


def _global_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                 ws: dict[str, Any]) -> str:
    y = b.node("GlobalAveragePool" if kind.name == "globalavgpool" else "GlobalMaxPool", [ins[0]])
    return y if kind.keepdims else b.node("Flatten", [y], axis=1)


def _global_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    ctor = "nn.AdaptiveAvgPool2d" if kind.name == "globalavgpool" else "nn.AdaptiveMaxPool2d"
    return TorchLayer(ctor, {"output_size": 1}, post="" if kind.keepdims else ".flatten(1)")


def adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows [floor(i·n/o), ceil((i+1)·n/o)) of n positions into o."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def _adaptive_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                   ws: dict[str, Any]) -> str:
    """Windows that tile the input evenly are one AveragePool (MaxPool), as PyTorch exports them; others
    (which PyTorch's exporter refuses) are reduced rows first, then columns: a Slice and a ReduceMean
    (ReduceMax) per window, joined by a Concat. The mean of row means is the window's mean: the window
    is the product of its rows and columns."""
    h, w, _ = shapes[0]
    oh, ow = kind.size
    avg = kind.name == "adaptiveavgpool"
    if h % oh == 0 and w % ow == 0:
        k = [h // oh, w // ow]
        return b.node("AveragePool" if avg else "MaxPool", [ins[0]], kernel_shape=k, strides=k)
    y = ins[0]
    for axis, n, o in ((2, h, oh), (3, w, ow)):
        if n == o:
            continue
        parts = [b.node("ReduceMean" if avg else "ReduceMax",
                        [b.node("Slice", [y, b.const("start", [a]), b.const("end", [e]), b.const("axis", [axis])])],
                        axes=[axis], keepdims=1) for a, e in adaptive_windows(n, o)]
        y = b.node("Concat", parts, axis=axis)
    return y


def _adaptive_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    ctor = "nn.AdaptiveAvgPool2d" if kind.name == "adaptiveavgpool" else "nn.AdaptiveMaxPool2d"
    return TorchLayer(ctor, {"output_size": pair(kind.size)})


exports("maxpool", "avgpool", onnx=_onnx, torch=_torch)
exports("adaptiveavgpool", "adaptivemaxpool", onnx=_adaptive_onnx, torch=_adaptive_torch)
exports("globalavgpool", "globalmaxpool", onnx=_global_onnx, torch=_global_torch)
