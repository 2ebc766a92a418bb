"""Normalisation: ONNX BatchNormalization <-> batchnorm, LRN <-> lrn, LayerNormalization (and its
decomposed form) <-> layernorm, GroupNormalization (and PyTorch's InstanceNormalization form) <->
groupnorm, a Mul by a per-channel weight <-> scale."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from .. import ExportError
from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports, pattern, torch_helper
from .common import channel_shape, from_last, nchw_channels, real, to_last, torch_last


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


def _eps(x: float, fields: dict[str, Any]) -> dict[str, Any]:
    eps = real(x)
    if Fraction(eps).limit_denominator(10**9) != Fraction(1, 100000):
        fields["eps"] = eps
    return fields


@imports("LayerNormalization")
def layernorm(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    x = n.input[0]
    rank = len(ctx.dims(x))
    if a.get("axis", -1) % rank != rank - 1 or not ctx.last_axis(x):
        raise Unmapped("a layer norm over more than the channels of each position (archcalc's is over the last axis)")
    if len([o for o in n.output if o]) > 1:
        raise Unmapped("with its mean and variance as outputs")
    scale = ctx.init(n.input[1])
    bias = ctx.init(n.input[2]) if len(n.input) > 2 and n.input[2] else None
    fields = _eps(a.get("epsilon", 1e-5), {})
    if scale is None:  # a constant scale (ones): no learned parameters
        if bias is not None:
            raise Unmapped("a learned bias without a learned scale")
        fields["affine"] = False
    elif bias is None:
        fields["bias"] = False
    ctx.emit(n, "layernorm", fields, inputs=[x], weights=tuple(
        t for t, w in ((n.input[1], scale), (n.input[2] if len(n.input) > 2 else "", bias)) if w is not None))


@imports("GroupNormalization")
def groupnorm(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    x = n.input[0]
    c = ctx.hwc(x)[-1]
    g = a.get("num_groups", 1)
    sd, bd = ctx.weight(n.input[1]), ctx.weight(n.input[2])
    if sd != (c,) or bd != (c,):
        raise Unmapped(f"a scale of shape {list(sd)} (GroupNormalization-18's one per group; archcalc's, as "
                       "opset 21's, is one per channel)")
    ctx.emit(n, "groupnorm", _eps(a.get("epsilon", 1e-5), {"groups": g}), inputs=[x], weights=tuple(n.input[1:3]))


@imports("InstanceNormalization")
def instancenorm(ctx: Context, n: Any) -> None:
    """Instance normalisation: a groupnorm with a group per channel."""
    c = ctx.hwc(n.input[0])[-1]
    learned = ctx.init(n.input[1]) is not None
    if learned:
        for w in n.input[1:3]:
            if ctx.weight(w) != (c,):
                raise Unmapped(f"its parameter '{w}' is not of length {c}")
    fields = _eps(ctx.attrs(n).get("epsilon", 1e-5), {"groups": c})
    if not learned:
        fields["affine"] = False
    ctx.emit(n, "groupnorm", fields, inputs=[n.input[0]], weights=tuple(n.input[1:3]) if learned else ())


@pattern("Reshape")
def groupnorm_pattern(ctx: Context, n: Any) -> bool:
    """nn.GroupNorm as PyTorch exports it before opset 18: the groups as instances (Reshape to
    N x G x -1), InstanceNormalization with constant ones and zeros, Reshape back, then Mul by gamma
    and Add of beta, one per channel."""
    import numpy as np
    x = n.input[0]
    d, r = ctx.dims(x), ctx.dims(n.output[0])
    inst = ctx.only_reader(n.output[0])
    if x not in ctx.vals or len(r) != 3 or r[0] != d[0] or inst is None or inst.op_type != "InstanceNormalization":
        return False
    g = r[1]
    ones, zeros = ctx.const(inst.input[1]), ctx.const(inst.input[2])
    if ones is None or zeros is None or not np.all(ones == 1) or np.any(zeros) or ones.size != g:
        return False
    back = ctx.only_reader(inst.output[0])
    if back is None or back.op_type != "Reshape" or ctx.dims(back.output[0]) != d:
        return False
    try:
        c = ctx.hwc(x)[-1]
    except Unmapped:
        return False
    nodes, y, weights = [inst, back], back.output[0], []
    for op, neutral in (("Mul", 1.0), ("Add", 0.0)):
        m = ctx.only_reader(y)
        other = [t for t in m.input if t != y] if m is not None and m.op_type == op else []
        w = ctx.init(other[0]) if len(other) == 1 else None
        if w is None and other and ctx.scalar(other[0]) == neutral:  # without affine: x·1 + 0, as torch writes it
            nodes.append(m)
            y = m.output[0]
            continue
        if w is None or math.prod(w.dims) != c:
            break
        nodes.append(m)
        weights.append(other[0])
        y = m.output[0]
    if len(weights) == 1:  # gamma without beta: not archcalc's groupnorm
        nodes, weights, y = nodes[:2], [], back.output[0]
    fields = _eps(ctx.attrs(inst).get("epsilon", 1e-5), {"groups": g})
    if not weights:
        fields["affine"] = False
    ctx.absorb(*nodes)
    ctx.emit(n, "groupnorm", fields, inputs=[x], output=y, weights=tuple(weights))
    return True


def _reduce_last(ctx: Context) -> Any:
    def ok(m: Any) -> bool:
        if m.op_type != "ReduceMean" or not m.input[0] or m.input[0] not in ctx.model.shapes:
            return False
        a = ctx.attrs(m)
        axes = a.get("axes")
        if axes is None and len(m.input) > 1:
            c = ctx.const(m.input[1])
            axes = None if c is None else c.reshape(-1).tolist()
        rank = len(ctx.dims(m.input[0]))
        return axes is not None and [int(v) % rank for v in axes] == [rank - 1] and a.get("keepdims", 1) == 1
    return ok


@pattern("ReduceMean")
def layernorm_pattern(ctx: Context, n: Any) -> bool:
    """nn.LayerNorm as PyTorch exports it before opset 17: mean, subtract, square, mean, add eps,
    square root, divide (in any arrangement that computes it), then Mul by gamma, Add of beta."""
    import numpy as np

    from .activation import closure, exit_of, run
    x = n.input[0]
    if x not in ctx.vals or not ctx.last_axis(x):
        return False
    nodes = closure(ctx, x, _reduce_last(ctx))
    if nodes is None or nodes[0] is not n:
        return False
    y = exit_of(ctx, nodes)
    if y is None or y != nodes[-1].output[0]:
        return False
    c = ctx.dims(x)[-1]
    sample = np.random.default_rng(0).standard_normal((4, int(c))) * np.array([[1.0], [3.0], [0.2], [10.0]])
    eps = [v for m in nodes if m.op_type == "Add" for t in m.input if (v := ctx.scalar(t)) is not None and 0 < v < 0.1]
    if len(eps) != 1:
        return False
    with np.errstate(all="ignore"):
        got = run(ctx, nodes, x, sample, extra=lambda np_, m, a, args: np_.mean(args[0], axis=-1, keepdims=True))
    mu = sample.mean(axis=-1, keepdims=True)
    want = (sample - mu) / np.sqrt(((sample - mu) ** 2).mean(axis=-1, keepdims=True) + eps[0])
    if got is None or np.shape(got) != want.shape or not np.allclose(got, want, rtol=1e-6, atol=1e-6):
        return False
    weights = []
    for op in ("Mul", "Add"):
        m = ctx.only_reader(y)
        other = [t for t in m.input if t != y] if m is not None and m.op_type == op else []
        w = ctx.init(other[0]) if len(other) == 1 else None
        if w is None or tuple(w.dims) != (c,):
            break
        nodes.append(m)
        weights.append(other[0])
        y = m.output[0]
    fields = _eps(eps[0], {})
    if not weights:
        fields["affine"] = False
    elif len(weights) == 1:
        fields["bias"] = False
    ctx.absorb(*nodes)
    ctx.emit(n, "layernorm", fields, inputs=[x], output=y, weights=tuple(weights))
    return True


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


# --- layernorm, groupnorm, scale ----------------------------------------------------------------

def _per_channel_nchw(kind: Any, ws: dict[str, Any], ins: list[Any], perm: Any) -> dict[str, Any]:
    """Per-channel weights (C,): on a vector flattened channels first, in that order."""
    if perm is not None and kind.name == "groupnorm" and kind.groups > 1:
        raise ExportError("a groupnorm of a vector flattened from a map: its groups are runs of archcalc's "
                          "H, W, C order, which ONNX and PyTorch (C, H, W) do not keep",
                          hint="normalise before flattening, or use groups: 1")
    return {k: (v if perm is None else v[perm]) for k, v in ws.items()}


def _ln_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
             ws: dict[str, Any]) -> str:
    import numpy as np
    c = shapes[0][-1]
    scale = b.init("weight", ws["gamma"]) if "gamma" in ws else b.const("ones", np.ones(c, np.float32))
    args = [to_last(b, ins[0], shapes[0]), scale, *([b.init("bias", ws["beta"])] if "beta" in ws else [])]
    y = b.node("LayerNormalization", args, axis=-1, epsilon=float(kind.eps))
    return from_last(b, y, shapes[0])


def _ln_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    args: dict[str, Any] = {"normalized_shape": shapes[0][-1]}
    if kind.eps != Fraction(1, 100000):
        args["eps"] = float(kind.eps)
    if not kind.affine:
        args["elementwise_affine"] = False
    elif not kind.bias:
        args["bias"] = False
    return TorchLayer("nn.LayerNorm", args, apply=torch_last(shapes[0]))


def _gn_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
             ws: dict[str, Any]) -> str:
    """PyTorch's export of nn.GroupNorm at opset 17 (GroupNormalization came in 18, and changed in 21):
    groups as instances, InstanceNormalization without affine, then gamma and beta per channel."""
    import numpy as np

    from .common import onnx_dims
    g, s = kind.groups, shapes[0]
    y = b.node("Reshape", [ins[0], b.const("groups", [0, g, -1])])
    y = b.node("InstanceNormalization", [y, b.const("ones", np.ones(g, np.float32)),
                                         b.const("zeros", np.zeros(g, np.float32))], epsilon=float(kind.eps))
    y = b.node("Reshape", [y, b.const("shape", [0, *onnx_dims(s, 1)[1:]])])
    if "gamma" in ws:
        y = b.node("Mul", [y, b.init("weight", nchw_channels(ws["gamma"], s))])
        y = b.node("Add", [y, b.init("bias", nchw_channels(ws["beta"], s))])
    return y


def _gn_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    args: dict[str, Any] = {"num_groups": kind.groups, "num_channels": shapes[0][-1]}
    if kind.eps != Fraction(1, 100000):
        args["eps"] = float(kind.eps)
    if not kind.affine:
        args["affine"] = False
    return TorchLayer("nn.GroupNorm", args)


def _scale_nchw(kind: Any, ws: dict[str, Any], ins: list[Any], perm: Any) -> dict[str, Any]:
    g = ws["gamma"] if perm is None else ws["gamma"][perm]
    return {"gamma": nchw_channels(g, ins[0])}


def _scale_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                ws: dict[str, Any]) -> str:
    return b.node("Mul", [ins[0], b.init("gamma", ws["gamma"])])


def _scale_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    return TorchLayer("Scale", {"shape": channel_shape(shapes[0], shapes[0][-1])}, helpers=("Scale",))


torch_helper("Scale", '''
class Scale(nn.Module):
    """A learned scale per channel (layer scale): gamma broadcast over the positions."""

    def __init__(self, shape):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(shape))

    def forward(self, x):
        return x * self.gamma
''')

exports("layernorm", onnx=_ln_onnx, torch=_ln_torch, nchw=_per_channel_nchw)
exports("groupnorm", onnx=_gn_onnx, torch=_gn_torch, nchw=_per_channel_nchw)
exports("scale", onnx=_scale_onnx, torch=_scale_torch, nchw=_scale_nchw)
