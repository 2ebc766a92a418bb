"""Helpers the family modules share: padding and pair conversions between ONNX and the spec."""

from __future__ import annotations

from typing import Any

from ...shape import resolve_padding, same_padding
from ..importer import Unmapped


def real(x: float) -> Any:
    """A float32 attribute as the number its author wrote (1e-05, not 9.99999974738e-06)."""
    v = float(f"{x:.6g}")
    return int(v) if v == int(v) and abs(v) < 2**53 else v


def pair(v: tuple[int, int] | list[int]) -> Any:
    """A spec value for (h, w): one number when square."""
    a, b = v
    return a if a == b else [a, b]


def spec_padding(t: int, b: int, l: int, r: int) -> Any:
    """(top, bottom, left, right) as the spec writes it: None for none, p, [p_h, p_w] or all four."""
    if t == b == l == r:
        return t or None
    if t == b and l == r:
        return [t, l]
    return [t, b, l, r]


def onnx_pads(attrs: dict[str, Any], hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
              d: tuple[int, int] = (1, 1)) -> Any:
    """The spec padding of an ONNX Conv or pool (auto_pad or explicit pads [t, l, b, r])."""
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "VALID":
        return None
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        (t, b), (l, r) = (same_padding(n, f, st, dl) for n, f, st, dl in zip(hw, k, s, d, strict=True))
        if auto == "SAME_UPPER":
            return "same" if (t, b, l, r) != (0, 0, 0, 0) else None
        t, b, l, r = b, t, r, l
        return spec_padding(t, b, l, r)
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if len(pads) != 4:
        raise Unmapped(f"pads {pads} are not those of a 2-D window")
    t, l, b, r = pads
    return spec_padding(t, b, l, r)


def window_attrs(attrs: dict[str, Any], k: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    s = tuple(attrs.get("strides", [1, 1]))
    d = tuple(attrs.get("dilations", [1, 1]))
    if len(k) != 2 or len(s) != 2 or len(d) != 2:
        raise Unmapped("only 2-D windows (N x C x H x W)")
    return s, d  # type: ignore[return-value]


def pads_of(kind: Any, shape: tuple[int, ...], k: tuple[int, int], s: tuple[int, int],
            d: tuple[int, int] = (1, 1)) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a kind's padding on an H x W x C input."""
    return resolve_padding(kind.padding, shape[0], shape[1], k[0], k[1], s[0], s[1], d[0], d[1])


def torch_padding(t: int, b: int, l: int, r: int) -> tuple[Any, tuple[int, int, int, int] | None]:
    """PyTorch's symmetric `padding=`, or 0 and a separate (left, right, top, bottom) ZeroPad2d."""
    if t == b and l == r:
        return (t if t == l else (t, l)), None
    return 0, (l, r, t, b)


# --- layouts: archcalc shapes <-> ONNX and PyTorch tensors ------------------------------------
# A map H x W x C is N x C x H x W in ONNX and PyTorch, a sequence L x C is N x L x C, a flat
# vector n is N x n. Kinds that act on the last archcalc axis (the channels) act on ONNX axis 1
# of a map and of a vector, and on axis 2 of a sequence.

def chan_axis(shape: tuple[int, ...]) -> int:
    """The ONNX (and PyTorch) axis of an archcalc shape's channels (its last axis)."""
    return 2 if len(shape) == 2 else 1


def onnx_dims(shape: tuple[int, ...], batch: int) -> list[int]:
    """The ONNX dimensions of an archcalc shape at a batch."""
    if len(shape) == 3:
        return [batch, shape[2], shape[0], shape[1]]
    return [batch, *shape]


def channel_shape(shape: tuple[int, ...], c: int) -> tuple[int, ...]:
    """The shape of a per-channel tensor that broadcasts over an ONNX tensor of `shape`:
    (C, 1, 1) on a map, (C,) on a sequence or a vector."""
    return (c, 1, 1) if len(shape) == 3 else (c,)


def to_last(b: Any, x: str, shape: tuple[int, ...]) -> str:
    """A map moved to channels last (N x H x W x C) for an operator on the last axis; other
    shapes already have their channels last."""
    return b.node("Transpose", [x], perm=[0, 2, 3, 1]) if len(shape) == 3 else x


def from_last(b: Any, y: str, shape: tuple[int, ...]) -> str:
    """The inverse of `to_last`."""
    return b.node("Transpose", [y], perm=[0, 3, 1, 2]) if len(shape) == 3 else y


def torch_last(shape: tuple[int, ...]) -> str:
    """A PyTorch forward expression applying module `{m}` to `{x}` on its last archcalc axis
    (a map is permuted to channels last and back, as ConvNeXt's LayerNorm2d does)."""
    return "{m}({x}.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)" if len(shape) == 3 else ""


def nchw_channels(a: Any, shape: tuple[int, ...]) -> Any:
    """A per-channel weight (C,) as it broadcasts in ONNX and PyTorch (`channel_shape`)."""
    return a.reshape(channel_shape(shape, a.shape[0])) if len(shape) == 3 else a


def nchw_values(a: Any, shape: tuple[int, ...]) -> Any:
    """A weight of an activation's own shape (H, W, C) as (1, C, H, W); (L, C) as (1, L, C)."""
    return (a.transpose(2, 0, 1) if a.ndim == 3 else a)[None]
