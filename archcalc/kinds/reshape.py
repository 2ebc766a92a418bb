"""Layers that move or copy values without arithmetic: input, flatten, zero padding, upsample, dropout."""

from __future__ import annotations

from ..formula import Formula, prod, q
from ..shape import Shape, fmt, need_hwc
from .base import Call, Field, Kind, Saved, saved_new


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

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: it is the data, which no op made."""
        return []


class Flatten(Kind):
    """Reshape H x W x C into one vector of H·W·C values (LeNet-5: 5 x 5 x 16 -> 400)."""

    name = "flatten"
    grad_is_view = True

    def output_storage(self, call: Call) -> str:
        return "view"  # torch.flatten of a contiguous tensor is a view

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: a view of its input."""
        return []

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

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: constant padding's backward is a slice, which needs sizes only."""
        return []


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

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: the backward of nearest and bilinear upsampling needs sizes only."""
        return []


class Dropout(Kind):
    """Dropout: identity at inference (what archcalc counts); `rate` is kept for the record."""

    name = "dropout"
    fields = {"rate": Field("real", 0.5, "fraction dropped while training", min=0, max=1)}

    @property
    def grad_is_view(self) -> bool:  # type: ignore[override]
        return self.rate == 0

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def output_storage(self, call: Call) -> str:
        """Rate 0 returns the input itself; otherwise x·noise, in new memory or (in place) x's own."""
        return "view" if self.rate == 0 else "inplace" if call.inplace else "new"

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Training on the CPU, torch multiplies by a tensor of 0 and 1/(1 - rate) in the values' own
        type and keeps it (on CUDA, native_dropout keeps a bool mask, 1 byte a value); rate 0: nothing."""
        if self.rate == 0:
            return []
        return [saved_new(self.elements(ins[0], prime=False), "noise: 0 or 1/(1 - rate)")]


class Identity(Kind):
    """The identity (torch's nn.Identity): no cost, a placeholder that keeps a spec's names as torch's.

    Present so a spec can mirror a module tree that keeps a placeholder (a skipped norm, a removed head).
    """

    name = "identity"
    grad_is_view = True

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def output_storage(self, call: Call) -> str:
        return "view"  # nn.Identity returns its input

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: nn.Identity returns its input."""
        return []


class DropPath(Kind):
    """Stochastic depth (torchvision's StochasticDepth, timm's DropPath): the identity at inference.

    While training, a whole residual branch is dropped per sample with probability `rate`; at
    inference (what archcalc counts) nothing happens, at no cost.
    """

    name = "droppath"
    fields = {"rate": Field("real", 0, "probability of dropping the branch while training", min=0, max=1)}

    @property
    def grad_is_view(self) -> bool:  # type: ignore[override]
        return self.rate == 0

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def output_storage(self, call: Call) -> str:
        return "view" if self.rate == 0 else "new"  # rate 0 returns the input itself

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """torchvision's stochastic_depth ("row"): x·noise with one value per sample, 0 or
        1/(1 - rate), which the product keeps; rate 0: nothing."""
        if self.rate == 0:
            return []
        return [saved_new(q("1", 1), "noise, one per sample")]
