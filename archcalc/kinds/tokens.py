"""Token shapes: a map to a sequence of tokens and back, the learned class token and position
embedding of a vision transformer, selecting a token, and Swin's 2 x 2 patch merging.

A sequence is L tokens of C channels, written L x C (torch's N x L x C without the batch). None of
these layers multiplies anything; the position embedding adds.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import KindError
from ..formula import Formula, q
from ..shape import Shape, describe_shape, fmt, need_hwc, need_sequence
from .base import Call, Field, Kind, Saved, Weight


def _keep(ins: list[Any], in_shapes: list[Shape], out_shape: Shape) -> Any:
    """Receptive field of a layer that moves whole tokens or positions: the input's."""
    return ins[0]


class _View(Kind):
    """A layer torch computes as a view of its input: no memory of its own, nothing saved."""

    def output_storage(self, call: Call) -> str:
        return "view"

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: a view of its input."""
        return []


class _New(Kind):
    """A layer whose output is new memory and whose backward needs sizes only (cat, add, pad, gather)."""

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: its backward needs sizes only."""
        return []


class Tokens(_View):
    """An H x W x C map as a sequence of H·W tokens of C channels, row by row (torch's x.flatten(2).transpose(1, 2)).

    Token h·W + w is position (h, w). No params, no MACs, no other ops (a reshape).
    Source: torchvision VisionTransformer._process_input: 14 x 14 x 768 -> 196 x 768.
    """

    name = "tokens"
    receptive_field = staticmethod(_keep)
    strided = True        # x.flatten(2).transpose(1, 2): a transposed view
    grad_is_view = True

    def out_shape(self, ins: list[Shape]) -> Shape:
        h, w, c = need_hwc(ins[0], self.name)
        return (h * w, c)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        h, w, c = ins[0]
        return f"L' = H·W = {h}·{w} = {out[0]}; C' = C = {c}"


class TokenMap(_View):
    """A sequence of L tokens back into an h x w x C map (token i at row i // w, column i % w): the inverse of `tokens`.

    h·w must equal L. Give h, w or both; with neither, the map is square (L must be a square).
    No params, no MACs, no other ops.
    """

    name = "tokenmap"
    grad_is_view = True
    fields = {
        "h": Field("int", 0, "rows h of the map (0: L / w, or the square root of L)", min=0),
        "w": Field("int", 0, "columns w of the map (0: L / h, or the square root of L)", min=0),
    }
    receptive_field = staticmethod(_keep)

    def out_shape(self, ins: list[Shape]) -> Shape:
        n, c = need_sequence(ins[0], self.name)
        h, w = self.h, self.w
        if not h and not w:
            r = math.isqrt(n)
            if r * r != n:
                raise KindError(f"{n} tokens make no square map", field="h",
                                hint="give the map's rows and columns: h and w with h·w = "
                                     f"{n}")
            return (r, r, c)
        if not h or not w:
            given, which = (h, "h") if h else (w, "w")
            if n % given:
                raise KindError(f"{n} tokens do not divide into {which} = {given}", field=which,
                                hint=f"use a divisor of {n}")
            other = n // given
            return (given, other, c) if h else (other, given, c)
        if h * w != n:
            raise KindError(f"h·w = {h}·{w} = {h * w} is not the number of tokens, {n}", field="h",
                            hint=f"h·w must be {n}")
        return (h, w, c)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        return f"L = {ins[0][0]} = h·w = {out[0]}·{out[1]}; C' = C = {out[2]}"


class ClassToken(_New):
    """A learned token prepended to a sequence (ViT's class token; `count` 2 for DeiT's class and distillation tokens).

    L x C -> (L + count) x C. Params = count·C. No MACs, no other ops (values are only placed).
    Source: torchvision VisionTransformer.class_token, 1 x 1 x 768: 768 params; 196 -> 197 tokens.
    """

    name = "classtoken"
    grad_is_view = True   # torch.cat: the input's gradient is a slice of the output's
    fields = {"count": Field("int", 1, "learned tokens prepended")}

    def out_shape(self, ins: list[Shape]) -> Shape:
        n, c = need_sequence(ins[0], self.name)
        return (n + self.count, c)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        return f"L' = L + count = {ins[0][0]} + {self.count} = {out[0]}; C' = C = {out[1]}"

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        return [Weight("token", (q("count", self.count), q("C", ins[0][1])))]

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out_shape: Shape) -> Any:
        return None  # output 0 is the learned token: it depends on no input pixel


class PosEmbed(_New):
    """A learned tensor of the input's shape added to it: ViT's position embedding (L x C), or one per map position.

    Params = the input's elements (L·C). No MACs. Other ops: one elementwise add per element.
    Source: torchvision Encoder.pos_embedding, 1 x 197 x 768: 151,296 params.
    """

    name = "posembed"
    grad_is_view = True   # x + pos: the input's gradient is the output's
    receptive_field = staticmethod(_keep)

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        s = ins[0]
        names = {3: ("H", "W", "C"), 2: ("L", "C"), 1: ("n",)}[len(s)]
        return [Weight("embedding", tuple(q(k, d) for k, d in zip(names, s, strict=True)))]

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"elementwise_adds": self.elements(out)}


class TokenSelect(_View):
    """One token of a sequence as a flat vector of C: token 0 is ViT's class token, read by the head (x[:, 0]).

    L x C -> C. No params, no MACs, no other ops.
    """

    name = "tokenselect"
    fields = {"index": Field("int", 0, "which token, from 0 (the class token)", min=0)}

    def out_shape(self, ins: list[Shape]) -> Shape:
        n, c = need_sequence(ins[0], self.name)
        if self.index >= n:
            raise KindError(f"token {self.index} is past the end of {describe_shape(ins[0])}", field="index",
                            hint=f"tokens are numbered 0 to {n - 1}")
        return (c,)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        return f"token {self.index} of {fmt(ins[0])} -> n' = C = {out[0]}"

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out_shape: Shape) -> Any:
        f = ins[0]
        if f is None or (self.index and not f.mixing):
            return None  # token i > 0 sits at a map position the sequence no longer knows
        from ..receptive import RF
        return f if f.mixing else RF(f.h, f.w, False)


class PatchMerge(_New):
    """Swin's patch merging gather: each 2 x 2 block of positions concatenated, H x W x C -> H/2 x W/2 x 4C.

    In torchvision's order: (0, 0), (1, 0), (0, 1), (1, 1) as (row, column) offsets, i.e. x[0::2, 0::2],
    x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]; an odd H or W is zero-padded at the bottom or right
    first (output ceil(H/2) x ceil(W/2)). torchvision's PatchMerging then applies LayerNorm(4C) and a
    Linear(4C, 2C, bias=False): write them after it (`layernorm`, `linear`). No params, MACs or other ops.
    """

    name = "patchmerge"

    def out_shape(self, ins: list[Shape]) -> Shape:
        h, w, c = need_hwc(ins[0], self.name)
        return (-(-h // 2), -(-w // 2), 4 * c)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        h, w, c = ins[0]
        return f"H' = ceil({h}/2) = {out[0]}; W' = ceil({w}/2) = {out[1]}; C' = 4·C = 4·{c} = {out[2]}"

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out_shape: Shape) -> Any:
        f = ins[0]
        if f is None or f.mixing:
            return f
        from ..receptive import RF
        return RF(f.h.window(2, 2, 0), f.w.window(2, 2, 0), f.spatial)  # a 2 x 2 window, stride 2

