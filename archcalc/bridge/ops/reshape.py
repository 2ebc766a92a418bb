"""Layers that move values: Flatten and Reshape to N x n <-> flatten, Pad <-> zeropad, crop -> Slice,
Resize and Upsample <-> upsample, Dropout <-> dropout, Identity (no layer)."""

from __future__ import annotations

import math
from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports
from .common import pads_of, pair
from .norm import real


@imports("Flatten", "Reshape")
def flatten(ctx: Context, n: Any) -> None:
    d_in, d_out = ctx.dims(n.input[0]), ctx.dims(n.output[0])
    if n.op_type == "Flatten" and ctx.attrs(n).get("axis", 1) != 1:
        raise Unmapped("a Flatten keeping more than the batch axis")
    if len(d_out) != 2 or len(d_in) not in (2, 4) or d_out[1] != math.prod(d_in[1:]):  # type: ignore[arg-type]
        raise Unmapped(f"a reshape of {list(d_in)} to {list(d_out)} (token shapes are not there yet)")
    if len(d_in) == 2:
        ctx.alias(n.output[0], n.input[0])
        return
    ctx.emit(n, "flatten", {}, inputs=[n.input[0]])


@imports("Identity")
def identity(ctx: Context, n: Any) -> None:
    ctx.alias(n.output[0], n.input[0])


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
    if mode != "constant" or pads is None or value is None or float(value) != 0.0:
        raise Unmapped(f"{mode} padding" if mode != "constant" else "padding by a value other than 0")
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
    ho, wo, co = ctx.hwc(n.output[0])
    if co != c or ho % h or wo % w:
        raise Unmapped(f"a resize from {h} x {w} to {ho} x {wo} by a factor that is not whole")
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    coord = a.get("coordinate_transformation_mode", b"half_pixel")
    coord = coord.decode() if isinstance(coord, bytes) else coord
    if mode == "nearest":
        kind_mode = "nearest"
    elif mode in ("linear", "bilinear") and coord in ("half_pixel", "pytorch_half_pixel") or n.op_type == "Upsample":
        kind_mode = "bilinear"
    else:
        raise Unmapped(f"{mode} resizing with {coord} coordinates")
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
                            else tuple(float(s) for s in kind.scale), "mode": kind.mode}
    if kind.mode == "bilinear":
        args["align_corners"] = False
    return TorchLayer("nn.Upsample", args)


exports("flatten", onnx=_flatten_onnx, torch=_torch)
exports("dropout", onnx=_dropout_onnx, torch=_torch)
exports("zeropad", onnx=_zeropad_onnx, torch=_torch)
exports("upsample", onnx=_upsample_onnx, torch=_torch)
exports("crop", onnx=_crop_onnx, torch=_torch)
