"""Forwards of the layers that move or copy values: input, flatten, zero padding, crop, upsample, dropout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, _need, _no_scratch, _pads, forward, same_shape


@forward("dropout", scratch=_no_scratch, view=True, shape=same_shape)
def dropout(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # inference: the identity


def _flatten_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    return (ins[0][0], math.prod(ins[0][1:]))


@forward("flatten", scratch=_no_scratch, shape=_flatten_shape, reshapes=True)
def flatten(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]  # a view when C-contiguous (as most forwards return), else a copy: the output itself
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


def _zeropad_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 4, kind.name)
    n, h, w, c = ins[0]
    t_, b, l, r = _pads(kind.padding, h, w, (1, 1), (1, 1))
    return (n, h + t_ + b, w + l + r, c)


@forward("zeropad", shape=_zeropad_shape, scratch=_no_scratch)
def zeropad(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    t_, b, l, r = _pads(kind.padding, x.shape[1], x.shape[2], (1, 1), (1, 1))
    return np.pad(x, ((0, 0), (t_, b), (l, r), (0, 0)))


def _crop_window(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, int, int, int]:
    """(top, left, h, w) of the rows and columns kept: centred, the odd one off the end, as
    torchvision's center_crop; the size from `size:` or the second input's H x W."""
    _need(ins[0], 4, kind.name)
    _, h, w, _ = ins[0]
    if len(ins) == 2:
        _need(ins[1], 4, kind.name)
        oh, ow = ins[1][1:3]
    else:
        oh, ow = kind.size
    if not (0 < oh <= h and 0 < ow <= w):
        raise GeometryError(f"crop of {h} x {w} to {oh} x {ow}")
    return (h - oh) // 2, (w - ow) // 2, oh, ow


def _crop_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _, _, h, w = _crop_window(kind, ins)
    return (ins[0][0], h, w, ins[0][3])


@forward("crop", scratch=_no_scratch, shape=_crop_shape, strided=True)
def crop(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    top, left, h, w = _crop_window(kind, [x.shape for x in xs])
    return xs[0][:, top:top + h, left:left + w]  # a view, as torch's slicing


def _upsample_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 4, kind.name)
    n, h, w, c = ins[0]
    return (n, h * kind.scale[0], w * kind.scale[1], c)


def _upsample_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """Nearest: the rows repeated, before the columns are. Bilinear: one source row block
    (N x H' x W x C), one weighted term the size of the output, one weight per output position
    of a sample, and per axis the source positions and fractions (float64 and index arrays)."""
    n, h, w, c = ins[0]
    _, ho, wo, _ = out
    if kind.mode == "nearest":
        return n * ho * w * c * itemsize
    return (n * ho * w * c + n * ho * wo * c + ho * wo) * itemsize + 6 * 8 * (ho + wo)


@forward("upsample", shape=_upsample_shape, scratch=_upsample_scratch)
def upsample(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Nearest copies; bilinear uses half-pixel centres (PyTorch align_corners=False): 4 weights per
    output, summed term by term into one array (each term's source rows gathered only while used)."""
    x = xs[0]
    sh, sw = kind.scale
    if kind.mode == "nearest":
        return np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)
    n, h, w, c = x.shape

    def axis(size: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.clip((np.arange(size * s) + 0.5) / s - 0.5, 0, size - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, size - 1), (src - lo).astype(x.dtype)

    y0, y1, fy = axis(h, sh)
    x0, x1, fx = axis(w, sw)
    fy, fx = fy[None, :, None, None], fx[None, None, :, None]
    one = x.dtype.type(1)
    out = np.empty((n, h * sh, w * sw, c), dtype=x.dtype)  # C-contiguous, as planned (a gather is not)
    first = True
    for rows_at, wy in ((y0, one - fy), (y1, fy)):
        rows = x[:, rows_at]
        for cols_at, wx in ((x0, one - fx), (x1, fx)):
            term = rows[:, :, cols_at]
            if first:
                t.scale(term, wy * wx, out=out)
                first = False
            else:
                t.scale(term, wy * wx, out=term)
                out += term
            del term
        del rows
    return out


@forward("input", scratch=_no_scratch, view=True, shape=same_shape)
def input_(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # the executor feeds the input array in


@forward("identity", "droppath", scratch=_no_scratch, view=True, shape=same_shape)
def identity(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # droppath (stochastic depth) at inference: the identity
