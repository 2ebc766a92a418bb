"""Convolutions: standard (with groups), depthwise and transposed. The only file that knows conv arithmetic."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import KindError
from ..formula import ZERO, Formula, prod, q
from ..shape import Shape, need_hwc, resolve_padding, window, window_text
from .base import Call, Field, Kind, Saved, Weight, saved_input


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

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """The input, for the weights' gradient (and the weight, a parameter, for the input's)."""
        return [saved_input(0)]

    def backward_macs(self, ins: list[Shape], out: Shape, call: Call) -> tuple[Formula, Formula]:
        """Each forward multiply-accumulate x·w appears once in the input's gradient (dy·w) and once in
        the weights' (dy·x): both cost the forward's MACs, and the input's is skipped when the input
        needs no gradient (the first layer)."""
        macs = self.macs(ins, out)
        return (macs if call.grads[0] else ZERO), macs


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


def transposed_crop(padding: object, h: int, w: int, k: tuple[int, int], s: tuple[int, int],
                    d: tuple[int, int]) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """((top, bottom, left, right) cropped from the full output, (extra rows, extra columns) of zeros
    after it) for a transposed convolution's `padding`. `same` is TensorFlow's (Keras's
    Conv2DTranspose): an output of H·s exactly, cropping d(f - 1) + 1 - s (the smaller half first),
    or, when the dilated kernel is narrower than the stride, adding the missing rows at the end."""
    if padding == "same":
        pads: list[int] = []
        extra: list[int] = []
        for f, st, dl in ((k[0], s[0], d[0]), (k[1], s[1], d[1])):
            c = dl * (f - 1) + 1 - st
            pads += [max(c, 0) // 2, max(c, 0) - max(c, 0) // 2]
            extra.append(max(-c, 0))
        return (pads[0], pads[1], pads[2], pads[3]), (extra[0], extra[1])
    return resolve_padding(padding, h, w, k[0], k[1], s[0], s[1]), (0, 0)


class ConvTranspose(Conv):
    """Transposed convolution (U-Net's up-convolution, DCGAN's generator): PyTorch's ConvTranspose2d.

    Each input value spreads over an f_h x f_w window of the output, windows s apart.

    H' = (H - 1)·s - p_top - p_bottom + d(f_h - 1) + output_padding + 1, likewise W' (PyTorch's rule;
    `padding: p` crops p on both sides; `same` gives H·s, as TensorFlow/Keras)
    MACs   = H·W·n_c·(f_h·f_w·n_c'/g)            every input value times its window of every filter,
                                                 as fvcore and FlopCounterMode count; bias excluded
    Params = f_h·f_w·(n_c'/g)·n_c (+ n_c' bias)
    Source: 2 x 2, stride 2: 28 x 28 x 512 -> 56 x 56 x 256 (U-Net), 28·28·512·(2·2·256) MACs.
    """

    name = "convtranspose"
    fields = {
        "filters": Field("int", doc="number of filters n_c' (output channels)"),
        "kernel": Field("pair", doc="filter size f, or [f_h, f_w]"),
        "stride": Field("pair", 1, "stride s, or [s_h, s_w]: the output grows s times"),
        "padding": Field("padding", 0, "p | [p_h, p_w] | [top, bottom, left, right] cropped from the output "
                                       "(PyTorch's padding); same: output H·s (TensorFlow's); valid = 0"),
        "output_padding": Field("pair", 0, "rows (and columns) added after the output, below max(s, d) "
                                           "(PyTorch's output_padding)", min=0),
        "dilation": Field("pair", 1, "dilation d (1 = dense kernel)"),
        "groups": Field("int", 1, "channel groups g; n_c and n_c' must divide by g"),
        "bias": Field("bool", True, "add a bias per filter"),
    }

    def _geometry(self, ins: list[Shape]) -> tuple[int, int, int, tuple[int, int, int, int]]:  # type: ignore[override]
        h, w, c = need_hwc(ins[0], self.name)
        if self.padding == "same" and self.output_padding != (0, 0):
            raise KindError("output_padding goes with a numeric padding (PyTorch's rule), not with same",
                            field="output_padding",
                            hint="drop output_padding (same already gives H·s), or write the padding as numbers")
        crop, _ = transposed_crop(self.padding, h, w, self.kernel, self.stride, self.dilation)
        return h, w, c, crop

    def _size(self, n: int, axis: int, lo: int, hi: int) -> int:
        f, s, d, op = self.kernel[axis], self.stride[axis], self.dilation[axis], self.output_padding[axis]
        sym = "HW"[axis]
        if op >= max(s, d):
            raise KindError(f"output_padding {op} along {sym} is not smaller than the stride {s} or the dilation {d}",
                            field="output_padding",
                            hint=f"use at most {max(s, d) - 1}: a larger one adds rows that no input reaches")
        if self.padding == "same":
            return n * s
        full = (n - 1) * s + d * (f - 1) + 1 + op
        if full - lo - hi < 1:
            extra = f" + {op} output_padding" if op else ""
            raise KindError(f"padding {lo} + {hi} leaves no output along {sym}: the full output has "
                            f"({n} - 1)·{s} + {d * (f - 1) + 1}{extra} = {full} values",
                            field="padding", hint=f"crop fewer than {full} in all")
        return full - lo - hi

    def out_shape(self, ins: list[Shape]) -> Shape:
        h, w, c, (t, b, l, r) = self._geometry(ins)
        _, n = self._channels(c)
        return (self._size(h, 0, t, b), self._size(w, 1, l, r), n)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        h, w, c, (t, b, l, r) = self._geometry(ins)
        parts = []
        for axis, (n, lo, hi) in enumerate(((h, t, b), (w, l, r))):
            sym = "HW"[axis]
            f, s, d, op = self.kernel[axis], self.stride[axis], self.dilation[axis], self.output_padding[axis]
            if self.padding == "same":
                parts.append(f"{sym}' = {sym}·s = {n}·{s} = {out[axis]}")
                continue
            crop = f" - {lo + hi}" if lo + hi else ""
            tap = f"{d}·({f} - 1)" if d > 1 else f"({f} - 1)"
            extra = f" + {op}" if op else ""
            parts.append(f"{sym}' = ({n} - 1)·{s}{crop} + {tap}{extra} + 1 = {out[axis]}")
        return "; ".join(parts) + f"; C' = {out[2]}"

    def _taps(self, c_out: int) -> tuple[Formula, ...]:
        kh, kw = self.kernel
        g = self.groups
        fh, fw = (q("f", kh), q("f", kw)) if kh == kw else (q("f_h", kh), q("f_w", kw))
        return fh, fw, (q("n_c'", c_out) if g == 1 else q("n_c'/g", c_out // g))

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        ws = [Weight("kernel", (*self._taps(out[2]), q("n_c", ins[0][2])))]
        if self.bias:
            ws.append(Weight("bias", (q("n_c'", out[2]),)))
        return ws

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        h, w, c = ins[0]
        return prod(q("H", h), q("W", w), q("n_c", c), prod(*self._taps(out[2])))

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out: Shape) -> Any:
        """Output o sits at o + p_top in the full (uncropped) output, where input i's window starts
        at i·s: in input pixels it lies at (o + p_top - (k_eff - 1)/2)/s. Neighbouring outputs are
        j/s apart, and the taps of one output span at most ceil(k_eff/s) inputs (the largest
        over the output positions; some see fewer)."""
        from ..receptive import RF, Axis, div
        f = ins[0]
        if f is None or len(in_shapes[0]) != 3:
            return None
        h, w = in_shapes[0][:2]
        (t, _, l, _), _ = transposed_crop(self.padding, h, w, self.kernel, self.stride, self.dilation)

        def up(a: Any, k: int, s: int, d: int, lo: int) -> Any:
            keff = d * (k - 1) + 1
            return Axis(a.size + (-(-keff // s) - 1) * a.jump, div(a.jump, s),
                        a.start + (Fraction(2 * lo - keff + 1, 2) / s) * a.jump)
        return RF(up(f.h, self.kernel[0], self.stride[0], self.dilation[0], t),
                  up(f.w, self.kernel[1], self.stride[1], self.dilation[1], l), f.spatial)
