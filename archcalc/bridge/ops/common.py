"""Helpers the family modules share: padding and pair conversions between ONNX and the spec."""

from __future__ import annotations

from typing import Any

from ...shape import resolve_padding, same_padding
from ..importer import Unmapped


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
