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


#: Values per block of a normalisation's passes: the block stays in L2 between them.
NORM_BLOCK = 1 << 17


def _layernorm_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """A copy of a strided input (a crop's view: its reshape into rows), and a block's row sums and
    sums of squares (NORM_BLOCK // C rows each)."""
    size, c = math.prod(ins[0]), ins[0][-1]
    return (size + 2 * min(size // max(c, 1), max(1, NORM_BLOCK // max(c, 1)))) * itemsize


@forward("layernorm", weights=_affine_weights, scratch=_layernorm_scratch, shape=same_shape)
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


def _groupnorm_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    g, c = kind.groups, ins[0][-1]
    if c % g or len(ins[0]) not in (2, 4):
        raise GeometryError(f"groupnorm needs N x H x W x C (or N x C) with C divisible by groups={g}, "
                            f"received {ins[0]}")
    return ins[0]


def _groupnorm_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """A copy of a strided input (a crop's view: its reshape into rows), and per sample a few
    per-channel vectors (sums, means, squares, scale, shift and their temporaries)."""
    return (math.prod(ins[0]) + 12 * ins[0][-1]) * itemsize


@forward("groupnorm", weights=_affine_weights, scratch=_groupnorm_scratch, shape=_groupnorm_shape)
def groupnorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Per sample and group: over the group's channels (C/G consecutive ones) and every position.
    Per-channel sums down the positions give the means; the centred values of a block of positions
    at a time (in cache) give, by einsum, each channel's sum of squares (the output holds the
    centred values meanwhile); then x·a + b with a = gamma/sqrt(var + eps) and b = beta - mean·a
    per channel, as torch's kernel folds them (the one product per value is counted).
    Scratch: a copy of a strided input (its reshape), and per-channel vectors."""
    x = xs[0]
    g, c = kind.groups, x.shape[-1]
    _groupnorm_shape(kind, [x.shape])
    n = x.shape[0]
    rows = x.reshape(n, math.prod(x.shape[1:-1]), c)  # (not -1: a batch may be 0)
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


@forward("scale", weights=_scale_weights, scratch=_no_scratch, inplace=True, shape=same_shape)
def scale(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return t.scale(xs[0], ws["gamma"], out=xs[0] if own else None)
