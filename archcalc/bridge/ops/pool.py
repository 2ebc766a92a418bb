"""Pooling: ONNX MaxPool and AveragePool <-> maxpool and avgpool; the global pools, with the
Flatten (or Reshape, or Squeeze) that follows them folded into `keepdims: false`."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports
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


exports("maxpool", "avgpool", onnx=_onnx, torch=_torch)
exports("globalavgpool", "globalmaxpool", onnx=_global_onnx, torch=_global_torch)
