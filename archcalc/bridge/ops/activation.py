"""Element-wise activations: Relu, Clip(0, 6), Sigmoid, Tanh, HardSwish, Softmax."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports

_SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish"}
_TORCH = {"relu": "nn.ReLU", "relu6": "nn.ReLU6", "sigmoid": "nn.Sigmoid", "tanh": "nn.Tanh",
          "hardswish": "nn.Hardswish"}


@imports(*_SIMPLE)
def simple(ctx: Context, n: Any) -> None:
    ctx.emit(n, _SIMPLE[n.op_type], {}, inputs=[n.input[0]])


@imports("Clip")
def clip(ctx: Context, n: Any) -> None:
    a = ctx.attrs(n)
    lo, hi = a.get("min"), a.get("max")
    if len(n.input) > 1 and n.input[1]:
        lo = ctx.const(n.input[1])
    if len(n.input) > 2 and n.input[2]:
        hi = ctx.const(n.input[2])
    if lo is None or hi is None or float(lo) != 0.0 or float(hi) != 6.0:
        raise Unmapped("a Clip other than ReLU6's [0, 6]")
    ctx.emit(n, "relu6", {}, inputs=[n.input[0]])


@imports("Softmax")
def softmax(ctx: Context, n: Any) -> None:
    d = ctx.dims(n.input[0])
    axis = ctx.attrs(n).get("axis", -1 if ctx.model.opset >= 13 else 1)
    if len(d) != 2 or axis not in (1, -1):
        raise Unmapped("a softmax other than over a flat N x n vector")
    ctx.emit(n, "softmax", {}, inputs=[n.input[0]])


def _onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
          ws: dict[str, Any]) -> str:
    if kind.name == "relu6":
        return b.node("Clip", [ins[0], b.const("min", 0.0), b.const("max", 6.0)])
    if kind.name == "softmax":
        return b.node("Softmax", [ins[0]], axis=-1)
    op = {v: k for k, v in _SIMPLE.items()}[kind.name]
    return b.node(op, [ins[0]])


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "softmax":
        return TorchLayer("nn.Softmax", {"dim": 1})
    return TorchLayer(_TORCH[kind.name], {})


exports("relu", "relu6", "sigmoid", "tanh", "hardswish", "softmax", onnx=_onnx, torch=_torch)
