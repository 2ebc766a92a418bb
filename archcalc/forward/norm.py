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


#: Values per block of a normalisation's passes: the block stays in L2 between them.
NORM_BLOCK = 1 << 17


@forward("layernorm", weights=_affine_weights, scratch=_no_scratch)
def layernorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Over the last axis: the channels of each position, or each token's features; the biased
    variance, as torch at inference. A block of rows at a time, in cache: row sums, the centred
    values written to the output, their squares summed by einsum (no array of squares), then the
    output scaled by each row's 1/sqrt(var + eps), by gamma, and shifted by beta."""
    x = xs[0]
    c = x.shape[-1]
    rows = x.reshape(-1, c)
    y = np.empty(rows.shape, x.dtype)
    dt = x.dtype.type
    step = max(1, NORM_BLOCK // max(c, 1))
    for i in range(0, rows.shape[0], step):
        v, o = rows[i:i + step], y[i:i + step]
        m = np.add.reduce(v, axis=1)
        m *= dt(1 / c)
        np.subtract(v, m[:, None], out=o)
        r = t.einsum("rc,rc->r", o, o, other=True)
        r *= dt(1 / c)
        r += dt(float(kind.eps))
        np.sqrt(r, out=r)
        np.reciprocal(r, out=r)
        t.scale(o, r[:, None], out=o)
        if "gamma" in ws:
            t.scale(o, ws["gamma"], out=o)
        if "beta" in ws:
            o += ws["beta"]
    return y.reshape(x.shape)


@forward("groupnorm", weights=_affine_weights, scratch=_no_scratch)
def groupnorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Per sample and group: over the group's channels (C/G consecutive ones) and every position.
    Per-channel sums down the positions give the means; the centred values of a block of positions
    at a time (in cache) give, by einsum, each channel's sum of squares (the output holds the
    centred values meanwhile); then x·a + b with a = gamma/sqrt(var + eps) and b = beta - mean·a
    per channel, as torch's kernel folds them (the one product per value is counted)."""
    x = xs[0]
    g, c = kind.groups, x.shape[-1]
    if c % g or x.ndim not in (2, 4):
        raise GeometryError(f"groupnorm needs N x H x W x C (or N x C) with C divisible by groups={g}, "
                            f"received {x.shape}")
    n = x.shape[0]
    rows = x.reshape(n, math.prod(x.shape[1:-1]), c)  # (not -1: the dry run's batch is 0)
    p = rows.shape[1]
    count = p * (c // g)
    y = np.empty(rows.shape, x.dtype)
    step = max(1, NORM_BLOCK // max(c, 1))

    def per_channel(sums: np.ndarray) -> np.ndarray:  # (C,) channel sums -> their group's mean, (C,)
        return np.repeat(sums.reshape(g, c // g).sum(axis=-1) / count, c // g)

    for b in range(n):
        mean = per_channel(rows[b].sum(axis=0))
        sq = np.zeros(c, x.dtype)
        for i in range(0, p, step):
            d = np.subtract(rows[b, i:i + step], mean, out=y[b, i:i + step])
            sq += t.einsum("pc,pc->c", d, d, other=True)
        a = 1 / np.sqrt(per_channel(sq) + x.dtype.type(float(kind.eps)))
        if "gamma" in ws:
            a = a * ws["gamma"]
        shift = -mean * a
        if "beta" in ws:
            shift = shift + ws["beta"]
        a, shift = a.astype(x.dtype), shift.astype(x.dtype)
        for i in range(0, p, step):
            o = t.scale(rows[b, i:i + step], a, out=y[b, i:i + step])
            o += shift
    return y.reshape(x.shape)


def _scale_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {"gamma": ((shapes[0][-1],), True)}


@forward("scale", weights=_scale_weights, scratch=_no_scratch, inplace=True)
def scale(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return t.scale(xs[0], ws["gamma"], out=xs[0] if own else None)
