"""Token shapes: a map to tokens and back (ONNX Reshape and Transpose, which the importer follows
as views of the same values: ops/views.py), the learned class token (a Concat with an
initializer), the position embedding (an Add of an initializer), one token taken (Gather), and
Swin's patch merging (strided Slices joined by a Concat)."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports, pattern, torch_helper
from .common import nchw_values


@imports("Gather")
def gather(ctx: Context, n: Any) -> None:
    """x[:, i] of a sequence: one token as a flat vector (ViT's class token read by its head)."""
    x = n.input[0]
    idx = ctx.const(n.input[1])
    v = ctx.value(x)
    axis = ctx.attrs(n).get("axis", 0) % len(ctx.dims(x))
    if idx is None or idx.size != 1 or idx.ndim != 0 or len(v.shape) != 2 or v.view[axis] != (0,):
        raise Unmapped("a gather other than one token of a sequence")
    i = int(idx) % v.shape[0]
    ctx.emit(n, "tokenselect", {"index": i} if i else {}, inputs=[x])


@pattern("Pad", "Slice")
def patch_merge(ctx: Context, n: Any) -> bool:
    """Swin's patch merging: x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] of a map (an odd
    H or W padded at the end first), joined along the channels."""
    from .channel import slice_bounds
    x = n.input[0]
    v = ctx.vals.get(x)
    if v is None or len(v.shape) != 3:
        return False
    h, w, _ = v.shape
    src, nodes = x, []
    if n.op_type == "Pad":
        pads = ctx.const(n.input[1]) if len(n.input) > 1 else None
        d_in, d_out = ctx.dims(x), ctx.dims(n.output[0])
        grow = [(o or 0) - (i or 0) for i, o in zip(d_in, d_out, strict=True)]
        rows, cols = (v.view.index((0,)) if (0,) in v.view else -1), (v.view.index((1,)) if (1,) in v.view else -1)
        if rows < 0 or cols < 0 or grow[rows] != h % 2 or grow[cols] != w % 2 or sum(grow) != h % 2 + w % 2:
            return False
        if pads is not None and any(int(p) for k, p in enumerate(pads.reshape(-1)) if k < len(d_in)):
            return False  # padding at the start
        src, nodes = n.output[0], [n]
    leaves: list[tuple[str, dict[int, tuple[int, int]]]] = []
    todo: list[tuple[str, dict[int, tuple[int, int]]]] = [(src, {})]
    while todo:
        t, offs = todo.pop()
        readers = ctx.readers.get(t, [])
        if t != src and len(readers) == 1 and readers[0].op_type == "Concat":
            leaves.append((t, offs))
            continue
        if not readers or any(r.op_type != "Slice" for r in readers) or (t != src and t in ctx.model.outputs):
            return False
        for r in readers:
            b = slice_bounds(ctx, r)
            if b is None:
                return False
            more = dict(offs)
            for ax, st, en, sp in b:
                if (st, en, sp) != (0, ctx.dims(t)[ax], 1):
                    more[ax] = (st, sp)
            nodes.append(r)
            todo.append((r.output[0], more))
    if len(leaves) != 4:
        return False
    cat = ctx.readers[leaves[0][0]][0]
    ins = list(cat.input)
    if len(ins) != 4 or {t for t, _ in leaves} != set(ins):
        return False
    view = v.view
    axis = ctx.attrs(cat).get("axis", 1) % len(view)
    rows, cols = view.index((0,)), view.index((1,))
    by = dict(leaves)
    quads = [(by[t].get(rows), by[t].get(cols)) for t in ins]
    if view[axis] != (2,) or quads != [((0, 2), (0, 2)), ((1, 2), (0, 2)), ((0, 2), (1, 2)), ((1, 2), (1, 2))] \
            or any(set(by[t]) != {rows, cols} for t in ins):
        return False
    ctx.absorb(*nodes, cat)
    ctx.emit(n, "patchmerge", {}, inputs=[x], output=cat.output[0])
    return True


def _tokens_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                 ws: dict[str, Any]) -> str:
    if kind.name == "tokens":  # x.flatten(2).transpose(1, 2), as torchvision's ViT
        y = b.node("Reshape", [ins[0], b.const("shape", [0, shapes[0][2], -1])])
        return b.node("Transpose", [y], perm=[0, 2, 1])
    y = b.node("Transpose", [ins[0]], perm=[0, 2, 1])  # tokenmap: x.transpose(1, 2).unflatten(2, (h, w))
    return b.node("Reshape", [y, b.const("shape", [0, out[2], out[0], out[1]])])


def _tokens_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "tokens":
        return TorchLayer(None, {}, call="{0}.flatten(2).transpose(1, 2)")
    return TorchLayer(None, {"h": out[0], "w": out[1]}, call="{0}.transpose(1, 2).unflatten(2, ({h}, {w}))")


def _learned_nchw(kind: Any, ws: dict[str, Any], ins: list[Any], perm: Any) -> dict[str, Any]:
    """token (count, C) -> (1, count, C); embedding of the input's shape -> (1, C, H, W) or (1, L, C)."""
    if kind.name == "classtoken":
        return {"token": ws["token"][None]}
    e = ws["embedding"]
    return {"embedding": nchw_values(e if perm is None else e[perm], ins[0])}


def _learned_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                  ws: dict[str, Any]) -> str:
    if kind.name == "posembed":
        return b.node("Add", [ins[0], b.init("embedding", ws["embedding"])])
    tok = b.node("Expand", [b.init("class_token", ws["token"]), b.const("shape", [b.batch, kind.count, out[1]])])
    return b.node("Concat", [tok, ins[0]], axis=1)


def _learned_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "posembed":
        s = shapes[0]
        return TorchLayer("PosEmbed", {"shape": (s[2], s[0], s[1]) if len(s) == 3 else tuple(s)},
                          helpers=("PosEmbed",))
    return TorchLayer("ClassToken", {"count": kind.count, "channels": out[1]}, helpers=("ClassToken",))


def _select_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                 ws: dict[str, Any]) -> str:
    import numpy as np
    return b.node("Gather", [ins[0], b.const("index", np.array(kind.index, np.int64))], axis=1)


def _select_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    return TorchLayer(None, {"index": kind.index}, call="{0}[:, {index}]")


def _merge_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                ws: dict[str, Any]) -> str:
    """An odd H or W padded at the end, then x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]
    joined along the channels (torchvision's _patch_merging_pad, channels first)."""
    h, w, _ = shapes[0]
    x = ins[0]
    if h % 2 or w % 2:
        x = b.node("Pad", [x, b.const("pads", [0, 0, 0, 0, 0, 0, h % 2, w % 2])], mode="constant")
    big = 2**31 - 1
    parts = [b.node("Slice", [x, b.const("start", [r, c]), b.const("end", [big, big]), b.const("axes", [2, 3]),
                              b.const("steps", [2, 2])]) for r, c in ((0, 0), (1, 0), (0, 1), (1, 1))]
    return b.node("Concat", parts, axis=1)


def _merge_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    return TorchLayer(None, {}, call="patch_merge({0})", helpers=("patch_merge",))


torch_helper("ClassToken", '''
class ClassToken(nn.Module):
    """Learned tokens prepended to a sequence (ViT's class token)."""

    def __init__(self, count, channels):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, count, channels))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], 1)
''')

torch_helper("PosEmbed", '''
class PosEmbed(nn.Module):
    """A learned tensor of the input's shape added to it (ViT's position embedding)."""

    def __init__(self, shape):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(1, *shape).normal_(std=0.02))

    def forward(self, x):
        return x + self.embedding
''')

torch_helper("patch_merge", '''
def patch_merge(x):
    """Swin's patch merging gather on N x C x H x W: each 2 x 2 block of positions side by side along
    the channels, an odd H or W padded at the end first (torchvision's _patch_merging_pad)."""
    x = F.pad(x, (0, x.shape[3] % 2, 0, x.shape[2] % 2))
    return torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], 1)
''')

exports("tokens", "tokenmap", onnx=_tokens_onnx, torch=_tokens_torch)
exports("classtoken", "posembed", onnx=_learned_onnx, torch=_learned_torch, nchw=_learned_nchw)
exports("tokenselect", onnx=_select_onnx, torch=_select_torch)
exports("patchmerge", onnx=_merge_onnx, torch=_merge_torch)
