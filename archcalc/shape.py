"""Shapes as the notes write them, H x W x C (or a flat length), and the one window formula.

Convolution and pooling share `window()`; DESIGN.md's lesson from Netscope is that two
copies of this arithmetic drift apart (floor in one, ceil in the other).
"""

from __future__ import annotations

import math
import re

from .errors import KindError

Shape = tuple[int, ...]  # (H, W, C) a map, (L, C) a sequence of L tokens, or (n,) a flat vector


def fmt(shape: Shape) -> str:
    """`28 x 28 x 6`, `197 x 768` for a sequence of tokens, or `400` for a flat vector."""
    return " x ".join(str(d) for d in shape)


def describe_shape(shape: Shape) -> str:
    """What a shape is, in words, for error messages: the three ranks are easy to confuse."""
    if len(shape) == 3:
        return f"an H x W x C map {fmt(shape)}"
    if len(shape) == 2:
        return f"a sequence of {shape[0]} tokens of {shape[1]} channels ({fmt(shape)})"
    return f"a flat vector of {fmt(shape)}"


#: How shapes may be shown: archcalc's H x W x C, PyTorch's C x H x W, each with the batch first
#: (torchinfo prints [1, 64, 112, 112]). Shapes are H x W x C inside archcalc whatever is shown.
SHAPE_STYLES = ("hwc", "chw", "nhwc", "nchw")
_STYLE_AXES = {"hwc": "H x W x C", "chw": "C x H x W", "nhwc": "N x H x W x C", "nchw": "N x C x H x W"}


def shape_style(style: str | None, layout: str = "HWC") -> str:
    """The style to show shapes in: `style` when given, else the input's layout (hwc or chw)."""
    if style is None:
        return layout.lower()
    if style not in SHAPE_STYLES:
        raise ValueError(f"unknown shape style {style!r}: one of {', '.join(SHAPE_STYLES)}")
    return style


def style_axes(style: str) -> str:
    """`N x C x H x W`: what the dimensions of a shape shown in `style` are."""
    return _STYLE_AXES[style]


def fmt_as(shape: Shape, style: str = "hwc", batch: int = 1) -> str:
    """A shape as `style` shows it: `112 x 112 x 64`, `64 x 112 x 112`, `1 x 64 x 112 x 112`;
    a flat vector as its length, after the batch for the n- styles (`1 x 1000`)."""
    dims = tuple(shape)
    if len(dims) == 3 and style in ("chw", "nchw"):
        dims = (dims[2], dims[0], dims[1])
    if style[0] == "n":
        dims = (batch, *dims)
    return " x ".join(str(d) for d in dims)


_SHAPE_TEXT = re.compile(r"^\s*(\d+)\s*[x×X,]\s*(\d+)\s*[x×X,]\s*(\d+)\s*$|^\s*(\d+)\s*$")


def parse_shape_text(text: str) -> Shape | None:
    """`224x224x3` (also `224,224,3`) as (H, W, C), `784` as (784,); None when it is neither.

    One notation for the spec's `input:` and the command line's `--input`.
    """
    m = _SHAPE_TEXT.match(text)
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def numel(shape: Shape) -> int:
    return math.prod(shape)


def need_hwc(shape: Shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        hint = ("turn the tokens back into a map with `tokenmap` (h, w) first" if len(shape) == 2
                else "place it before `flatten`, or use `dense` on vectors")
        raise KindError(f"{what} needs an H x W x C input, received {describe_shape(shape)}", hint=hint)
    return shape  # type: ignore[return-value]


def need_sequence(shape: Shape, what: str) -> tuple[int, int]:
    """(L, C) of a sequence of tokens, or an error saying how to get one."""
    if len(shape) != 2:
        hint = ("`tokens` turns an H x W x C map into H·W tokens (x.flatten(2).transpose(1, 2))"
                if len(shape) == 3 else "it works on the tokens, before any `tokenselect` or `flatten`")
        raise KindError(f"{what} needs a sequence of tokens (L x C), received {describe_shape(shape)}", hint=hint)
    return shape  # type: ignore[return-value]


def need_vector(shape: Shape, what: str) -> int:
    if len(shape) != 1:
        if len(shape) == 3:
            hint = ("to classify the whole map, add `flatten` (or `globalavgpool`) before it; for a Linear "
                    "applied at every position (nn.Linear on N x H x W x C, ConvNeXt's MLP), use `linear`")
        else:
            hint = ("for a Linear applied to every token, use `linear`; to classify, take the class token "
                    "with `tokenselect` (or `flatten` the tokens) first")
        raise KindError(f"{what} needs a flat vector, received {describe_shape(shape)}", hint=hint)
    return shape[0]


def same_padding(n: int, f: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same': output ceil(n/s); the odd pixel of padding goes after (bottom/right)."""
    out = -(-n // s)
    need = max((out - 1) * s + (f - 1) * d + 1 - n, 0)
    return need // 2, need - need // 2


def resolve_padding(padding: object, h: int, w: int, kh: int, kw: int, sh: int, sw: int,
                    dh: int = 1, dw: int = 1) -> tuple[int, int, int, int]:
    """Any accepted padding value -> (top, bottom, left, right)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        return same_padding(h, kh, sh, dh) + same_padding(w, kw, sw, dw)
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    if len(padding) == 2:  # type: ignore[arg-type]
        ph, pw = padding  # type: ignore[misc]
        return (ph, ph, pw, pw)
    return tuple(padding)  # type: ignore[arg-type,return-value]


def window(n: int, f: int, s: int, lo: int, hi: int, d: int = 1, ceil: bool = False,
           axis: str = "H") -> int:
    """Output positions of a window of size f (dilation d) sliding with stride s over n + lo + hi.

    floor((n + lo + hi - d(f-1) - 1)/s) + 1, the notes' floor((n + 2p - f)/s) + 1. With
    `ceil` (Caffe, PyTorch ceil_mode) the last partial window counts, unless it would start
    in the padding only (PyTorch's rule).
    """
    span = n + lo + hi
    eff = d * (f - 1) + 1
    if eff > span:
        dil = f" (dilated to {eff})" if d > 1 else ""
        raise KindError(f"kernel {f}{dil} is larger than its padded input along {axis}: {n}"
                        + (f" + {lo} + {hi} padding" if lo or hi else ""),
                        field="kernel",
                        hint=f"use `padding: same`, or a kernel of at most {span}")
    if ceil:
        out = -(-(span - eff) // s) + 1
        if (out - 1) * s >= n + lo:
            out -= 1
    else:
        out = (span - eff) // s + 1
    return out


def window_text(n: int, f: int, s: int, lo: int, hi: int, d: int = 1, ceil: bool = False,
                sym: str = "H") -> str:
    """The same computation written out: `H' = floor((32 + 0 - 5)/1) + 1 = 28`."""
    out = window(n, f, s, lo, hi, d, ceil)
    pad = f" + {lo + hi}" if lo + hi else ""
    eff = f"{d}·({f} - 1) - 1" if d > 1 else f"{f}"
    rnd = "ceil" if ceil else "floor"
    return f"{sym}' = {rnd}(({n}{pad} - {eff})/{s}) + 1 = {out}"
