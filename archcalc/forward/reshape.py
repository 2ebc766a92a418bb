"""Forwards of the layers that move or copy values: input, flatten, zero padding, crop, upsample, dropout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Tally, _no_scratch, _pads, forward


@forward("dropout", scratch=_no_scratch)
def dropout(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # inference: the identity



@forward("flatten", scratch=_no_scratch)
def flatten(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


@forward("zeropad")
def zeropad(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    t_, b, l, r = _pads(kind.padding, x.shape[1], x.shape[2], (1, 1), (1, 1))
    return np.pad(x, ((0, 0), (t_, b), (l, r), (0, 0)))


@forward("crop", scratch=_no_scratch)
def crop(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    top, left, h, w = kind.window([x.shape[1:] for x in xs])
    return xs[0][:, top:top + h, left:left + w]  # a view, as torch's slicing


@forward("upsample")
def upsample(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Nearest copies; bilinear uses half-pixel centres (PyTorch align_corners=False): 4 weights per output."""
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
    rows0, rows1 = x[:, y0], x[:, y1]
    one = x.dtype.type(1)
    out = (t.scale(rows0[:, :, x0], (one - fy) * (one - fx)) + t.scale(rows0[:, :, x1], (one - fy) * fx)
           + t.scale(rows1[:, :, x0], fy * (one - fx)) + t.scale(rows1[:, :, x1], fy * fx))
    return out.astype(x.dtype)


@forward("input", scratch=_no_scratch)
def input_(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # the executor feeds the input array in


@forward("identity", "droppath", scratch=_no_scratch)
def identity(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # droppath (stochastic depth) at inference: the identity
