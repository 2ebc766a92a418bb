"""Element-wise activations: Relu, Clip(0, 6), Sigmoid, Tanh, HardSwish, HardSigmoid, LeakyRelu,
PRelu, Gelu, Softmax; and the same functions written as several nodes (SiLU as x·Sigmoid(x), GELU
through Erf or Tanh, hard-swish through Clip, as exporters write them at older opsets), recognised
by what they compute (`formula`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports, pattern
from .common import chan_axis, channel_shape, real

_SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish"}
_TORCH = {"relu": "nn.ReLU", "relu6": "nn.ReLU6", "sigmoid": "nn.Sigmoid", "tanh": "nn.Tanh",
          "hardswish": "nn.Hardswish", "silu": "nn.SiLU", "hardsigmoid": "nn.Hardsigmoid"}


@imports(*_SIMPLE)
def simple(ctx: Context, n: Any) -> None:
    ctx.emit(n, _SIMPLE[n.op_type], {}, inputs=[n.input[0]])


@imports("Clip")
def clip(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    lo, hi = a.get("min"), a.get("max")
    if len(n.input) > 1 and n.input[1]:
        lo = ctx.scalar(n.input[1])
    if len(n.input) > 2 and n.input[2]:
        hi = ctx.scalar(n.input[2])
    if lo is None or hi is None or float(lo) != 0.0 or float(hi) != 6.0:
        raise Unmapped("a Clip other than ReLU6's [0, 6]")
    ctx.emit(n, "relu6", {}, inputs=[n.input[0]])


@imports("HardSigmoid")
def hardsigmoid(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
        raise Unmapped(f"a hard sigmoid of slope {a.get('alpha', 0.2):g} (archcalc's is PyTorch's, relu6(x + 3)/6)")
    ctx.emit(n, "hardsigmoid", {}, inputs=[n.input[0]])


@imports("LeakyRelu")
def leakyrelu(ctx: Context, n: Any) -> None:
    slope = real(ctx.attrs(n).get("alpha", 0.01))
    ctx.emit(n, "leakyrelu", {} if slope == 0.01 else {"slope": slope}, inputs=[n.input[0]])


@imports("PRelu")
def prelu(ctx: Context, n: Any) -> None:
    d = ctx.weight(n.input[1])
    c = ctx.shape(n.input[0])[-1]
    count = math.prod(d)
    if count not in (1, c) or (count > 1 and not _on_channels(ctx, n.input[0], d)):
        raise Unmapped(f"slopes of shape {list(d)} (archcalc's are one, or one per channel)")
    ctx.emit(n, "prelu", {"per_channel": True} if count > 1 else {}, inputs=[n.input[0]], weights=(n.input[1],))


def _on_channels(ctx: Context, x: str, d: tuple[int, ...]) -> bool:
    """Whether a weight of dims `d` broadcasts along the channels of `x` only (C x 1 x 1 on N x C x H x W,
    C on N x L x C)."""
    rank = len(ctx.dims(x))
    big = [i for i, s in enumerate(d) if s != 1]
    return len(big) == 1 and ctx.last_axis(x, rank - len(d) + big[0])


@imports("Gelu")
def gelu(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n).get("approximate", b"none")
    a = a.decode() if isinstance(a, bytes) else a
    ctx.emit(n, "gelu", {"approximate": "tanh"} if a == "tanh" else {}, inputs=[n.input[0]])


@imports("Softmax")
def softmax(ctx: Context, n: Any) -> None:
    d = ctx.dims(n.input[0])
    axis = ctx.attrs(n).get("axis", -1 if ctx.model.opset >= 13 else 1)
    if ctx.model.opset < 13 and axis % len(d) != len(d) - 1:
        raise Unmapped("a softmax over several axes (opset < 13)")
    if not ctx.last_axis(n.input[0], axis):
        raise Unmapped("a softmax over an axis other than the channels (archcalc's softmax is over the last axis)")
    ctx.emit(n, "softmax", {}, inputs=[n.input[0]])


# --- the same functions in several nodes ----------------------------------------------------------

def _erf(np: Any, x: Any) -> Any:
    return np.vectorize(math.erf)(x)


_UNARY: dict[str, Callable[..., Any]] = {
    "Erf": lambda np, x, a: _erf(np, x), "Tanh": lambda np, x, a: np.tanh(x),
    "Sigmoid": lambda np, x, a: 1 / (1 + np.exp(-x)),
    "Sqrt": lambda np, x, a: np.sqrt(x), "Exp": lambda np, x, a: np.exp(x), "Neg": lambda np, x, a: -x,
    "Abs": lambda np, x, a: np.abs(x), "Relu": lambda np, x, a: np.maximum(x, 0),
    "Reciprocal": lambda np, x, a: 1 / x,
    "HardSigmoid": lambda np, x, a: np.clip(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1),
    "HardSwish": lambda np, x, a: x * np.clip(x / 6 + 0.5, 0, 1),
    "LeakyRelu": lambda np, x, a: np.where(x >= 0, x, a.get("alpha", 0.01) * x),
}
_BINARY: dict[str, Callable[..., Any]] = {
    "Add": lambda np, x, y: x + y, "Sub": lambda np, x, y: x - y, "Mul": lambda np, x, y: x * y,
    "Div": lambda np, x, y: x / y, "Pow": lambda np, x, y: np.power(x, y), "Max": lambda np, x, y: np.maximum(x, y),
    "Min": lambda np, x, y: np.minimum(x, y),
}
_FORMULA_OPS = {*_UNARY, *_BINARY, "Clip"}
#: operators that are each one of archcalc's activations: a chain of them only is several layers
_ONE_LAYER = {"Relu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Clip"}
_MOST = 32


def closure(ctx: Context, x: str, extra: Callable[[Any], bool] = lambda n: False) -> list[Any] | None:
    """The element-wise nodes computing a function of `x` alone (other operands: constants holding one
    number), in topological order: grown from `x`'s readers while each node's live inputs are `x` or
    made inside. Nodes for which `extra(node)` holds may join too (normalisation's reductions)."""
    inside = {x}
    nodes: list[Any] = []
    frontier = list(ctx.readers.get(x, []))
    pending: list[Any] = []
    while frontier and len(nodes) < _MOST:
        m = frontier.pop(0)
        if m in nodes or not (m.op_type in _FORMULA_OPS or extra(m)) or m.domain not in ("", "ai.onnx"):
            continue
        ok = all(not t or t in inside or (t not in ctx.live and ctx.scalar(t) is not None) for t in m.input)
        if not ok:
            if any(t and t in ctx.live and t not in inside for t in m.input):
                pending.append(m)  # another operand may be made inside later
            continue
        nodes.append(m)
        inside.update(o for o in m.output if o)
        for o in m.output:
            frontier += ctx.readers.get(o, [])
        frontier += [p for p in pending if p not in frontier]
        pending = []
    order = {id(m): k for k, m in enumerate(ctx.model.nodes)}
    return sorted(nodes, key=lambda m: order[id(m)]) if nodes else None


def exit_of(ctx: Context, nodes: list[Any]) -> str | None:
    """The one tensor made by `nodes` that is read elsewhere (or is a graph output)."""
    ids = {id(m) for m in nodes}
    exits = [o for m in nodes for o in m.output if o and (o in ctx.model.outputs or any(
        id(r) not in ids for r in ctx.readers.get(o, [])))]
    return exits[0] if len(exits) == 1 else None


def run(ctx: Context, nodes: list[Any], x: str, sample: Any, extra: Callable[..., Any] | None = None) -> Any:
    """`nodes` evaluated on `sample` for `x`, in float64 (the output of the last node)."""
    import numpy as np
    vals = {x: sample}
    for m in nodes:
        args = [vals[t] if t in vals else (None if not t else float(ctx.scalar(t))) for t in m.input]
        a = ctx.attrs(m)
        if m.op_type in _UNARY:
            y = _UNARY[m.op_type](np, args[0], a)
        elif m.op_type in _BINARY:
            y = _BINARY[m.op_type](np, args[0], args[1])
        elif m.op_type == "Clip":
            lo = args[1] if len(args) > 1 and args[1] is not None else a.get("min", -np.inf)
            hi = args[2] if len(args) > 2 and args[2] is not None else a.get("max", np.inf)
            y = np.clip(args[0], lo, hi)
        else:
            y = extra(np, m, a, args) if extra is not None else None  # type: ignore[misc]
        vals[m.output[0]] = y
    return vals[nodes[-1].output[0]]


def _catalogue(np: Any, x: Any) -> list[tuple[str, dict[str, Any], Any]]:
    erf = _erf(np, x / math.sqrt(2))
    relu6 = np.clip(x + 3, 0, 6)
    return [
        ("silu", {}, x / (1 + np.exp(-x))),
        ("gelu", {}, 0.5 * x * (1 + erf)),
        ("gelu", {"approximate": "tanh"}, 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
        ("hardswish", {}, x * relu6 / 6),
        ("hardsigmoid", {}, relu6 / 6),
        ("relu6", {}, np.clip(x, 0, 6)),
        ("relu", {}, np.maximum(x, 0)),
        ("sigmoid", {}, 1 / (1 + np.exp(-x))),
        ("tanh", {}, np.tanh(x)),
    ]


@pattern(*_FORMULA_OPS)
def formula(ctx: Context, n: Any) -> bool:
    """Several element-wise nodes that compute one of archcalc's activations of one input, whatever
    their arrangement (x·Sigmoid(x); x·0.5·(1 + Erf(x/√2)); x·Clip(x + 3, 0, 6)/6; ...): evaluated
    on 281 points of [-7, 7] and compared with each activation (within 1e-5)."""
    xs = {t for t in n.input if t in ctx.live}
    if len(xs) != 1:
        return False
    x = xs.pop()
    nodes = closure(ctx, x)
    if nodes is None or len(nodes) < 2 or nodes[0] is not n or all(m.op_type in _ONE_LAYER for m in nodes):
        return False
    y = exit_of(ctx, nodes)
    if y is None or y != nodes[-1].output[0]:
        return False
    import numpy as np
    sample = np.linspace(-7.0, 7.0, 281)
    with np.errstate(all="ignore"):
        got = run(ctx, nodes, x, sample)
    if got is None or np.shape(got) != sample.shape:
        return False
    for kind, fields, want in _catalogue(np, sample):
        if np.all(np.abs(got - want) <= 1e-5 * (1 + np.abs(want))):
            ctx.absorb(*nodes)
            ctx.emit(n, kind, fields, inputs=[x], output=y)
            return True
    slope = -float(got[np.searchsorted(sample, -1.0)])
    if 0 < slope < 1 and np.all(np.abs(got - np.where(sample >= 0, sample, slope * sample)) <= 1e-6 * (1 + abs(
            sample))):
        ctx.absorb(*nodes)
        ctx.emit(n, "leakyrelu", {"slope": real(slope)}, inputs=[x], output=y)
        return True
    return False


def _onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
          ws: dict[str, Any]) -> str:
    x = ins[0]
    if kind.name == "relu6":
        return b.node("Clip", [x, b.const("min", 0.0), b.const("max", 6.0)])
    if kind.name == "softmax":
        return b.node("Softmax", [x], axis=chan_axis(shapes[0]))
    if kind.name == "silu":  # as PyTorch exports nn.SiLU
        return b.node("Mul", [x, b.node("Sigmoid", [x])])
    if kind.name == "gelu":  # opset 17 has no Gelu: PyTorch's decompositions, which import back as gelu
        if kind.approximate == "tanh":
            cube = b.node("Mul", [x, b.node("Mul", [x, x])])
            inner = b.node("Add", [x, b.node("Mul", [b.const("c", 0.044715), cube])])
            t = b.node("Tanh", [b.node("Mul", [b.const("k", math.sqrt(2 / math.pi)), inner])])
            return b.node("Mul", [b.const("half", 0.5), b.node("Mul", [x, b.node("Add", [b.const("one", 1.0), t])])])
        e = b.node("Erf", [b.node("Div", [x, b.const("sqrt2", math.sqrt(2))])])
        return b.node("Mul", [b.node("Mul", [x, b.node("Add", [e, b.const("one", 1.0)])]), b.const("half", 0.5)])
    if kind.name == "hardsigmoid":
        return b.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)
    if kind.name == "leakyrelu":
        return b.node("LeakyRelu", [x], alpha=float(kind.slope))
    if kind.name == "prelu":
        slope = ws["slope"]
        if slope.shape[0] > 1:
            slope = slope.reshape(channel_shape(shapes[0], slope.shape[0]))
        return b.node("PRelu", [x, b.init("weight", slope)])
    op = {v: k for k, v in _SIMPLE.items()}[kind.name]
    return b.node(op, [x])


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "softmax":
        return TorchLayer("nn.Softmax", {"dim": chan_axis(shapes[0])})
    if kind.name == "gelu":
        return TorchLayer("nn.GELU", {"approximate": repr("tanh")} if kind.approximate == "tanh" else {})
    if kind.name == "leakyrelu":
        return TorchLayer("nn.LeakyReLU", {"negative_slope": float(kind.slope)})
    if kind.name == "prelu":  # nn.PReLU's channels are dim 1: a sequence's are its last
        c = shapes[0][-1] if kind.per_channel else 1
        return TorchLayer("nn.PReLU", {"num_parameters": c} if c > 1 else {}, weights={"slope": "weight"},
                          apply="{m}({x}.transpose(1, 2)).transpose(1, 2)" if len(shapes[0]) == 2 and c > 1 else "")
    return TorchLayer(_TORCH[kind.name], {})


def _prelu_nchw(kind: Any, ws: dict[str, Any], ins: list[Any], perm: Any) -> dict[str, Any]:
    s = ws["slope"]
    return {"slope": s if perm is None or s.shape[0] == 1 else s[perm]}


exports("relu", "relu6", "sigmoid", "tanh", "hardswish", "softmax", "silu", "gelu", "hardsigmoid", "leakyrelu",
        onnx=_onnx, torch=_torch)
exports("prelu", onnx=_onnx, torch=_torch, nchw=_prelu_nchw)
