"""Fully connected: ONNX Gemm, and MatMul by a weight (with a following bias Add) <-> dense."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports


@imports("Gemm")
def gemm(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    if a.get("transA", 0):
        raise Unmapped("transA=1: the input is transposed")
    if len(ctx.dims(n.input[0])) != 2:
        raise Unmapped("its input is not N x n")
    wd = ctx.weight(n.input[1], 2)
    units = wd[0] if a.get("transB", 0) else wd[1]
    bias = len(n.input) > 2 and bool(n.input[2])
    if bias:
        bd = ctx.weight(n.input[2])
        if bd not in ((units,), (1, units)):
            raise Unmapped(f"its bias has shape {list(bd)}, not [{units}]")
    if a.get("alpha", 1.0) != 1.0 or (bias and a.get("beta", 1.0) != 1.0):
        ctx.notes.append(f"Gemm '{n.name}': alpha/beta scaling ignored (it costs no MACs)")
    fields: dict[str, Any] = {"units": units}
    if not bias:
        fields["bias"] = False
    ctx.emit(n, "dense", fields, inputs=[n.input[0]], weights=(n.input[1], n.input[2] if bias else ""))


@imports("MatMul")
def matmul(ctx: Context, n: Any) -> None:
    if n.input[1] in ctx.live:
        raise Unmapped("a product of two activations (the `matmul` kind is not there yet)")
    if len(ctx.dims(n.input[0])) != 2:
        raise Unmapped("a weight product on an input of rank > 2 (linear on any rank is not there yet)")
    k, units = ctx.weight(n.input[1], 2)
    nxt = ctx.only_reader(n.output[0])
    bias = ""
    if nxt is not None and nxt.op_type == "Add":
        other = [x for x in nxt.input if x != n.output[0]]
        t = ctx.model.inits.get(other[0]) if len(other) == 1 else None
        if t is not None and tuple(t.dims) in ((units,), (1, units)):
            bias = other[0]
            ctx.weight(bias)
            ctx.absorb(nxt)
    fields: dict[str, Any] = {"units": units}
    if not bias:
        fields["bias"] = False
    ctx.emit(n, "dense", fields, inputs=[n.input[0]], output=nxt.output[0] if bias else None,
             weights=(n.input[1], bias))


def _nchw(kind: Any, ws: dict[str, Any], ins: list[tuple[int, ...]], perm: Any) -> dict[str, Any]:
    """kernel (n_in, n_out) -> (n_out, n_in), rows reordered when the input vector is a flattened
    C x H x W (PyTorch's and ONNX's order) rather than archcalc's H x W x C."""
    k = ws["kernel"] if perm is None else ws["kernel"][perm]
    out = {"kernel": k.T.copy()}
    if "bias" in ws:
        out["bias"] = ws["bias"]
    return out


def _onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
          ws: dict[str, Any]) -> str:
    inputs = [ins[0], b.init("weight", ws["kernel"])]
    if "bias" in ws:
        inputs.append(b.init("bias", ws["bias"]))
    return b.node("Gemm", inputs, transB=1)


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    args: dict[str, Any] = {"in_features": shapes[0][0], "out_features": out[0]}
    if not kind.bias:
        args["bias"] = False
    return TorchLayer("nn.Linear", args, weights={"kernel": "weight", "bias": "bias"})


exports("dense", onnx=_onnx, torch=_torch, nchw=_nchw)
