"""Layers that move values: Transpose, Reshape, Flatten, Squeeze and Unsqueeze (views of the same
values, views.py: they make a layer only where the new arrangement is `flatten`, `tokens`,
`tokenmap` or `shuffle`), Pad <-> zeropad, crop <-> Slice (of H and W), Resize and Upsample <->
upsample, Dropout <-> dropout, Identity <-> identity (and droppath, which ONNX has no other form
for); the per-channel x·a + b on the network's input (torchvision's transform_input) is folded away."""

from __future__ import annotations

from typing import Any

from .. import views
from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports, pattern, torch_helper
from .common import pads_of, pair, real


def settle(ctx: Context, n: Any, t: str) -> None:
    """After a view change: a layer where the arrangement is one of archcalc's kinds. All axes on
    one ONNX axis is `flatten`; a map's H·W on one axis before its C on the next is `tokens`."""
    v = ctx.value(t)
    gs = views.groups(v.view)
    if len(v.shape) >= 2 and len(gs) == 1:
        ctx.emit(n, "flatten", {}, inputs=[t], output=t, shape=(views.elements(v.shape),),
                 view=views.canonical((1,)))
    elif len(v.shape) == 3 and len(gs) == 2 and gs[1] == (2,) and gs[0] and \
            gs[0] == tuple(a for a in (0, 1) if v.shape[a] != 1):
        ctx.emit(n, "tokens", {}, inputs=[t], output=t, shape=(v.shape[0] * v.shape[1], v.shape[2]),
                 view=views.canonical((1, 1)))


@imports("Transpose")
def transpose(ctx: Context, n: Any) -> None:
    v = ctx.value(n.input[0])
    perm = ctx.attrs(n).get("perm") or list(range(len(v.view)))[::-1]
    ctx.alias(n.output[0], n.input[0], views.permute(v.view, list(perm)))
    settle(ctx, n, n.output[0])


@imports("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def reshape(ctx: Context, n: Any) -> None:
    src, out = n.input[0], n.output[0]
    v = ctx.value(src)
    d_in, d_out = ctx.dims(src), ctx.dims(out)
    if any(x is None for x in (*d_in, *d_out)):
        raise Unmapped(f"a reshape of unknown sizes ({list(d_in)} to {list(d_out)})")
    view, split = views.regroup(v.view, v.shape, d_in, d_out)  # type: ignore[arg-type]
    if view is not None and len(v.shape) == 2 and len(d_out) == 4 and _as_map(ctx, n, src, out, view):
        return
    if view is not None:
        ctx.alias(out, src, view)
        settle(ctx, n, out)
        return
    if split is not None:
        axis, parts = split
        if len(v.shape) == 2 and axis == 0 and len(parts) == 2:  # a sequence's tokens as an h x w map
            h, w = parts
            seq_to_map = tuple(g if g == views.N else tuple(b for a in g for b in ((0, 1) if a == 0 else (2,)))
                               for g in v.view)
            shape = (h, w, v.shape[1])
            mview, _ = views.regroup(seq_to_map, shape, d_in, d_out)  # type: ignore[arg-type]
            if mview is not None:
                ctx.emit(n, "tokenmap", {"h": h, "w": w}, inputs=[src], output=out, view=mview, shape=shape)
                return
        if axis == len(v.shape) - 1 and len(parts) == 2 and _shuffle(ctx, n, d_in, d_out, parts):
            return
    raise Unmapped(f"a reshape of {list(d_in)} to {list(d_out)} that archcalc's kinds do not express "
                   f"(the {views_word(v.shape)} moves or splits otherwise than into tokens, a map or groups)")


def _as_map(ctx: Context, n: Any, src: str, out: str, view: tuple[Any, ...]) -> bool:
    """A sequence reshaped to N x C x h x w (or N x h x w x C) with h or w of 1: `tokenmap`, the split of
    its tokens being trivial (a split into h and w both above 1 is found by regroup)."""
    v = ctx.value(src)
    d = ctx.dims(out)
    spatial = [1, 2] if view[3] == (1,) else [2, 3] if view[1] == (1,) else None
    if view[0] != views.N or spatial is None or sorted(g for k in spatial for g in view[k]) != [0]:
        return False
    h, w = d[spatial[0]], d[spatial[1]]
    mview = tuple(views.N if k == 0 else (2,) if view[k] == (1,) else (0,) if k == spatial[0] else (1,)
                  for k in range(4))
    ctx.emit(n, "tokenmap", {"h": h, "w": w}, inputs=[src], output=out, view=mview, shape=(h, w, v.shape[1]))
    return True


def views_word(shape: tuple[int, ...]) -> str:
    return {3: "map", 2: "sequence", 1: "vector"}[len(shape)]


def _shuffle(ctx: Context, n: Any, d_in: tuple[Any, ...], d_out: tuple[Any, ...], parts: list[int]) -> bool:
    """ShuffleNet's channel_shuffle: channels split into (g, C/g), those two axes swapped, merged back."""
    g = parts[0]
    at = next(j for j in range(len(d_out) - 1) if list(d_out[j:j + 2]) == parts)
    tr = ctx.only_reader(n.output[0])
    if tr is None or tr.op_type != "Transpose":
        return False
    perm = list(ctx.attrs(tr).get("perm", []))
    want = list(range(len(d_out)))
    want[at], want[at + 1] = want[at + 1], want[at]
    back = ctx.only_reader(tr.output[0])
    if perm != want or back is None or back.op_type != "Reshape" or ctx.dims(back.output[0]) != d_in:
        return False
    ctx.absorb(tr, back)
    ctx.emit(n, "shuffle", {"groups": g}, inputs=[n.input[0]], output=back.output[0],
             view=ctx.value(n.input[0]).view, shape=ctx.value(n.input[0]).shape)
    return True


@imports("Identity")
def identity(ctx: Context, n: Any) -> None:
    ctx.emit(n, "identity", {}, inputs=[n.input[0]])


#: Operators of an input transform x·a + b per channel (torchvision's transform_input)
_TRANSFORM = {"Gather", "Slice", "Unsqueeze", "Squeeze", "Mul", "Add", "Sub", "Div", "Concat"}


@pattern(*_TRANSFORM)
def input_transform(ctx: Context, n: Any) -> bool:
    """Constant arithmetic on the network's input, channel by channel, giving a tensor of the input's
    own shape (GoogLeNet's and Inception v3's transform_input: x[:, c]·a_c + b_c, concatenated):
    preprocessing, folded away (the spec's input is the transformed image), and said in the notes."""
    inp = ctx.input_name
    if ctx.layers or inp not in n.input:
        return False
    region: set[int] = set()
    made: set[str] = {inp}
    todo = list(ctx.readers.get(inp, []))
    while todo:
        m = todo.pop()
        if id(m) in region or m.op_type not in _TRANSFORM:
            continue
        if any(x in ctx.live and x not in made for x in m.input):
            continue
        if any(x and x not in ctx.live and ctx.const(x) is None for x in m.input):
            return False
        region.add(id(m))
        for o in m.output:
            made.add(o)
            todo += ctx.readers.get(o, [])
    nodes = [m for m in ctx.model.nodes if id(m) in region]
    if not nodes or not any(m.op_type in ("Mul", "Add", "Sub", "Div") for m in nodes):
        return False
    exits = {o for m in nodes for o in m.output if o in ctx.model.outputs
             or any(id(r) not in region for r in ctx.readers.get(o, []))}
    if len(exits) != 1 or any(id(r) not in region for r in ctx.readers.get(inp, [])):
        return False
    out = exits.pop()
    if ctx.dims(out) != ctx.dims(inp):
        return False
    ctx.absorb(*nodes)
    ctx.alias(out, inp)
    ctx.notes.append(f"folded the input transform ({len(nodes)} nodes of per-channel x·a + b on the input, "
                     "as torchvision's transform_input): preprocessing, not a layer; its few multiplies and "
                     "adds per pixel are not counted")
    return True


@imports("Dropout")
def dropout(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    rate = a.get("ratio", 0.5)
    if len(n.input) > 1 and n.input[1]:
        v = ctx.const(n.input[1])
        rate = 0.5 if v is None else float(v)
    fields = {} if real(rate) == 0.5 else {"rate": real(rate)}
    ctx.emit(n, "dropout", fields, inputs=[n.input[0]])


@imports("Pad")
def pad(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = a.get("pads") if len(n.input) < 2 else ctx.const(n.input[1])
    value = a.get("value", 0.0) if len(n.input) < 3 or not n.input[2] else ctx.const(n.input[2])
    if (pads is not None and not any(int(p) for p in pads)) or (pads is None and ctx.dims(n.output[0]) == ctx.dims(
            n.input[0])):  # a pad of nothing (Swin's, at a multiple of the window)
        ctx.alias(n.output[0], n.input[0])
        return
    if mode != "constant" or pads is None or value is None or float(value) != 0.0:
        raise Unmapped(f"{mode} padding" if mode != "constant" else "padding by a value other than 0")
    ctx.hwc(n.input[0])
    pads = [int(p) for p in pads]
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0 \
            or (len(n.input) > 3 and n.input[3]):
        raise Unmapped(f"padding {pads} beyond H and W")
    t, l, b, r = pads[2], pads[3], pads[6], pads[7]
    ctx.emit(n, "zeropad", {"padding": t if t == b == l == r else [t, l] if (t == b and l == r) else [t, b, l, r]},
             inputs=[n.input[0]])


@imports("Resize", "Upsample")
def resize(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    h, w, c = ctx.hwc(n.input[0])
    _, co, ho, wo = ctx.dims(n.output[0])
    if co != c or ho % h or wo % w:
        raise Unmapped(f"a resize from {h} x {w} to {ho} x {wo} by a factor that is not whole")
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    coord = a.get("coordinate_transformation_mode", b"half_pixel")
    coord = coord.decode() if isinstance(coord, bytes) else coord
    if mode == "nearest":
        kind_mode = "nearest"
    elif mode in ("linear", "bilinear"):
        kind_mode = "bilinear"
        if coord not in ("half_pixel", "pytorch_half_pixel") and n.op_type != "Upsample":  # align_corners=True
            ctx.summary(f"bilinear resizing with {coord} coordinates imported as archcalc's `bilinear` (half-pixel "
                        "centres): the same cost, values a little apart ({count} layers)", 0)
    else:
        raise Unmapped(f"{mode} resizing (archcalc's upsampling is nearest or bilinear)")
    fields: dict[str, Any] = {"scale": pair((ho // h, wo // w))}
    if kind_mode != "nearest":
        fields["mode"] = kind_mode
    ctx.emit(n, "upsample", fields, inputs=[n.input[0]])


def _flatten_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                  ws: dict[str, Any]) -> str:
    return b.node("Flatten", [ins[0]], axis=1)


def _dropout_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                  ws: dict[str, Any]) -> str:
    return b.node("Dropout", [ins[0], b.const("ratio", float(kind.rate))])


def _zeropad_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                  ws: dict[str, Any]) -> str:
    t, bo, l, r = pads_of(kind, shapes[0], (1, 1), (1, 1))
    return b.node("Pad", [ins[0], b.const("pads", [0, 0, t, l, 0, 0, bo, r])], mode="constant")


def _crop_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
               ws: dict[str, Any]) -> str:
    t, l, h, w = kind.window(shapes)  # the second input, if any, gave only the size: it is not read
    return b.node("Slice", [ins[0], b.const("starts", [t, l]), b.const("ends", [t + h, l + w]),
                            b.const("axes", [2, 3])])


def _upsample_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                   ws: dict[str, Any]) -> str:
    sh, sw = kind.scale
    scales = b.const("scales", [1.0, 1.0, float(sh), float(sw)])
    if kind.mode == "nearest":
        return b.node("Resize", [ins[0], "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                      nearest_mode="floor")
    return b.node("Resize", [ins[0], "", scales], mode="linear", coordinate_transformation_mode="half_pixel")


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "flatten":
        return TorchLayer("nn.Flatten", {})
    if kind.name == "dropout":
        return TorchLayer("nn.Dropout", {"p": float(kind.rate)} if kind.rate != 0.5 else {})
    if kind.name == "zeropad":
        t, bo, l, r = pads_of(kind, shapes[0], (1, 1), (1, 1))
        return TorchLayer("nn.ZeroPad2d", {"padding": (l, r, t, bo)})
    if kind.name == "crop":
        t, l, h, w = kind.window(shapes)
        return TorchLayer(None, {}, call=f"{{0}}[:, :, {t}:{t + h}, {l}:{l + w}]")
    args: dict[str, Any] = {"scale_factor": float(kind.scale[0]) if kind.scale[0] == kind.scale[1]
                            else tuple(float(s) for s in kind.scale), "mode": repr(kind.mode)}
    if kind.mode == "bilinear":
        args["align_corners"] = False
    return TorchLayer("nn.Upsample", args)


def _identity_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                   ws: dict[str, Any]) -> str:
    return b.node("Identity", [ins[0]])


def _identity_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "droppath":
        return TorchLayer("DropPath", {"p": float(kind.rate)}, helpers=("DropPath",))
    return TorchLayer("nn.Identity", {})


torch_helper("DropPath", '''
class DropPath(nn.Module):
    """Stochastic depth (torchvision's StochasticDepth, "row" mode): while training, each sample's
    branch is dropped with probability p and the kept ones scaled by 1/(1 - p); the identity otherwise."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)
''')

exports("flatten", onnx=_flatten_onnx, torch=_torch)
exports("identity", "droppath", onnx=_identity_onnx, torch=_identity_torch)
exports("dropout", onnx=_dropout_onnx, torch=_torch)
exports("zeropad", onnx=_zeropad_onnx, torch=_torch)
exports("upsample", onnx=_upsample_onnx, torch=_torch)
exports("crop", onnx=_crop_onnx, torch=_torch)
