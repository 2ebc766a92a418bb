"""Receptive field of every node: size, effective stride (jump) and first centre, per direction.

Convention (as in Araujo, Norris & Sim, "Computing receptive fields of convolutional neural
networks", Distill 2019), in input pixels along H and along W separately:

* `size`  r: how many input pixels one output value depends on, counting pixels that fall in
  the padding as if the image went on (padding is ignored for the size: it is never clipped);
* `jump`  j: the distance in input pixels between the centres of two neighbouring outputs;
* `start` s: the input coordinate of the centre of output 0, where input pixel i has coordinate
  i (so the input itself is r = 1, j = 1, s = 0); negative when it lies in the padding, x.5 for
  an even window.

A window of k taps (dilation d, so k_eff = d(k - 1) + 1), stride st, padding p_top before:
    r' = r + (k_eff - 1)·j      j' = j·st      s' = s + ((k_eff - 1)/2 - p_top)·j
Element-wise layers (activations, normalisation, layer scale, dropout) keep (r, j, s); GroupNorm
too, although its statistics run over all positions of a group (as BatchNorm's do over the data).
A kind may define `receptive_field` itself: transposed convolution (an upsampling by s whose
output o lies at (o + p_top - (k_eff - 1)/2)/s input pixels), adaptive pooling (windows H/H'
apart on average, the largest setting r) and multiply (the hull below, with the jump of the
inputs not broadcast along H or W) do.
Zero padding shifts s by -p·j. Once the spatial dimensions are gone (flatten, global pooling, then
dense layers) a value depends on every position: r' = r + (H - 1)·j, j' = j·H, s' = s + (H - 1)/2·j.
Where branches join (add, concat) the field is the hull of the inputs' fields for output 0:
the union of the intervals [s - (r-1)/2, s + (r-1)/2] - which equals the largest of them when
the branches are centred alike (same padding, as in ResNet and Inception) - and the jump is the
largest. Upsampling by u (align_corners=False): j' = j/u, s' = s + (1/(2u) - 1/2)·j, r grows by j
for bilinear (two taps). Values are exact: integers while they are whole (most of them; plain
ints keep `summarize -f json` off Fraction arithmetic), fractions where they are not.

Tokens keep the field of the map position they come from, and per-token layers keep it. Layers that
mix tokens have no field of this kind, and say so rather than give a wrong number (`mixing`):
attention over all tokens, a product of activations over tokens, or a flattened sequence make
every output depend on every input pixel ("global"); windowed attention (Swin) makes an output
depend on the tokens of its window, which is no sliding window of fixed size ("windows").
Everything after such a layer inherits the word, "global" over "windows".
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .record import Frozen
from .shape import resolve_padding

if TYPE_CHECKING:
    from .analysis import Analysis

NOTE = ("receptive field in input pixels per direction (H, W): size r (padding ignored, never clipped), "
        "jump j between neighbouring outputs, start s = input coordinate of output 0's centre "
        "(input pixel i at coordinate i); the hull over all paths where branches join")

_ELEMENTWISE = {"relu", "relu6", "sigmoid", "tanh", "hardswish", "softmax", "batchnorm", "lrn", "dropout",
                "silu", "gelu", "hardsigmoid", "leakyrelu", "prelu", "layernorm", "groupnorm", "scale", "identity",
                "droppath"}


#: An exact figure: an int while it is whole, a Fraction otherwise.
Exact = int | Fraction


def div(a: Exact, b: int) -> Exact:
    """a / b exactly: an int when b divides a (never a float, as int / int would be)."""
    if isinstance(a, int):
        return a // b if a % b == 0 else Fraction(a, b)
    q = a / b
    return q.numerator if q.denominator == 1 else q


class Axis(Frozen):
    """Size, jump and start along one direction (see the module docstring)."""

    __slots__ = ("size", "jump", "start")

    def __init__(self, size: Exact, jump: Exact, start: Exact) -> None:
        self.size, self.jump, self.start = size, jump, start

    def window(self, k: int, stride: int, pad_before: int, dilation: int = 1) -> Axis:
        keff = dilation * (k - 1) + 1
        return Axis(self.size + (keff - 1) * self.jump, self.jump * stride,
                    self.start + (div(keff - 1, 2) - pad_before) * self.jump)

    def whole(self, n: int) -> Axis:
        """A value depending on all n positions (global pooling, flatten)."""
        return Axis(self.size + (n - 1) * self.jump, self.jump * n, self.start + div(n - 1, 2) * self.jump)


class RF(Frozen):
    """Receptive field of a node, along H and W: `spatial` is False once the spatial dimensions
    have been collapsed; `mixing` is "global" or "windows" once tokens were mixed (then h and w
    mean nothing)."""

    __slots__ = ("h", "w", "spatial", "mixing")

    def __init__(self, h: Axis, w: Axis, spatial: bool = True, mixing: str = "") -> None:
        self.h, self.w, self.spatial, self.mixing = h, w, spatial, mixing

    @property
    def size(self) -> tuple[Exact, Exact]:
        return (self.h.size, self.w.size)

    @property
    def jump(self) -> tuple[Exact, Exact]:
        return (self.h.jump, self.w.jump)

    @property
    def start(self) -> tuple[Exact, Exact]:
        return (self.h.start, self.w.start)

    @staticmethod
    def mixed(how: str, spatial: bool = False) -> RF:
        """The field of a layer that mixes tokens: "global" or "windows", no figures."""
        zero = Axis(0, 0, 0)
        return RF(zero, zero, spatial, how)

    def to_dict(self) -> dict[str, Any]:
        if self.mixing:
            return {"size": None, "jump": None, "start": None, "spatial": self.spatial, "mixing": self.mixing}
        return {"size": [_num(x) for x in self.size], "jump": [_num(x) for x in self.jump],
                "start": [_num(x) for x in self.start], "spatial": self.spatial}

    def text(self) -> str:
        """`212 x 212, j 32, s 0` (one figure when H and W agree); `global` or `windows` once tokens mix."""
        if self.mixing:
            return MIXING[self.mixing]
        def pair(p: tuple[Exact, Exact], sep: str = " x ") -> str:
            return _fmt(p[0]) if p[0] == p[1] and sep != " x " else sep.join(_fmt(x) for x in p)
        return f"{pair(self.size)}, j {pair(self.jump, '/')}, s {pair(self.start, '/')}"


def _num(x: Exact) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def _fmt(x: Exact) -> str:
    return str(int(x)) if x.denominator == 1 else f"{float(x):g}"


#: How a field that is no window of pixels is printed.
MIXING = {"global": "global (every input pixel)", "windows": "windows (attention windows, no sliding field)"}


def _mixed(fields: list[RF], out_shape: tuple[int, ...]) -> RF:
    """What follows a mixing layer mixes at least as much: "global" over "windows"."""
    how = "global" if any(f.mixing == "global" for f in fields) else "windows"
    return RF.mixed(how, len(out_shape) == 3)


def _hull(fields: list[RF]) -> RF:
    axes = []
    for pick in (lambda f: f.h, lambda f: f.w):
        lo = min(pick(f).start - div(pick(f).size - 1, 2) for f in fields)
        hi = max(pick(f).start + div(pick(f).size - 1, 2) for f in fields)
        axes.append(Axis(hi - lo + 1, max(pick(f).jump for f in fields), div(lo + hi, 2)))
    return RF(axes[0], axes[1], all(f.spatial for f in fields))


def node_field(kind: Any, ins: list[RF], in_shapes: list[tuple[int, ...]], out_shape: tuple[int, ...]) -> RF | None:
    """The field of one node from its inputs' fields; None for a kind whose geometry is unknown."""
    name = kind.name
    if name == "input":   # a flat input has no pixels: no field anywhere
        one = Axis(1, 1, 0)
        return RF(one, one) if len(out_shape) == 3 else None
    mixed = [f for f in ins if f is not None and f.mixing]
    if mixed:  # once tokens are mixed, every later layer's field is (a kind's own rule too)
        return _mixed(mixed, out_shape)
    custom = getattr(kind, "receptive_field", None)
    if callable(custom):  # attention mixes even a learned token's field (None): the kind decides
        return custom(ins, in_shapes, out_shape)
    if any(f is None for f in ins):
        return None
    if name in ("add", "concat"):  # along tokens, output 0 is the first input's token 0
        return ins[0] if getattr(kind, "axis", "") == "tokens" else _hull(ins)
    f = ins[0]
    if name in _ELEMENTWISE:
        return f
    if len(in_shapes[0]) == 2:   # a sequence: a layer that keeps the tokens works token by token
        if name == "flatten":
            return RF.mixed("global")
        return f if len(out_shape) == 2 and out_shape[0] == in_shapes[0][0] else None
    if len(in_shapes[0]) != 3:   # a flat vector: its field is already collapsed, dense keeps it
        return RF(f.h, f.w, False) if name in ("dense", "flatten") else None
    h, w = in_shapes[0][0], in_shapes[0][1]
    if name in ("conv", "depthwise"):
        (kh, kw), (sh, sw), (dh, dw) = kind.kernel, kind.stride, kind.dilation
        t, _, l, _ = resolve_padding(kind.padding, h, w, kh, kw, sh, sw, dh, dw)
        return RF(f.h.window(kh, sh, t, dh), f.w.window(kw, sw, l, dw))
    if name in ("maxpool", "avgpool"):
        kh, kw = kind.size
        sh, sw = kind.stride if tuple(kind.stride) != (0, 0) else kind.size
        sh, sw = sh or kh, sw or kw
        t, _, l, _ = resolve_padding(kind.padding, h, w, kh, kw, sh, sw)
        return RF(f.h.window(kh, sh, t), f.w.window(kw, sw, l))
    if name in ("globalavgpool", "globalmaxpool", "flatten", "dense"):
        return RF(f.h.whole(h), f.w.whole(w), False)
    if name == "zeropad":
        p = kind.padding
        t, _, l, _ = (p,) * 4 if isinstance(p, int) else (p[0], p[0], p[1], p[1]) if len(p) == 2 else p
        return RF(Axis(f.h.size, f.h.jump, f.h.start - t * f.h.jump),
                  Axis(f.w.size, f.w.jump, f.w.start - l * f.w.jump))
    if name == "upsample":
        uh, uw = kind.scale
        extra = 1 if kind.mode == "bilinear" else 0

        def up(a: Axis, u: int) -> Axis:
            return Axis(a.size + extra * a.jump, div(a.jump, u),
                        a.start + (Fraction(1, 2 * u) - Fraction(1, 2)) * a.jump)
        return RF(up(f.h, uh), up(f.w, uw))
    if tuple(in_shapes[0][:2]) == tuple(out_shape[:2]) and len(out_shape) == 3:
        return f  # an unknown kind that keeps H x W: assumed element-wise
    return None


#: A field is followed while the numerators and denominators of its numbers stay within this
#: many bits. Jumps multiply strides (each up to 2^63 - 1) layer after layer, so past it (strides
#: of 2^62 over a dozen layers) a field is reported as unknown: no float could show it, and
#: following it would cost ever larger numbers at every layer.
MAX_BITS = 1000


def _too_large(f: RF) -> bool:
    return any(x.numerator.bit_length() > MAX_BITS or x.denominator.bit_length() > MAX_BITS
               for a in (f.h, f.w) for x in (a.size, a.jump, a.start))


def fields(an: Analysis) -> list[RF | None]:
    """The receptive field of every node (aligned with `an.rows`); None where it is unknown
    (a kind whose geometry is unknown, or numbers past MAX_BITS)."""
    out: list[RF | None] = []
    for r in an.rows:
        node = r.node
        ins = [out[i] for i in node.inputs]
        f = node_field(node.kind, ins, list(r.input_shapes), r.output_shape)
        out.append(None if f is not None and _too_large(f) else f)
    return out


__all__ = ["MIXING", "NOTE", "RF", "Axis", "Exact", "div", "fields", "node_field"]


def row_field(an: Analysis, row: Any, all_fields: list[RF | None]) -> RF | None:
    """The field of a row: its node's, or for a block folded with --depth, its output node's."""
    if row.node is not None:
        return all_fields[row.index]
    inst = an.graph.instances.get(row.name)
    return all_fields[inst.output] if inst is not None else None
