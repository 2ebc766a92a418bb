"""Fully connected layers."""

from __future__ import annotations

from ..formula import Formula, prod, q
from ..shape import Shape, need_vector
from .base import Field, Kind, Weight


class Dense(Kind):
    """Fully connected: every one of n_in inputs to each of `units` outputs.

    MACs   = n_in·n_out
    Params = n_in·n_out (+ n_out bias)
    Source: LeNet-5 in the case-study notes, FC1 400 -> 120: 400·120 + 120 = 48,120 params.
    """

    name = "dense"
    fields = {
        "units": Field("int", doc="number of outputs n_out"),
        "bias": Field("bool", True, "add a bias per output"),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        need_vector(ins[0], self.name)
        return (self.units,)

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        ws = [Weight("kernel", (q("n_in", ins[0][0]), q("n_out", out[0])))]
        if self.bias:
            ws.append(Weight("bias", (q("n_out", out[0]),)))
        return ws

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        return prod(q("n_in", ins[0][0]), q("n_out", out[0]))

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"bias_adds": q("n_out", out[0])} if self.bias else {}
