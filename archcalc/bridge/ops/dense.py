"""Fully connected: ONNX Gemm <-> dense (on N x n), MatMul by a weight (with the bias Add after it)
<-> linear (on the last axis of any shape); a MatMul of two activations is `matmul` (attention.py)."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports
from .common import from_last, to_last, torch_last


@imports("Gemm")
def gemm(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    if a.get("transA", 0):
        raise Unmapped("transA=1: the input is transposed")
    if len(ctx.shape(n.input[0])) != 1 or len(ctx.dims(n.input[0])) != 2:
        raise Unmapped("its input is not a flat N x n vector")
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
    """By a weight: `linear` on the last axis (N x n, N x L x C, N x H x W x C), with the Add of a bias
    after it. Of two activations: `matmul` (attention.py)."""
    if n.input[1] in ctx.live:
        from .attention import activation_product
        activation_product(ctx, n)
        return
    x = n.input[0]
    if not ctx.last_axis(x):
        raise Unmapped("a product by a weight over an axis other than the channels")
    k, units = ctx.weight(n.input[1], 2)
    bias, out = _bias(ctx, n.output[0], units)
    fields: dict[str, Any] = {"units": units}
    if not bias:
        fields["bias"] = False
    ctx.emit(n, "linear", fields, inputs=[x], output=out, weights=(n.input[1], bias))


def _bias(ctx: Context, y: str, units: int) -> tuple[str, str]:
    """(the bias initializer, the tensor after its Add) when `y` is read by an Add of `units` values only."""
    nxt = ctx.only_reader(y)
    if nxt is not None and nxt.op_type == "Add":
        other = [t for t in nxt.input if t != y]
        t = ctx.init(other[0]) if len(other) == 1 else None
        if t is not None and tuple(t.dims) in ((units,), (1, units)):
            ctx.weight(other[0])
            ctx.absorb(nxt)
            return other[0], nxt.output[0]
    return "", y


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


def _linear_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                 ws: dict[str, Any]) -> str:
    """MatMul by the weight (and Add of the bias) on the last axis, as PyTorch exports nn.Linear on
    N x L x C: a MatMul imports as `linear`, a Gemm as `dense`."""
    y = b.node("MatMul", [to_last(b, ins[0], shapes[0]), b.init("weight", ws["kernel"].T)])
    if "bias" in ws:
        y = b.node("Add", [y, b.init("bias", ws["bias"])])
    return from_last(b, y, shapes[0])


def _linear_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    tl = _torch(kind, [(shapes[0][-1],)], (out[-1],))
    return TorchLayer(tl.ctor, tl.args, weights=tl.weights, apply=torch_last(shapes[0]))


exports("dense", onnx=_onnx, torch=_torch, nchw=_nchw)
exports("linear", onnx=_linear_onnx, torch=_linear_torch, nchw=_nchw)
