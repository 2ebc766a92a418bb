"""Forwards of the normalisation layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Tally, WeightShapes, _no_scratch, forward


def _bn_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    c = shapes[0][-1]
    return {"gamma": ((c,), True), "beta": ((c,), True), "mean": ((c,), False), "var": ((c,), False)}


#: Bytes of one band of a BatchNorm (multiply, then add while the band is in L2).
AFFINE_BAND_BYTES = 256 << 10


@forward("batchnorm", weights=_bn_weights, scratch=_no_scratch, inplace=True)
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


@forward("lrn")
def lrn(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Across channels, PyTorch's window (size//2 before, (size-1)//2 after): a/(k + alpha/n·sum a²)^beta."""
    x = xs[0]
    n = kind.size
    sq = t.scale(x, x)
    pad = np.pad(sq, ((0, 0), (0, 0), (0, 0), (n // 2, (n - 1) // 2)))
    c = x.shape[-1]
    acc = sum(pad[..., i:i + c] for i in range(n))
    div = t.scale(acc, float(kind.alpha) / n) + float(kind.k)
    return (x / div ** float(kind.beta)).astype(x.dtype)
