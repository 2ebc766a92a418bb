"""Forwards of the normalisation layers and the per-channel scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, _no_scratch, forward


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


def _affine_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    c = shapes[0][-1]
    if not kind.affine:
        return {}
    return {"gamma": ((c,), True), **({"beta": ((c,), True)} if getattr(kind, "bias", True) else {})}


def _normalise(t: Tally, x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    """(x - mean)/sqrt(var + eps) over `axes` (the biased variance, as torch at inference)."""
    d = x - x.mean(axis=axes, keepdims=True)
    var = t.scale(d, d).mean(axis=axes, keepdims=True)
    var += x.dtype.type(eps)
    np.sqrt(var, out=var)
    np.reciprocal(var, out=var)
    return t.scale(d, var, out=d)


def _affine(t: Tally, y: np.ndarray, ws: dict[str, np.ndarray]) -> np.ndarray:
    if "gamma" in ws:
        t.scale(y, ws["gamma"], out=y)
    if "beta" in ws:
        y += ws["beta"]
    return y


def _two_copies(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The centred values and their squares, each the size of the output."""
    return 2 * math.prod(out) * itemsize


@forward("layernorm", weights=_affine_weights, scratch=_two_copies)
def layernorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Over the last axis: the channels of each position, or each token's features."""
    x = xs[0]
    return _affine(t, _normalise(t, x, (-1,), float(kind.eps)), ws)


@forward("groupnorm", weights=_affine_weights, scratch=_two_copies)
def groupnorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Per sample and group: over the group's channels (C/G consecutive ones) and every position.
    Sums run down the positions of each channel (adding contiguous rows), then over a group's
    channels; the per-channel mean and 1/sqrt(var + eps)·gamma then broadcast over the rows."""
    x = xs[0]
    g, c = kind.groups, x.shape[-1]
    if c % g or x.ndim not in (2, 4):
        raise GeometryError(f"groupnorm needs N x H x W x C (or N x C) with C divisible by groups={g}, "
                            f"received {x.shape}")
    n = x.shape[0]
    rows = x.reshape(n, math.prod(x.shape[1:-1]), c)  # (not -1: the dry run's batch is 0)
    count = rows.shape[1] * (c // g)

    def per_channel(sums: np.ndarray) -> np.ndarray:  # (N, C) channel sums -> their group's mean, (N, 1, C)
        means = sums.reshape(n, g, c // g).sum(axis=-1) / count
        return np.repeat(means, c // g, axis=1)[:, None, :]

    d = rows - per_channel(rows.sum(axis=1))
    var = per_channel(t.scale(d, d).sum(axis=1))
    a = 1 / np.sqrt(var + float(kind.eps))
    if "gamma" in ws:  # gamma folded into the per-channel scale: one pass over the values, not two
        a = a * ws["gamma"]
    t.scale(d, a.astype(x.dtype), out=d)
    if "beta" in ws:
        d += ws["beta"]
    return d.reshape(x.shape)


def _scale_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {"gamma": ((shapes[0][-1],), True)}


@forward("scale", weights=_scale_weights, scratch=_no_scratch, inplace=True)
def scale(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return t.scale(xs[0], ws["gamma"], out=xs[0] if own else None)
