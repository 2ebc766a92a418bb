"""Joins: ONNX Add and Sum of activations <-> add, Concat along channels or tokens <-> concat, Mul of
activations <-> multiply; with a learned tensor: Add of one of the input's shape <-> posembed, Mul by
one value per channel <-> scale, Concat with one (after an Expand over the batch) <-> classtoken."""

from __future__ import annotations

import math
from typing import Any

from .. import views
from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports
from .common import chan_axis


def _same(ctx: Context, ins: list[str]) -> None:
    vs = [ctx.value(x) for x in ins]
    if any((v.shape, v.view) != (vs[0].shape, vs[0].view) for v in vs) or len({ctx.dims(x) for x in ins}) != 1:
        raise Unmapped("a broadcasting add (archcalc's add takes inputs of one shape)")


@imports("Add", "Sum")
def add(ctx: Context, n: Any) -> None:
    ins = ctx.live_inputs(n)
    if len(ins) == len(n.input) and len(ins) >= 2:
        _same(ctx, ins)
        ctx.emit(n, "add", {}, inputs=ins)
        return
    if n.op_type == "Add" and len(ins) == 1:
        other = next(t for t in n.input if t != ins[0])
        w = ctx.init(other)
        d = ctx.dims(ins[0])
        if w is not None and tuple(w.dims) in (tuple(d), tuple(d[1:]), (1, *d[1:])) and len(d) > 1:
            ctx.emit(n, "posembed", {}, inputs=ins, weights=(other,))  # a learned tensor of the input's shape
            return
    raise Unmapped("an add of a constant (a bias or a shift; no kind yet)")


@imports("Mul")
def mul(ctx: Context, n: Any) -> None:
    ins = ctx.live_inputs(n)
    if len(ins) == 2:
        view, shape = _broadcast(ctx, ins, ctx.dims(n.output[0]))  # type: ignore[arg-type]
        ctx.emit(n, "multiply", {}, inputs=ins, view=view, shape=shape)
        return
    if len(ins) == 1:
        other = next(t for t in n.input if t != ins[0])
        w = ctx.init(other)
        from .activation import _on_channels
        if w is not None and len(w.dims) <= len(ctx.dims(ins[0])) and \
                max(w.dims, default=1) == ctx.shape(ins[0])[-1] > 1 and _on_channels(ctx, ins[0], tuple(w.dims)):
            ctx.emit(n, "scale", {}, inputs=ins, weights=(other,))  # a learned scale per channel
            return
    raise Unmapped("a multiply by a constant (no kind: archcalc's multiply joins activations, scale learns one "
                   "value per channel)")


def _broadcast(ctx: Context, ins: list[str], out: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """ONNX aligns the last axes of the tensors, archcalc the last axes of the values: the product is
    archcalc's when every ONNX axis of size above 1 holds the same archcalc axis (counted from the
    end) in every input. The output's view is the largest input's."""
    from ...kinds.merge import broadcast
    rank = len(out)
    padded = []
    for x in ins:
        v, d = ctx.value(x), ctx.dims(x)
        pad = rank - len(d)
        padded.append((v, ((),) * pad + tuple(v.view), (1,) * pad + tuple(d)))
    for j in range(rank):
        keys = set()
        for v, view, d in padded:
            g = view[j]
            if d[j] != 1:
                keys.add("N" if g == views.N else tuple(a - len(v.shape) for a in g))
        if len(keys) > 1:
            raise Unmapped("a broadcasting multiply whose axes do not line up as archcalc's (the channels last)")
    big = max(padded, key=lambda p: len(p[0].shape))
    return big[1], broadcast([v.shape for v, _, _ in padded])


@imports("Concat")
def concat(ctx: Context, n: Any) -> None:
    ins = [x for x in n.input if x]
    live = [x for x in ins if x in ctx.live]
    rank = len(ctx.dims(n.output[0]))
    axis = ctx.attrs(n).get("axis", 1) % rank
    if len(live) == 1 and len(ins) == 2 and ins[1] == live[0]:
        _class_token(ctx, n, ins[0], live[0], axis)
        return
    if len(live) != len(ins):
        raise Unmapped("a concat with a constant")
    if len(ins) == 1:
        ctx.alias(n.output[0], ins[0])
        return
    vs = [ctx.value(x) for x in ins]
    if any(v.view != vs[0].view or len(v.shape) != len(vs[0].shape) for v in vs):
        raise Unmapped("a concat of values laid out differently")
    g = vs[0].view[axis]
    last = len(vs[0].shape) - 1
    if g == (last,):
        ctx.emit(n, "concat", {}, inputs=ins)
    elif len(vs[0].shape) == 2 and g == (0,):
        ctx.emit(n, "concat", {"axis": "tokens"}, inputs=ins)
    else:
        raise Unmapped(f"a concat along axis {axis} (archcalc joins channels, or the tokens of sequences)")


def _class_token(ctx: Context, n: Any, const: str, x: str, axis: int) -> None:
    """torch.cat([token.expand(N, -1, -1), x], 1): a learned token prepended to the sequence."""
    v = ctx.value(x)
    inits = [t for t in ctx.sources(const)[0] if ctx.model.inits[t].data_type in (1, 10, 11, 16)]  # floats
    if len(v.shape) != 2 or v.view[axis] != (0,) or len(inits) != 1:
        raise Unmapped("a concat with a constant")
    w = ctx.init(inits[0])
    if w is None or len(w.dims) < 2 or w.dims[-1] != v.shape[1]:
        raise Unmapped("a concat with a constant")
    count = math.prod(w.dims) // v.shape[1]
    if ctx.dims(n.output[0])[axis] != v.shape[0] + count:
        raise Unmapped("a concat with a constant")
    ctx.emit(n, "classtoken", {} if count == 1 else {"count": count}, inputs=[x], weights=(inits[0],))


def _gate(s: tuple[int, ...], out: tuple[int, ...]) -> tuple[list[int] | None, str]:
    """How an input of archcalc shape `s` broadcasts against the output `out` in ONNX and PyTorch:
    (the ONNX shape to reshape it to, or None; the PyTorch indexing that does the same). A map is
    N x C x H x W there, so a gate of C values becomes N x C x 1 x 1 (archcalc aligns last axes)."""
    if len(s) == len(out):
        return None, ""
    if len(s) == 1 and len(out) == 3:
        return [0, s[0], 1, 1], "[:, :, None, None]"
    if len(s) == 1 and len(out) == 2:
        return [0, 1, s[0]], "[:, None]"
    from .. import ExportError
    raise ExportError(f"a multiply of a {len(s)}-axis input by a {len(out)}-axis one has no NCHW equivalent",
                      hint="gate a map with 1 x 1 x C or C values, a sequence with C values")


def _onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
          ws: dict[str, Any]) -> str:
    if kind.name == "concat":
        return b.node("Concat", ins, axis=1 if kind.axis == "tokens" else chan_axis(out))
    if kind.name == "multiply":
        xs = []
        for x, s in zip(ins, shapes, strict=True):
            shape, _ = _gate(s, out)
            xs.append(x if shape is None else b.node("Reshape", [x, b.const("shape", shape)]))
        y = xs[0]
        for x in xs[1:]:
            y = b.node("Mul", [y, x])
        return y
    return b.node("Add" if len(ins) == 2 else "Sum", ins)


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "concat":
        return TorchLayer(None, {}, call=f"torch.cat([{{all}}], {1 if kind.axis == 'tokens' else chan_axis(out)})")
    if kind.name == "multiply":
        return TorchLayer(None, {}, call=" * ".join(f"{{{i}}}{_gate(s, out)[1]}" for i, s in enumerate(shapes)))
    return TorchLayer(None, {}, call="{plus}")


exports("add", "concat", "multiply", onnx=_onnx, torch=_torch)
