"""Forwards of the normalisation layers and the per-channel scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, _need, _no_scratch, forward, same_shape


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


@forward("layernorm", weights=_affine_weights, scratch=_two_copies, shape=same_shape)
def layernorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Over the last axis: the channels of each position, or each token's features."""
    x = xs[0]
    return _affine(t, _normalise(t, x, (-1,), float(kind.eps)), ws)


def _groupnorm_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    g, c = kind.groups, ins[0][-1]
    if c % g or len(ins[0]) not in (2, 4):
        raise GeometryError(f"groupnorm needs N x H x W x C (or N x C) with C divisible by groups={g}, "
                            f"received {ins[0]}")
    return ins[0]


@forward("groupnorm", weights=_affine_weights, scratch=_two_copies, shape=_groupnorm_shape)
def groupnorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Per sample and group: over the group's channels (C/G consecutive ones) and every position.
    Sums run down the positions of each channel (adding contiguous rows), then over a group's
    channels; the per-channel mean and 1/sqrt(var + eps)·gamma then broadcast over the rows.
    Scratch: the squares of the centred values, and a copy of a strided input (its reshape)."""
    x = xs[0]
    g, c = kind.groups, x.shape[-1]
    _groupnorm_shape(kind, [x.shape])
    n = x.shape[0]
    rows = x.reshape(n, math.prod(x.shape[1:-1]), c)  # (not -1: a batch may be 0)
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


@forward("scale", weights=_scale_weights, scratch=_no_scratch, inplace=True, shape=same_shape)
def scale(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return t.scale(xs[0], ws["gamma"], out=xs[0] if own else None)
