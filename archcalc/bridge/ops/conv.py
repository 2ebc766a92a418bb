"""Convolutions: ONNX Conv <-> conv and depthwise (a Conv whose groups equal its input channels),
ConvTranspose <-> convtranspose."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports
from .common import onnx_pads, pads_of, pair, spec_padding, torch_padding, window_attrs


@imports("Conv")
def conv(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    d_in = ctx.dims(n.input[0])
    if len(d_in) != 4:
        raise Unmapped("only 2-D convolutions (N x C x H x W)")
    m, cg, kh, kw = ctx.weight(n.input[1], 4)
    s, d = window_attrs(a, (kh, kw))
    h, w, c = ctx.hwc(n.input[0])
    bias = len(n.input) > 2 and bool(n.input[2])
    if bias:
        ctx.weight(n.input[2])
        if n.input[2].startswith("onnx::Conv_"):  # a bias PyTorch's exporter made by folding a BatchNorm
            ctx.folded_bn += 1
    g = a.get("group", 1)
    fields: dict[str, Any] = {}
    depthwise = g > 1 and g == c and cg == 1
    if not depthwise:
        fields["filters"] = m
    fields["kernel"] = pair((kh, kw))
    if s != (1, 1):
        fields["stride"] = pair(s)
    p = onnx_pads(a, (h, w), (kh, kw), s, d)
    if p is not None:
        fields["padding"] = p
    if d != (1, 1):
        fields["dilation"] = pair(d)
    if depthwise:
        if m != c:
            fields["multiplier"] = m // c
    elif g != 1:
        fields["groups"] = g
    if not bias:
        fields["bias"] = False
    ctx.emit(n, "depthwise" if depthwise else "conv", fields, inputs=[n.input[0]],
             weights=(n.input[1], n.input[2] if bias else ""))


@imports("ConvTranspose")
def conv_transpose(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    h, w, c = ctx.hwc(n.input[0])
    cin, fg, kh, kw = ctx.weight(n.input[1], 4)
    s, d = window_attrs(a, (kh, kw))
    g = a.get("group", 1)
    _, f, ho, wo = ctx.dims(n.output[0])
    bias = len(n.input) > 2 and bool(n.input[2])
    if bias:
        ctx.weight(n.input[2])
    fields: dict[str, Any] = {"filters": fg * g, "kernel": pair((kh, kw))}
    if s != (1, 1):
        fields["stride"] = pair(s)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER") and (ho, wo) == (h * s[0], w * s[1]):
        fields["padding"] = "same"
    else:
        op = list(a.get("output_padding", [0, 0]))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if "output_shape" in a or auto in ("SAME_UPPER", "SAME_LOWER"):  # the crop that gives the output's size
            full = [(n_ - 1) * st + dl * (k - 1) + 1 + o for n_, st, dl, k, o in zip((h, w), s, d, (kh, kw), op,
                                                                                     strict=True)]
            crop = [full[0] - ho, full[1] - wo]
            if min(crop) < 0:
                raise Unmapped(f"an output of {ho} x {wo}, larger than the transposed convolution gives")
            pads = [crop[0] // 2, crop[1] // 2, crop[0] - crop[0] // 2, crop[1] - crop[1] // 2]
        t, l, b, r = pads
        p = spec_padding(t, b, l, r)
        if p is not None:
            fields["padding"] = p
        if tuple(op) != (0, 0):
            fields["output_padding"] = pair(op)
    if d != (1, 1):
        fields["dilation"] = pair(d)
    if g != 1:
        fields["groups"] = g
    if not bias:
        fields["bias"] = False
    if cin != c:
        raise Unmapped(f"its weight takes {cin} channels, its input has {c}")
    out = _cropped(ctx, n, fields, (h, w), s, d, (kh, kw))
    ctx.emit(n, "convtranspose", fields, inputs=[n.input[0]], output=out,
             weights=(n.input[1], n.input[2] if bias else ""))


def _cropped(ctx: Context, n: Any, fields: dict[str, Any], hw: tuple[int, int], s: tuple[int, int],
             d: tuple[int, int], k: tuple[int, int]) -> str:
    """A crop of H and W right after the transposed convolution (`conv(x)[:, :, t:H - b, l:W - r]`, the
    asymmetric padding PyTorch's ConvTranspose2d cannot take) is more of its `padding`."""
    from .channel import slice_bounds
    y = n.output[0]
    nxt = ctx.only_reader(y)
    if nxt is None or nxt.op_type != "Slice" or fields.get("padding") == "same" or "output_padding" in fields:
        return y
    crop = [0, 0, 0, 0]
    nodes = []
    while nxt is not None and nxt.op_type == "Slice":
        b = slice_bounds(ctx, nxt)
        dims = ctx.dims(nxt.input[0])
        if b is None or any((st, en, sp) != (0, dims[ax], 1) and (ax not in (2, 3) or sp != 1) for ax, st, en, sp in b):
            break
        for ax, st, en, _ in b:
            if ax in (2, 3):
                crop[2 * (ax - 2)] += st
                crop[2 * (ax - 2) + 1] += dims[ax] - en  # type: ignore[operator]
        nodes.append(nxt)
        y = nxt.output[0]
        nxt = ctx.only_reader(y)
    if not nodes:
        return y
    p = fields.get("padding", 0)
    t, b_, l, r = (p,) * 4 if isinstance(p, int) else (p[0], p[0], p[1], p[1]) if len(p) == 2 else p
    p = spec_padding(t + crop[0], b_ + crop[1], l + crop[2], r + crop[3])
    fields.pop("padding", None)
    if p is not None:
        fields["padding"] = p
    ctx.absorb(*nodes)
    return y


def _nchw(kind: Any, ws: dict[str, Any], ins: list[tuple[int, ...]], perm: Any) -> dict[str, Any]:
    """kernel (f_h, f_w, n_c/g, n_c') -> (n_c', n_c/g, f_h, f_w); depthwise (f_h, f_w, C·m) -> (C·m, 1, f_h, f_w)."""
    k = ws["kernel"]
    out = {"kernel": k.transpose(3, 2, 0, 1) if k.ndim == 4 else k.transpose(2, 0, 1)[:, None]}
    if "bias" in ws:
        out["bias"] = ws["bias"]
    return out


def _onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
          ws: dict[str, Any]) -> str:
    k, s, d = kind.kernel, kind.stride, kind.dilation
    t, bo, l, r = pads_of(kind, shapes[0], k, s, d)
    groups = shapes[0][2] if kind.name == "depthwise" else kind.groups
    inputs = [ins[0], b.init("weight", ws["kernel"])]
    if "bias" in ws:
        inputs.append(b.init("bias", ws["bias"]))
    pads: dict[str, Any] = {"auto_pad": "SAME_UPPER"} if kind.padding == "same" else {"pads": [t, l, bo, r]}
    return b.node("Conv", inputs, kernel_shape=list(k), strides=list(s), dilations=list(d), group=groups, **pads)


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    k, s, d = kind.kernel, kind.stride, kind.dilation
    padding, pad = torch_padding(*pads_of(kind, shapes[0], k, s, d))
    c = shapes[0][2]
    args: dict[str, Any] = {"in_channels": c, "out_channels": out[2], "kernel_size": pair(k)}
    groups = c if kind.name == "depthwise" else kind.groups
    for key, v, default in (("stride", pair(s), 1), ("padding", padding, 0), ("dilation", pair(d), 1),
                            ("groups", groups, 1), ("bias", kind.bias, True)):
        if v != default:
            args[key] = v
    return TorchLayer("nn.Conv2d", args, weights={"kernel": "weight", "bias": "bias"}, pad=pad)


def _transposed(kind: Any, shape: tuple[int, ...]) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """((top, bottom, left, right) crop, (rows, columns) added at the end) of a convtranspose."""
    from ...kinds.conv import transposed_crop
    crop, extra = transposed_crop(kind.padding, shape[0], shape[1], kind.kernel, kind.stride, kind.dilation)
    op = kind.output_padding
    return crop, (extra[0] or op[0], extra[1] or op[1])


def _t_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
            ws: dict[str, Any]) -> str:
    (t, bo, l, r), extra = _transposed(kind, shapes[0])
    inputs = [ins[0], b.init("weight", ws["kernel"])]
    if "bias" in ws:
        inputs.append(b.init("bias", ws["bias"]))
    return b.node("ConvTranspose", inputs, kernel_shape=list(kind.kernel), strides=list(kind.stride),
                  dilations=list(kind.dilation), group=kind.groups, pads=[t, l, bo, r], output_padding=list(extra))


def _t_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    """nn.ConvTranspose2d crops p on both sides; another crop (TensorFlow's `same`) is a slice after it."""
    (t, bo, l, r), extra = _transposed(kind, shapes[0])
    symmetric = t == bo and l == r
    args: dict[str, Any] = {"in_channels": shapes[0][2], "out_channels": out[2], "kernel_size": pair(kind.kernel)}
    for key, v, default in (("stride", pair(kind.stride), 1), ("padding", pair((t, l)) if symmetric else 0, 0),
                            ("output_padding", pair(extra), 0), ("groups", kind.groups, 1),
                            ("bias", kind.bias, True), ("dilation", pair(kind.dilation), 1)):
        if v != default:
            args[key] = v
    apply = "" if symmetric else f"{{m}}({{x}})[:, :, {t}:{t + out[0]}, {l}:{l + out[1]}]"
    return TorchLayer("nn.ConvTranspose2d", args, weights={"kernel": "weight", "bias": "bias"}, apply=apply)


exports("conv", "depthwise", onnx=_onnx, torch=_torch, nchw=_nchw)
exports("convtranspose", onnx=_t_onnx, torch=_t_torch, nchw=_nchw)
