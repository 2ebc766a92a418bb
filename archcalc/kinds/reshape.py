"""Layers that move or copy values without arithmetic: input, flatten, zero padding, crop, upsample, dropout."""

from __future__ import annotations

from typing import Any

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


class Crop(Kind):
    """Crop H and W to their centre h x w: U-Net's copy and crop, which keeps the middle of a
    contracting-path map for a concatenation with the smaller map of the expanding path.

    `size: [h, w]` gives the output size; with two inputs (`from: [skip, up]`) and no size, the first
    is cropped to the second's H x W, as Caffe's Crop layer (the U-Net authors' own) takes its size
    from a second bottom. The crop is centred: floor((H - h)/2) rows off the top, the rest off the
    bottom (the same for columns), as torch's `x[:, :, t:t + h, l:l + w]`. No params, MACs or other ops.
    """

    name = "crop"
    arity = (1, 2)
    fields = {"size": Field("pair", 0, "output h x w: h or [h, w]; 0 (default): the second input's H x W",
                            min=0)}

    def window(self, ins: list[Shape]) -> tuple[int, int, int, int]:
        """(top, left, h, w): the rows and columns the crop keeps."""
        from ..errors import KindError
        h, w, c = need_hwc(ins[0], self.name)
        if len(ins) == 2:
            if tuple(self.size) != (0, 0):
                raise KindError("crop takes its size from `size:` or from a second input, not both", field="size",
                                hint="leave `size` out to crop to the second input's H x W")
            oh, ow, _ = need_hwc(ins[1], f"{self.name} (its second input, the size to crop to)")
        elif tuple(self.size) == (0, 0) or 0 in self.size:
            raise KindError("crop needs its output size: `size: [h, w]`, or a second input to take it from",
                            field="size", hint="e.g. size: [56, 56], or from: [skip, up] to crop skip to up's size")
        else:
            oh, ow = self.size
        if oh > h or ow > w:
            raise KindError(f"crop to {oh} x {ow} is larger than its input's H x W, {h} x {w}", field="size",
                            hint="a crop keeps part of the map: pad with `zeropad` to grow it")
        return (h - oh) // 2, (w - ow) // 2, oh, ow

    def out_shape(self, ins: list[Shape]) -> Shape:
        _, _, oh, ow = self.window(ins)
        return (oh, ow, ins[0][2])

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out: Shape) -> Any:
        """The first input's field, moved by the rows and columns cut off: output (0, 0) is input (t, l).
        The second input gives only a size: its field does not reach the output."""
        from ..receptive import RF, Axis
        f = ins[0]
        if f is None:
            return None
        t, l, _, _ = self.window(in_shapes)
        return RF(Axis(f.h.size, f.h.jump, f.h.start + t * f.h.jump),
                  Axis(f.w.size, f.w.jump, f.w.start + l * f.w.jump), f.spatial)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        t, l, oh, ow = self.window(ins)
        h, w = ins[0][0], ins[0][1]
        return (f"{fmt(ins[0])} -> {fmt(out)}: rows {t}..{t + oh - 1} of {h}, columns {l}..{l + ow - 1} of {w} "
                f"(centred: floor((H - H')/2) = {t} off the top, floor((W - W')/2) = {l} off the left)")

    shape_only = (1,)  # torch reads the second input's size alone: no gradient reaches it through the crop

    def output_storage(self, call: Call) -> str:
        return "view"  # x[:, :, t:t + h, l:l + w] is a view of x

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: a slice's backward needs sizes only. The crop is a view, so a layer that saves it
        keeps the whole uncropped map (U-Net's concatenation copies it and keeps nothing)."""
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
