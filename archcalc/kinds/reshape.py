"""Layers that move or copy values without arithmetic: input, flatten, zero padding, upsample, dropout."""

from __future__ import annotations

from ..formula import Formula, prod, q
from ..shape import Shape, fmt, need_hwc
from .base import Field, Kind


class Input(Kind):
    """The network's input, H x W x C (or a flat length). Written as `input:` at the top of a spec."""

    name = "input"
    arity = (0, 0)
    internal = True

    def __init__(self, shape: Shape = (), **values: object) -> None:
        super().__init__(**values)
        self.shape = shape

    def out_shape(self, ins: list[Shape]) -> Shape:
        return self.shape

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        return f"given: {fmt(out)}"


class Flatten(Kind):
    """Reshape H x W x C into one vector of H·W·C values (LeNet-5: 5 x 5 x 16 -> 400)."""

    name = "flatten"

    def out_shape(self, ins: list[Shape]) -> Shape:
        n = 1
        for d in ins[0]:
            n *= d
        return (n,)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        return f"n' = {'·'.join(str(d) for d in ins[0])} = {out[0]}"


class ZeroPad(Kind):
    """Pad H and W with zeros: p, [p_h, p_w] or [top, bottom, left, right]."""

    name = "zeropad"
    fields = {"padding": Field("padding", doc="p | [p_h, p_w] | [top, bottom, left, right]")}

    def out_shape(self, ins: list[Shape]) -> Shape:
        h, w, c = need_hwc(ins[0], self.name)
        p = self.padding
        if p in ("valid", "same"):
            from ..errors import KindError
            raise KindError("zeropad takes explicit sizes, not valid or same", field="padding",
                            hint="write padding: 1, [1, 1] or [top, bottom, left, right]")
        t, b, l, r = (p,) * 4 if isinstance(p, int) else (p[0], p[0], p[1], p[1]) if len(p) == 2 else p
        return (h + t + b, w + l + r, c)


class Upsample(Kind):
    """Upsample H and W by integer factors: nearest copies values, bilinear interpolates.

    Other ops (bilinear): 4 multiplies and 3 adds per output element; nearest: none.
    """

    name = "upsample"
    fields = {
        "scale": Field("pair", 2, "factor s, or [s_h, s_w]"),
        "mode": Field("choice", "nearest", "nearest | bilinear", choices=("nearest", "bilinear")),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        h, w, c = need_hwc(ins[0], self.name)
        return (h * self.scale[0], w * self.scale[1], c)

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        if self.mode == "nearest":
            return {}
        n = self.elements(out)
        return {"multiplies": prod(n, q("4", 4)), "elementwise_adds": prod(n, q("3", 3))}


class Dropout(Kind):
    """Dropout: identity at inference (what archcalc counts); `rate` is kept for the record."""

    name = "dropout"
    fields = {"rate": Field("real", 0.5, "fraction dropped while training", min=0, max=1)}

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]


class Identity(Kind):
    """The identity (torch's nn.Identity): no cost, a placeholder that keeps a spec's names as torch's.

    Present so a spec can mirror a module tree that keeps a placeholder (a skipped norm, a removed head).
    """

    name = "identity"

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]


class DropPath(Kind):
    """Stochastic depth (torchvision's StochasticDepth, timm's DropPath): the identity at inference.

    While training, a whole residual branch is dropped per sample with probability `rate`; at
    inference (what archcalc counts) nothing happens, at no cost.
    """

    name = "droppath"
    fields = {"rate": Field("real", 0, "probability of dropping the branch while training", min=0, max=1)}

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]
