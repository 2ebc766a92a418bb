"""Joins: ONNX Add and Sum of activations <-> add, Concat along channels <-> concat."""

from __future__ import annotations

from typing import Any

from ..importer import Context, Unmapped
from ..table import TorchLayer, exports, imports


@imports("Add", "Sum")
def add(ctx: Context, n: Any) -> None:
    ins = ctx.live_inputs(n)
    if len(ins) != len(n.input) or len(ins) < 2:
        raise Unmapped("an add of a constant (a bias or a shift; no kind yet)")
    shapes = {ctx.dims(x) for x in ins}
    if len(shapes) != 1:
        raise Unmapped("a broadcasting add")
    ctx.emit(n, "add", {}, inputs=ins)


@imports("Concat")
def concat(ctx: Context, n: Any) -> None:
    ins = [x for x in n.input if x]
    if any(x not in ctx.live for x in ins):
        raise Unmapped("a concat with a constant")
    rank = len(ctx.dims(ins[0]))
    axis = ctx.attrs(n).get("axis", 1)
    if rank not in (2, 4) or axis not in (1, 1 - rank):
        raise Unmapped(f"a concat along axis {axis} (archcalc joins channels)")
    if len(ins) == 1:
        ctx.alias(n.output[0], ins[0])
        return
    ctx.emit(n, "concat", {}, inputs=ins)


def _onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
          ws: dict[str, Any]) -> str:
    if kind.name == "concat":
        return b.node("Concat", ins, axis=1)
    return b.node("Add" if len(ins) == 2 else "Sum", ins)


def _torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    if kind.name == "concat":
        return TorchLayer(None, {}, call="torch.cat([{all}], 1)")
    return TorchLayer(None, {}, call="{plus}")


exports("add", "concat", onnx=_onnx, torch=_torch)
