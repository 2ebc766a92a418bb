"""Fully connected layers: `linear` on the last axis of any shape (torch.nn.Linear), and `dense`,
the same layer restricted to a flat vector (the classifier of the notes)."""

from __future__ import annotations

from ..formula import ZERO, Formula, prod, q
from ..shape import Shape, need_vector
from .base import Call, Field, Kind, Saved, Weight, saved_input, saved_new


class Linear(Kind):
    """Linear layer on the last axis, as torch.nn.Linear: every position (or token) maps its C values to C'.

    Output: the input's shape with the last axis C' (H x W x C -> H x W x C'; L x C -> L x C'; n -> n').
    MACs   = positions·C·C' (H·W·C·C' on a map, L·C·C' on L tokens, n_in·n_out on a flat vector)
    Params = C·C' (+ C' bias), whatever the number of positions
    Source: ViT-B/16's MLP (torchvision MLPBlock), 197 tokens, 768 -> 3072: 197·768·3072 = 464,781,312 MACs,
    768·3072 + 3072 = 2,362,368 params. Other ops: one bias add per output element.
    """

    name = "linear"
    fields = {
        "units": Field("int", doc="output features C' (torch's out_features)"),
        "bias": Field("bool", True, "add a bias per output feature"),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        return (*ins[0][:-1], self.units)

    def _io(self, ins: list[Shape], out: Shape) -> tuple[Formula, Formula]:
        if len(ins[0]) == 1:
            return q("n_in", ins[0][0]), q("n_out", out[0])
        return q("C", ins[0][-1]), q("C'", out[-1])

    def _positions(self, shape: Shape) -> tuple[Formula, ...]:
        if len(shape) == 3:
            return q("H", shape[0]), q("W", shape[1])
        if len(shape) == 2:
            return (q("L", shape[0]),)
        return ()

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        if len(ins[0]) == 1:
            return super().shape_text(ins, out)
        keep = " x ".join(str(d) for d in ins[0][:-1])
        return f"{keep} positions kept; C' = units = {out[-1]} (C = {ins[0][-1]})"

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        c, c2 = self._io(ins, out)
        ws = [Weight("kernel", (c, c2))]
        if self.bias:
            ws.append(Weight("bias", (c2,)))
        return ws

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        return prod(*self._positions(ins[0]), *self._io(ins, out))

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        if not self.bias:
            return {}
        return {"bias_adds": self.elements(out) if len(out) > 1 else q("n_out", out[0])}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Its input, for the weights' gradient. torch multiplies N x L x C as (N·L) x C: a transposed
        view (`tokens`) cannot be reshaped so without a copy once N > 1, and the copy is what is kept."""
        if call.strided[0] and len(ins[0]) >= 2 and call.batch > 1:
            return [saved_new(self.elements(ins[0], prime=False), "input, copied contiguous")]
        return [saved_input(0)]

    def backward_macs(self, ins: list[Shape], out: Shape, call: Call) -> tuple[Formula, Formula]:
        """dx = dy·W^T and dW = x^T·dy each cost the forward's MACs (dx only when x needs a gradient)."""
        macs = self.macs(ins, out)
        return (macs if call.grads[0] else ZERO), macs


class Dense(Linear):
    """Fully connected: every one of n_in inputs to each of `units` outputs (a flat vector only).

    MACs   = n_in·n_out
    Params = n_in·n_out (+ n_out bias)
    Source: LeNet-5 in the case-study notes, FC1 400 -> 120: 400·120 + 120 = 48,120 params.
    `linear` is the same layer on any shape (per position or per token).
    """

    name = "dense"
    fields = {
        "units": Field("int", doc="number of outputs n_out"),
        "bias": Field("bool", True, "add a bias per output"),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        need_vector(ins[0], self.name)
        return (self.units,)
