"""Forwards of the normalisation layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Tally, WeightShapes, _need, forward, same_shape


def _bn_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    c = shapes[0][-1]
    return {"gamma": ((c,), True), "beta": ((c,), True), "mean": ((c,), False), "var": ((c,), False)}


#: Bytes of one band of a BatchNorm (multiply, then add while the band is in L2).
AFFINE_BAND_BYTES = 256 << 10


def _bn_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The folded scale and shift (and their temporaries), per channel, repeated along the width."""
    c = ins[0][-1]
    w = ins[0][2] if len(ins[0]) == 4 else 1
    return (2 * w + 4) * c * itemsize


@forward("batchnorm", weights=_bn_weights, scratch=_bn_scratch, inplace=True, shape=same_shape)
def batchnorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    """Inference form, folded: y = x·a + b with a = gamma/sqrt(var + eps), b = beta - mean·a."""
    x = xs[0]
    a = ws["gamma"] / np.sqrt(ws["var"] + x.dtype.type(float(kind.eps)))
    b = ws["beta"] - ws["mean"] * a
    y = x if own else np.empty(x.shape, x.dtype)
    if x.ndim != 4 or x.size == 0 or not (x.flags.c_contiguous and y.flags.c_contiguous):
        t.scale(x, a, out=y)
        y += b
        return y
    # In bands of rows, so the add finds the product in cache: one trip to memory, not two;
    # a and b repeated along the width, so each row is one long inner loop.
    n, h, w, c = x.shape
    x2, y2 = x.reshape(n * h, w * c), y.reshape(n * h, w * c)
    a, b = np.tile(a, w), np.tile(b, w)
    rows = max(1, AFFINE_BAND_BYTES // (w * c * x.itemsize))
    for r in range(0, n * h, rows):
        yb = y2[r:r + rows]
        t.scale(x2[r:r + rows], a, out=yb)
        yb += b
    return y


def _lrn_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 4, kind.name)
    return ins[0]


def _lrn_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The squares padded along the channels (size - 1 more of them), while the squares or the
    window sums are held beside them."""
    n, h, w, c = ins[0]
    return n * h * w * (2 * c + kind.size - 1) * itemsize


@forward("lrn", shape=_lrn_shape, scratch=_lrn_scratch)
def lrn(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Across channels, PyTorch's window (size//2 before, (size-1)//2 after): a/(k + alpha/n·sum a²)^beta.
    Computed in place after the window sums, so at most two arrays the input's size live beside it."""
    x = xs[0]
    n = kind.size
    sq = t.scale(x, x)
    pad = np.pad(sq, ((0, 0), (0, 0), (0, 0), (n // 2, (n - 1) // 2)))
    del sq
    c = x.shape[-1]
    acc = pad[..., 0:c].copy()
    for i in range(1, n):
        acc += pad[..., i:i + c]
    del pad
    t.scale(acc, float(kind.alpha) / n, out=acc)
    acc += float(kind.k)
    np.power(acc, float(kind.beta), out=acc)
    return np.divide(x, acc, out=acc)
