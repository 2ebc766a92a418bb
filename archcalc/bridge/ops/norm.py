"""Normalisation: ONNX BatchNormalization <-> batchnorm, LRN <-> lrn."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports


def real(x: float) -> Any:
    """A float32 attribute as the number its author wrote (1e-05, not 9.99999974738e-06)."""
    v = float(f"{x:.6g}")
    return int(v) if v == int(v) and abs(v) < 2**53 else v


@imports("BatchNormalization")
def batchnorm(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    if a.get("training_mode", 0) or len([o for o in n.output if o]) > 1:
        raise Unmapped("in training mode")
    c = ctx.hwc(n.input[0])[-1]
    for w in n.input[1:5]:
        if ctx.weight(w) not in ((c,),):
            raise Unmapped(f"its parameter '{w}' is not of length {c}")
    eps = real(a.get("epsilon", 1e-5))
    fields = {} if Fraction(eps).limit_denominator(10**9) == Fraction(1, 100000) else {"eps": eps}
    ctx.emit(n, "batchnorm", fields, inputs=[n.input[0]], weights=tuple(n.input[1:5]))


@imports("LRN")
def lrn(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    ctx.hwc(n.input[0])
    fields = {"size": a["size"], "alpha": real(a.get("alpha", 1e-4)), "beta": real(a.get("beta", 0.75)),
              "k": real(a.get("bias", 1.0))}
    ctx.emit(n, "lrn", fields, inputs=[n.input[0]])


def _bn_nchw(kind: Any, ws: dict[str, Any], ins: list[Any], perm: Any) -> dict[str, Any]:
    return {k: (v if perm is None else v[perm]) for k, v in ws.items()}


def _bn_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
             ws: dict[str, Any]) -> str:
    names = [b.init(k, ws[w]) for k, w in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "mean"),
                                           ("running_var", "var"))]
    return b.node("BatchNormalization", [ins[0], *names], epsilon=float(kind.eps))


def _bn_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    args: dict[str, Any] = {"num_features": shapes[0][-1]}
    if kind.eps != Fraction(1, 100000):
        args["eps"] = float(kind.eps)
    return TorchLayer("nn.BatchNorm2d" if len(shapes[0]) == 3 else "nn.BatchNorm1d", args,
                      weights={"gamma": "weight", "beta": "bias", "mean": "running_mean", "var": "running_var"})


def _lrn_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
              ws: dict[str, Any]) -> str:
    return b.node("LRN", [ins[0]], size=kind.size, alpha=float(kind.alpha), beta=float(kind.beta),
                  bias=float(kind.k))


def _lrn_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    return TorchLayer("nn.LocalResponseNorm", {"size": kind.size, "alpha": float(kind.alpha),
                                               "beta": float(kind.beta), "k": float(kind.k)})


exports("batchnorm", onnx=_bn_onnx, torch=_bn_torch, nchw=_bn_nchw)
exports("lrn", onnx=_lrn_onnx, torch=_lrn_torch)
