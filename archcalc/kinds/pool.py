"""Pooling: windowed max and average (sharing conv's window formula), global and adaptive pooling."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ..errors import KindError
from ..formula import Formula, prod, q
from ..shape import Shape, need_hwc, resolve_padding, window, window_text
from .base import Call, Field, Kind, Saved, saved_input, saved_new


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

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """The input (avg_pool2d's backward reads its shape only, but torch keeps it); torch's adaptive
        average pooling to 1 x 1 is a mean, which keeps nothing."""
        if call.op.removeprefix("F.").lower().startswith("adaptive") and out[:2] == (1, 1):
            return []
        return [saved_input(0)]

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

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """The input and the int64 index of every output's maximum (max_pool2d_with_indices)."""
        return [saved_input(0), saved_new(self.elements(out), "indices", "int64")]


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

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Global average pooling is a mean in torch (AdaptiveAvgPool2d(1) too): it keeps nothing;
        global max pooling keeps the input and the int64 index of each channel's maximum."""
        if self.name == "globalavgpool":
            return []
        return [saved_input(0), saved_new(q("C", ins[0][2]), "indices", "int64")]


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


def adaptive_total(n: int, o: int) -> int:
    """The summed sizes of PyTorch's o adaptive windows over n positions, window i being
    [floor(i·n/o), ceil((i+1)·n/o)): n + o - gcd(n, o) (each window adds n/o, rounded out at both
    ends unless an end falls on a whole position, which happens gcd(n, o) times)."""
    return n + o - math.gcd(n, o)


def adaptive_largest(n: int, o: int) -> int:
    """The largest of those windows: n/o when o divides n, else floor(n/o) + 1, or + 2 when the
    remainder n mod o exceeds gcd(n, o) (some window then straddles two boundaries)."""
    r, g = n % o, math.gcd(n, o)
    return n // o if r == 0 else n // o + (2 if r > g else 1)


class _Adaptive(Kind):
    fields = {"size": Field("pair", doc="output size [H', W'], or one number for a square output")}

    def out_shape(self, ins: list[Shape]) -> Shape:
        _, _, c = need_hwc(ins[0], self.name)
        return (*self.size, c)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        h, w, c = ins[0]
        oh, ow = self.size
        return (f"H' = {oh}, W' = {ow} (given); windows [floor(i·H/H'), ceil((i+1)·H/H')): "
                f"{adaptive_largest(h, oh)} x {adaptive_largest(w, ow)} at most; C' = C = {c}")

    def _reductions(self, ins: list[Shape]) -> Formula:
        """C·(ΣK - H'·W'): the adds (or comparisons) of all windows, ΣK values read per channel."""
        h, w, c = ins[0]
        oh, ow = self.size
        read = adaptive_total(h, oh) * adaptive_total(w, ow)
        return prod(q("C", c), q("(ΣK - H'·W')", read - oh * ow))

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out: Shape) -> Any:
        """Window i starts at floor(i·H/H'): on average H/H' apart, the first of
        ceil(H/H') pixels; the size is the largest window's."""
        from ..receptive import RF, Axis
        f = ins[0]
        if f is None or len(in_shapes[0]) != 3:
            return None

        def one(a: Any, n: int, o: int) -> Any:
            first = -(-n // o)
            return Axis(a.size + (adaptive_largest(n, o) - 1) * a.jump, a.jump * Fraction(n, o),
                        a.start + Fraction(first - 1, 2) * a.jump)
        h, w = in_shapes[0][:2]
        return RF(one(f.h, h, self.size[0]), one(f.w, w, self.size[1]), f.spatial)


class AdaptiveAvgPool(_Adaptive):
    """Adaptive average pooling to a given output size H' x W' (PyTorch's AdaptiveAvgPool2d).

    Window i along H covers [floor(i·H/H'), ceil((i+1)·H/H')), so windows may differ by one and
    overlap when H' does not divide H. torchvision's VGG ends its features with one to 7 x 7, AlexNet
    to 6 x 6 (the identity at 224 x 224 input).

    MACs 0, params 0. Other ops: elementwise adds C·(ΣK - H'·W') and H'·W'·C multiplies (by 1/K),
    where ΣK = (H + H' - gcd(H, H'))·(W + W' - gcd(W, W')) values are read per channel.
    """

    name = "adaptiveavgpool"

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"elementwise_adds": self._reductions(ins), "multiplies": self.elements(out)}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """The input; to 1 x 1, torch computes a mean, which keeps nothing."""
        return [] if out[:2] == (1, 1) else [saved_input(0)]


class AdaptiveMaxPool(_Adaptive):
    """Adaptive max pooling to a given output size H' x W' (PyTorch's AdaptiveMaxPool2d).

    The windows of `adaptiveavgpool`. MACs 0, params 0. Other ops: comparisons C·(ΣK - H'·W').
    """

    name = "adaptivemaxpool"

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"comparisons": self._reductions(ins)}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """The input and the int64 index of every output's maximum."""
        return [saved_input(0), saved_new(self.elements(out), "indices", "int64")]
