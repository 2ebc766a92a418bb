"""Layers that join branches: element-wise add (residual), element-wise multiply (gates, squeeze-excitation)
and channel concatenation (Inception)."""

from __future__ import annotations

from typing import Any

from ..errors import KindError
from ..formula import Formula, prod, q, total
from ..shape import Shape, fmt, need_sequence
from .base import Call, Field, Kind, Saved, saved_input, saved_new


class Add(Kind):
    """Element-wise sum of two or more inputs of the same shape (ResNet's skip connection).

    "ResNet requires dimension uniformity": every input must have the same H x W x C.
    Other ops: elementwise adds (inputs - 1) per element.
    """

    name = "add"
    arity = (2, None)
    grad_is_view = True  # every input's gradient is the output's

    def output_storage(self, call: Call) -> str:
        """`out += identity` (torchvision's ResNet, the default) adds into the first input; `+` and
        torch.add make new memory."""
        return "inplace" if call.op == "+=" else "new"

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: the gradient of a sum needs no value."""
        return []

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
    grad_is_view = True  # each input's gradient is a slice of the output's

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: torch.cat keeps sizes only."""
        return []
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
                        else "give every branch the same stride and `padding: same`, or crop the larger map "
                             "to the smaller's H x W (`kind: crop, from: [larger, smaller]`, U-Net's copy and crop)")
                raise KindError(f"concat needs branches with equal {what}; input 1 is {fmt(first)}, "
                                f"input {i} is {fmt(s)}", field="from", hint=hint)
        return (*first[:-1], sum(s[-1] for s in ins))

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        if self.axis == "tokens":
            return f"L' = {' + '.join(str(s[0]) for s in ins)} = {out[0]}; C' = C = {out[1]}"
        return f"C' = {' + '.join(str(s[-1]) for s in ins)} = {out[-1]}"


def broadcast(ins: list[Shape]) -> Shape:
    """The shape of an element-wise product, NumPy's and torch's rule: align the last axes; along
    each, the sizes must agree or be 1 (a missing axis counts as 1). H x W x C by 1 x 1 x C or by C
    is squeeze-excitation's gate, by H x W x 1 a spatial gate, an L x C sequence by C a token gate."""
    rank = max(len(s) for s in ins)
    out, owner = [1] * rank, [0] * rank
    for i, s in enumerate(ins):
        for axis, d in enumerate(s, rank - len(s)):
            if d == 1 or d == out[axis]:
                continue
            if out[axis] != 1:
                j = owner[axis]
                raise KindError(f"multiply cannot broadcast input {j + 1}, {fmt(ins[j])}, with input {i + 1}, "
                                f"{fmt(s)}: aligned from the last axis, sizes must be equal or 1 "
                                f"({out[axis]} and {d} are not)", field="from",
                                hint="gate an H x W x C map with 1 x 1 x C (globalavgpool with keepdims: true) "
                                     "or C, or give the inputs one shape")
            out[axis], owner[axis] = d, i
    return tuple(out)


class Multiply(Kind):
    """Element-wise product of two or more inputs, broadcast (squeeze-excitation's x·s, gates).

    Broadcast as NumPy and torch do (the last axes aligned; sizes equal or 1): x·s with s of
    1 x 1 x C (or C), a spatial gate H x W x 1, or inputs of one shape.

    No params, no MACs: no kernel is involved. Other ops: multiplies (inputs - 1) per output element
    (left to right: a product of two small gates first costs only their size).
    """

    name = "multiply"
    arity = (2, None)

    def out_shape(self, ins: list[Shape]) -> Shape:
        return broadcast(ins)

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Left to right, each product a·b keeps b when a needs a gradient and a when b does; a
        product of three keeps the first product (its own memory) for the third input's gradient."""
        out_items: list[Saved] = []
        grad = call.grads[0]
        for k in range(1, len(ins)):
            if grad:
                out_items.append(saved_input(k))
            if call.grads[k]:
                if k == 1:
                    out_items.append(saved_input(0))
                else:
                    out_items.append(saved_new(self.elements(broadcast(ins[:k])), f"product of inputs 0 to {k - 1}"))
            grad = grad or call.grads[k]
        return out_items

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        return f"broadcast({', '.join(fmt(s) for s in ins)}) = {fmt(out)}"

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        steps = [broadcast(ins[:k]) for k in range(2, len(ins) + 1)]  # left to right, as torch's a * b * c
        if all(s == out for s in steps):
            return {"multiplies": prod(self.elements(out), q("(inputs - 1)", len(ins) - 1))}
        return {"multiplies": total(*(self.elements(s) for s in steps))}  # a gate times a gate first

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out: Shape) -> Any:
        """The hull of the inputs' fields, as for add; but a gate broadcast along H or W (1 x 1 x C)
        does not set the jump along it: neighbouring outputs are as far apart as the map's."""
        from ..receptive import RF, Axis, _hull
        if any(f is None for f in ins):
            return None
        hull = _hull(ins)
        if len(out) != 3:
            return hull
        axes = []
        for k, a in enumerate((hull.h, hull.w)):
            full = [f.h if k == 0 else f.w for f, s in zip(ins, in_shapes, strict=True)
                    if len(s) == 3 and s[k] == out[k]]
            axes.append(Axis(a.size, max(x.jump for x in full), a.start) if full else a)
        return RF(axes[0], axes[1], any(f.spatial for f, s in zip(ins, in_shapes, strict=True) if len(s) == 3))
