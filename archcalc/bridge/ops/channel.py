"""Channel operations: ONNX Slice and Split along the channels <-> slice (a Slice of a map's centre
imports as crop); Reshape, Transpose,
Reshape interleaving groups of channels (ShuffleNet's channel_shuffle) <-> shuffle."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports
from .common import chan_axis


def slice_bounds(ctx: Context, n: Any) -> list[tuple[int, int, int, int]] | None:
    """(axis, start, end, step) of each sliced axis of a Slice, clamped to the input's size; None when
    a bound is not a known constant."""
    d = ctx.dims(n.input[0])
    a = ctx.attrs(n)
    if len(n.input) >= 3:
        starts, ends = ctx.const(n.input[1]), ctx.const(n.input[2])
        axes = ctx.const(n.input[3]) if len(n.input) > 3 and n.input[3] else None
        steps = ctx.const(n.input[4]) if len(n.input) > 4 and n.input[4] else None
        if starts is None or ends is None or (len(n.input) > 3 and n.input[3] and axes is None) \
                or (len(n.input) > 4 and n.input[4] and steps is None):
            return None
        starts, ends = starts.reshape(-1).tolist(), ends.reshape(-1).tolist()
        axes = list(range(len(starts))) if axes is None else axes.reshape(-1).tolist()
        steps = [1] * len(starts) if steps is None else steps.reshape(-1).tolist()
    else:
        starts, ends = a.get("starts", []), a.get("ends", [])
        axes, steps = a.get("axes", list(range(len(starts)))), [1] * len(starts)
    out = []
    for st, en, ax, sp in zip(starts, ends, axes, steps, strict=True):
        ax = int(ax) % len(d)
        size = d[ax]
        if size is None:
            return None
        st, en = int(st), int(en)
        st = max(0, min(size, st + size if st < 0 else st))
        en = max(0, min(size, en + size if en < 0 else en))
        out.append((ax, st, en, int(sp)))
    return out


@imports("Slice")
def slice_(ctx: Context, n: Any) -> None:
    """A part of the channels (x[:, a:b], torch.chunk), or the centre of a map's H and W (crop); other
    axes, or steps, have no kind."""
    b = slice_bounds(ctx, n)
    if b is None:
        raise Unmapped("a slice whose bounds are not constants")
    d = ctx.dims(n.input[0])
    cut = [(ax, st, en, sp) for ax, st, en, sp in b if (st, en, sp) != (0, d[ax], 1)]
    if not cut:
        ctx.alias(n.output[0], n.input[0])
        return
    if len(d) == 4 and all(ax in (2, 3) and sp == 1 for ax, _, _, sp in cut):
        # H and W of a map: U-Net's copy and crop, which `crop` writes as this Slice
        (top, h), (left, w) = ((0, d[2]), (0, d[3]))
        for ax, st, en, _ in cut:
            if ax == 2:
                top, h = st, en - st
            else:
                left, w = st, en - st
        if (top, left) != ((d[2] - h) // 2, (d[3] - w) // 2):
            raise Unmapped("a slice of H and W off the centre (archcalc's crop takes the centre of the map)")
        ctx.emit(n, "crop", {"size": [h, w]}, inputs=[n.input[0]])
        return
    if len(cut) != 1 or cut[0][3] != 1 or not ctx.last_axis(n.input[0], cut[0][0]):
        raise Unmapped("a slice of other than the channels or a map's centre (archcalc's slice takes a range "
                       "of channels, crop the centre of H and W)")
    _, st, en, _ = cut[0]
    ctx.emit(n, "slice", {"start": st, "channels": en - st} if st else {"channels": en - st}, inputs=[n.input[0]])


@imports("Split")
def split(ctx: Context, n: Any) -> None:
    """torch.split / chunk along the channels: one slice per output."""
    x = n.input[0]
    d = ctx.dims(x)
    axis = ctx.attrs(n).get("axis", 0) % len(d)
    if not ctx.last_axis(x, axis):
        raise Unmapped("a split of other than the channels")
    start = 0
    for o in n.output:
        if not o:
            continue
        size = ctx.dims(o)[axis]
        if size is None:
            raise Unmapped("a split into parts of unknown size")
        ctx.emit(n, "slice", {"start": start, "channels": size} if start else {"channels": size}, inputs=[x],
                 output=o)
        start += size


def _slice_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                ws: dict[str, Any]) -> str:
    first, count = kind.span(shapes[0][-1])
    return b.node("Slice", [ins[0], b.const("start", [first]), b.const("end", [first + count]),
                            b.const("axis", [chan_axis(shapes[0])])])


def _slice_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    first, count = kind.span(shapes[0][-1])
    lead = ":, :, " if len(shapes[0]) == 2 else ":, "
    return TorchLayer(None, {"start": first, "end": first + count}, call=f"{{0}}[{lead}{{start}}:{{end}}]")


def _shuffle_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                  ws: dict[str, Any]) -> str:
    """x.view(N, g, C/g, H, W).transpose(1, 2).reshape(N, C, H, W), as torchvision's channel_shuffle."""
    s, g = shapes[0], kind.groups
    c = s[-1]
    if len(s) == 2:
        split, perm, back = [0, s[0], g, c // g], [0, 1, 3, 2], [0, s[0], c]
    else:
        rest = [s[0], s[1]] if len(s) == 3 else []
        split, perm, back = [0, g, c // g, *rest], [0, 2, 1, *range(3, 3 + len(rest))], [0, c, *rest]
    y = b.node("Reshape", [ins[0], b.const("shape", split)])
    y = b.node("Transpose", [y], perm=perm)
    return b.node("Reshape", [y, b.const("shape", back)])


def _shuffle_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    a = chan_axis(shapes[0])
    return TorchLayer(None, {"groups": kind.groups},
                      call=f"{{0}}.unflatten({a}, ({{groups}}, -1)).transpose({a}, {a + 1}).flatten({a}, {a + 1})")


exports("slice", onnx=_slice_onnx, torch=_slice_torch)
exports("shuffle", onnx=_shuffle_onnx, torch=_shuffle_torch)
