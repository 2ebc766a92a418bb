"""Layers that join branches: element-wise add (residual) and channel concatenation (Inception)."""

from __future__ import annotations

from ..errors import KindError
from ..formula import Formula, prod, q
from ..shape import Shape, fmt
from .base import Kind


class Add(Kind):
    """Element-wise sum of two or more inputs of the same shape (ResNet's skip connection).

    "ResNet requires dimension uniformity": every input must have the same H x W x C.
    Other ops: elementwise adds (inputs - 1) per element.
    """

    name = "add"
    arity = (2, None)

    def out_shape(self, ins: list[Shape]) -> Shape:
        first = ins[0]
        for i, s in enumerate(ins[1:], 2):
            if s != first:
                raise KindError(f"add needs inputs of one shape; input 1 is {fmt(first)}, input {i} is {fmt(s)}",
                                field="from",
                                hint="ResNet requires dimension uniformity: project the shortcut with a "
                                     "1x1 conv (stride and filters matching), or use `padding: same`")
        return first

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"elementwise_adds": prod(self.elements(out), q("(inputs - 1)", len(ins) - 1))}


class Concat(Kind):
    """Concatenate inputs along channels (H x W must agree), or flat vectors end to end.

    Output channels are the sum of the inputs' (the Inception module: 64 + 128 + 32 + 32 = 256).
    No params, no MACs, no other ops: values are only placed side by side.
    """

    name = "concat"
    arity = (2, None)

    def out_shape(self, ins: list[Shape]) -> Shape:
        first = ins[0]
        for i, s in enumerate(ins[1:], 2):
            if len(s) != len(first) or s[:-1] != first[:-1]:
                what = "H x W" if len(first) == 3 else "rank"
                raise KindError(f"concat needs branches with equal {what}; input 1 is {fmt(first)}, "
                                f"input {i} is {fmt(s)}", field="from",
                                hint="give every branch the same stride and `padding: same`")
        return (*first[:-1], sum(s[-1] for s in ins))

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        return f"C' = {' + '.join(str(s[-1]) for s in ins)} = {out[-1]}"
