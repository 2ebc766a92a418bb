"""Pooling: windowed max and average (sharing conv's window formula), and global pooling."""

from __future__ import annotations

from ..errors import KindError
from ..formula import Formula, prod, q
from ..shape import Shape, need_hwc, resolve_padding, window, window_text
from .base import Field, Kind


class _Pool(Kind):
    fields = {
        "size": Field("pair", doc="window f, or [f_h, f_w]"),
        "stride": Field("pair", 0, "stride s (default: the window size)", min=0),
        "padding": Field("padding", "valid", "valid | same | p | [p_h, p_w] | [top, bottom, left, right]"),
        "ceil": Field("bool", False, "count a last partial window (Caffe; PyTorch ceil_mode)"),
    }

    def _geometry(self, ins: list[Shape]) -> tuple[int, int, int, tuple[int, int], tuple[int, int, int, int]]:
        h, w, c = need_hwc(ins[0], self.name)
        (kh, kw) = self.size
        sh, sw = self.stride if self.stride != (0, 0) else self.size
        sh, sw = sh or kh, sw or kw
        return h, w, c, (sh, sw), resolve_padding(self.padding, h, w, kh, kw, sh, sw)

    def out_shape(self, ins: list[Shape]) -> Shape:
        h, w, c, (sh, sw), (t, b, l, r) = self._geometry(ins)
        kh, kw = self.size
        return (window(h, kh, sh, t, b, 1, self.ceil, "H"), window(w, kw, sw, l, r, 1, self.ceil, "W"), c)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        h, w, c, (sh, sw), (t, b, l, r) = self._geometry(ins)
        kh, kw = self.size
        return (f"{window_text(h, kh, sh, t, b, 1, self.ceil, 'H')}; "
                f"{window_text(w, kw, sw, l, r, 1, self.ceil, 'W')}; C' = C = {c}")

    def _k_minus_1(self) -> Formula:
        kh, kw = self.size
        return q("(f·f - 1)" if kh == kw else "(f_h·f_w - 1)", kh * kw - 1)


class MaxPool(_Pool):
    """Max pooling: the largest value in each f x f window, per channel.

    Shape as conv (floor, or `ceil: true`); `padding: same` with stride 1 keeps H x W
    (the Inception module's pooling branch). MACs 0, params 0.
    Other ops: comparisons = H'·W'·C·(f·f - 1).
    """

    name = "maxpool"

    def out_shape(self, ins: list[Shape]) -> Shape:
        _, _, _, _, pads = self._geometry(ins)
        kh, kw = self.size
        for side, p, k in zip(("top", "bottom", "left", "right"), pads, (kh, kh, kw, kw), strict=True):
            if p >= k:  # a window of padding alone has no maximum (PyTorch refuses it too)
                raise KindError(f"padding {p} on the {side} is not smaller than the {k}-wide window: "
                                "some windows would hold padding only", field="padding",
                                hint=f"use padding of at most {k - 1} (PyTorch allows at most {k // 2})")
        return super().out_shape(ins)

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"comparisons": prod(self.elements(out), self._k_minus_1())}


class AvgPool(_Pool):
    """Average pooling: the mean of each f x f window, per channel.

    Shape as conv. MACs 0, params 0. Other ops: elementwise adds H'·W'·C·(f·f - 1) and one
    multiply (by 1/K) per output. `count_pad` says whether padded zeros count in the divisor.
    """

    name = "avgpool"
    fields = dict(_Pool.fields, count_pad=Field(
        "bool", True, "divide by the whole window, padding included (PyTorch's default)"))

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"elementwise_adds": prod(self.elements(out), self._k_minus_1()),
                "multiplies": self.elements(out)}


class _Global(Kind):
    fields = {"keepdims": Field("bool", False, "output 1 x 1 x C instead of a flat C")}

    def out_shape(self, ins: list[Shape]) -> Shape:
        _, _, c = need_hwc(ins[0], self.name)
        return (1, 1, c) if self.keepdims else (c,)

    def _per_channel(self, ins: list[Shape]) -> Formula:
        h, w, c = ins[0]
        return prod(q("C", c), q("(H·W - 1)", h * w - 1))


class GlobalAvgPool(_Global):
    """Global average pooling: the mean of each channel over all H x W positions.

    Output C (or 1 x 1 x C with keepdims). MACs 0, params 0.
    Other ops: elementwise adds C·(H·W - 1) and C multiplies (by 1/(H·W)).
    """

    name = "globalavgpool"

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"elementwise_adds": self._per_channel(ins), "multiplies": q("C", ins[0][2])}


class GlobalMaxPool(_Global):
    """Global max pooling: the largest value of each channel. Other ops: comparisons C·(H·W - 1)."""

    name = "globalmaxpool"

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"comparisons": self._per_channel(ins)}
