"""Convolutions: standard (with groups) and depthwise. The only file that knows conv arithmetic."""

from __future__ import annotations

from ..errors import KindError
from ..formula import Formula, prod, q
from ..shape import Shape, need_hwc, resolve_padding, window, window_text
from .base import Field, Kind, Weight


class Conv(Kind):
    """Convolution: n_c' filters of f_h x f_w x n_c/g, sliding with stride s.

    H' = floor((H + p_top + p_bottom - d(f_h - 1) - 1)/s_h) + 1, likewise W'
    MACs   = H'·W'·n_c'·(f_h·f_w·n_c/g)          bias adds are "other ops", not MACs
    Params = f_h·f_w·(n_c/g)·n_c' (+ n_c' bias)
    Source: case-study notes, MobileNets: (3·3·3)·(4·4)·5 = 2160; Inception: 28·28·32·(5·5·192).
    Padding `same` is TensorFlow's: output ceil(H/s), the odd pixel after.
    """

    name = "conv"
    fields = {
        "filters": Field("int", doc="number of filters n_c' (output channels)"),
        "kernel": Field("pair", doc="filter size f, or [f_h, f_w]"),
        "stride": Field("pair", 1, "stride s, or [s_h, s_w]"),
        "padding": Field("padding", "valid", "valid | same | p | [p_h, p_w] | [top, bottom, left, right]"),
        "dilation": Field("pair", 1, "dilation d (1 = dense kernel)"),
        "groups": Field("int", 1, "channel groups g; n_c and n_c' must divide by g"),
        "bias": Field("bool", True, "add a bias per filter"),
    }

    def _channels(self, c: int) -> tuple[int, int]:
        """(groups, filters) for an input of c channels."""
        g, n = self.groups, self.filters
        if c % g:
            raise KindError(f"input channels {c} do not divide into groups={g}", field="groups",
                            hint=f"use a groups value that divides {c}")
        if n % g:
            raise KindError(f"filters={n} do not divide into groups={g}", field="filters",
                            hint=f"use a multiple of {g} filters")
        return g, n

    def _geometry(self, ins: list[Shape]) -> tuple[int, int, int, tuple[int, int, int, int]]:
        h, w, c = need_hwc(ins[0], self.name)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        return h, w, c, resolve_padding(self.padding, h, w, kh, kw, sh, sw, dh, dw)

    def out_shape(self, ins: list[Shape]) -> Shape:
        h, w, c, (t, b, l, r) = self._geometry(ins)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        _, n = self._channels(c)
        return (window(h, kh, sh, t, b, dh, axis="H"), window(w, kw, sw, l, r, dw, axis="W"), n)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        h, w, c, (t, b, l, r) = self._geometry(ins)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        return (f"{window_text(h, kh, sh, t, b, dh, sym='H')}; "
                f"{window_text(w, kw, sw, l, r, dw, sym='W')}; C' = {out[2]}")

    def _kernel(self, c: int) -> tuple[Formula, ...]:
        kh, kw = self.kernel
        g, _ = self._channels(c)
        fh, fw = (q("f", kh), q("f", kw)) if kh == kw else (q("f_h", kh), q("f_w", kw))
        cin = q("n_c", c) if g == 1 else q("n_c/g", c // g)
        return fh, fw, cin

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        n = q("n_c'", out[2])
        ws = [Weight("kernel", (*self._kernel(ins[0][2]), n))]
        if self.bias:
            ws.append(Weight("bias", (n,)))
        return ws

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        return prod(q("H'", out[0]), q("W'", out[1]), q("n_c'", out[2]), prod(*self._kernel(ins[0][2])))

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"bias_adds": self.elements(out)} if self.bias else {}


class Depthwise(Conv):
    """Depthwise convolution: one f x f filter per input channel (times a depth multiplier m).

    MACs   = H'·W'·(n_c·m)·(f_h·f_w)
    Params = f_h·f_w·(n_c·m) (+ n_c·m bias)
    Source: case-study notes, depthwise separable convolution: (3·3)·(4·4)·3 = 432.
    """

    name = "depthwise"
    fields = {k: v for k, v in Conv.fields.items() if k not in ("filters", "groups")}
    fields["multiplier"] = Field("int", 1, "depth multiplier m: filters per input channel")

    def _channels(self, c: int) -> tuple[int, int]:
        return c, c * self.multiplier

    def _kernel(self, c: int) -> tuple[Formula, ...]:
        kh, kw = self.kernel
        return (q("f", kh), q("f", kw)) if kh == kw else (q("f_h", kh), q("f_w", kw))

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        n = q("n_c" if self.multiplier == 1 else "n_c·m", out[2])
        ws = [Weight("kernel", (*self._kernel(ins[0][2]), n))]
        if self.bias:
            ws.append(Weight("bias", (n,)))
        return ws

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        n = q("n_c" if self.multiplier == 1 else "n_c·m", out[2])
        return prod(q("H'", out[0]), q("W'", out[1]), n, prod(*self._kernel(ins[0][2])))
