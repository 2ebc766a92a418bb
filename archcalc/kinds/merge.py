"""Layers that join branches: element-wise add (residual) and channel concatenation (Inception)."""

from __future__ import annotations

from ..errors import KindError
from ..formula import Formula, prod, q
from ..shape import Shape, fmt, need_sequence
from .base import Field, Kind


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
    """Concatenate inputs along channels (H x W must agree), or flat vectors end to end; or, with
    `axis: tokens`, sequences of equal C one after another (torch.cat(xs, dim=1) on N x L x C).

    Output channels are the sum of the inputs' (the Inception module: 64 + 128 + 32 + 32 = 256);
    along tokens, the output has the inputs' tokens summed. No params, no MACs, no other ops:
    values are only placed side by side.
    """

    name = "concat"
    arity = (2, None)
    fields = {"axis": Field("choice", "channels", "channels | tokens (sequences: L x C, one after another)",
                            choices=("channels", "tokens"))}

    def out_shape(self, ins: list[Shape]) -> Shape:
        first = ins[0]
        if self.axis == "tokens":
            for i, s in enumerate(ins, 1):
                need_sequence(s, f"concat along tokens (input {i})")
                if s[1] != first[1]:
                    raise KindError(f"concat along tokens needs sequences of equal C; input 1 is {fmt(first)}, "
                                    f"input {i} is {fmt(s)}", field="from",
                                    hint="project the tokens to the same channels with `linear` first")
            return (sum(s[0] for s in ins), first[1])
        for i, s in enumerate(ins[1:], 2):
            if len(s) != len(first) or s[:-1] != first[:-1]:
                what = "H x W" if len(first) == 3 else "rank" if len(s) != len(first) else "token count"
                hint = ("to join sequences of tokens one after another, write `axis: tokens`" if len(first) == 2
                        else "give every branch the same stride and `padding: same`")
                raise KindError(f"concat needs branches with equal {what}; input 1 is {fmt(first)}, "
                                f"input {i} is {fmt(s)}", field="from", hint=hint)
        return (*first[:-1], sum(s[-1] for s in ins))

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        if self.axis == "tokens":
            return f"L' = {' + '.join(str(s[0]) for s in ins)} = {out[0]}; C' = C = {out[1]}"
        return f"C' = {' + '.join(str(s[-1]) for s in ins)} = {out[-1]}"
