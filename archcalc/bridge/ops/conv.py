"""Convolutions: ONNX Conv <-> conv and depthwise (a Conv whose groups equal its input channels)."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports
from .common import onnx_pads, pads_of, pair, torch_padding, window_attrs


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


exports("conv", "depthwise", onnx=_onnx, torch=_torch, nchw=_nchw)
