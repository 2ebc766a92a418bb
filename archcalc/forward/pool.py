"""Forwards of windowed and global pooling.

A windowed pool visits only the taps that read the input (`_taps`): padding changes no maximum
and adds nothing to a sum, so nothing padded is ever built. Each tap updates, in the output, the
block of positions whose window reads an input pixel with it (`_reach`), and the windows that
read no input pixel at all (PyTorch refuses such pools; the walker allows them) are set to 0
after. The divisor of an average is the product of a row count and a column count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Tally, _need, _pads, _positions, _reach, _taps, forward


def _pool_geometry(kind: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    k = kind.size
    s = tuple(si or ki for si, ki in zip(kind.stride, k, strict=True))
    return k, s  # type: ignore[return-value]


def _pool_plan(kind: Any, shape: tuple[int, ...]) -> tuple[int, int, tuple[int, int, int, int]]:
    """(ho, wo, (top, bottom, left, right)) of a pool over an N x H x W x C input."""
    _need(shape, 4, kind.name)
    k, s = _pool_geometry(kind)
    _, h, w, _ = shape
    pads = _pads(kind.padding, h, w, k, s)
    return (_positions(h, pads[0], pads[1], k[0], s[0], ceil=kind.ceil),
            _positions(w, pads[2], pads[3], k[1], s[1], ceil=kind.ceil), pads)


def _pool_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    n, _, _, c = ins[0]
    ho, wo, _ = _pool_plan(kind, ins[0])
    return (n, ho, wo, c)


def _counts(k: int, s: int, lo: int, hi: int, n: int, out: int, pad: bool) -> np.ndarray:
    """Per output position along one axis, the window's cells that count in an average: those in
    the padded extent [0, lo + n + hi) (`pad`, PyTorch's count_include_pad; a ceil-mode overhang
    never counts), or those on the input [lo, lo + n)."""
    start = np.arange(out) * s
    if pad:
        return np.minimum(start + k, lo + n + hi) - start
    return np.maximum(np.minimum(start + k, lo + n) - np.maximum(start, lo), 0)


def _hits(k: int, s: int, lo: int, n: int, out: int) -> np.ndarray:
    """Per output position along one axis, whether its window reads an input pixel."""
    return _counts(k, s, lo, 0, n, out, False) > 0


def _pool(kind: Any, x: np.ndarray, fill: float, combine: Any) -> tuple[np.ndarray, tuple[Any, ...]]:
    """The output, started at `fill`, combined with every tap that reads the input."""
    k, s = _pool_geometry(kind)
    n, h, w, c = x.shape
    ho, wo, (t, _, l, _) = _pool_plan(kind, x.shape)
    y = None
    for i in _taps(k[0], s[0], t, h, ho):
        r0, r1, a = _reach(i, s[0], t, h, ho)
        for j in _taps(k[1], s[1], l, w, wo):
            c0, c1, b = _reach(j, s[1], l, w, wo)
            view = x[:, a:a + (r1 - r0 - 1) * s[0] + 1:s[0], b:b + (c1 - c0 - 1) * s[1] + 1:s[1]]
            if y is None:  # the first tap: a copy when it reaches every output (no pass to fill)
                if (r0, r1, c0, c1) == (0, ho, 0, wo):
                    y = view.copy()
                    continue
                y = np.full((n, ho, wo, c), fill, dtype=x.dtype)
            out = y[:, r0:r1, c0:c1]
            combine(out, view, out=out)
    if y is None:  # no window reads the input at all
        y = np.full((n, ho, wo, c), fill, dtype=x.dtype)
    return y, (k, s, h, w, ho, wo)


def _maxpool_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    return 6 * (out[1] + out[2]) * 8  # per axis, which windows read the input (and temporaries)


@forward("maxpool", shape=_pool_shape, scratch=_maxpool_scratch)
def maxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Padding never wins a max (it is -inf in PyTorch and TensorFlow): only taps that read the
    input are taken. A window of padding only gives 0, as in average pooling, rather than -inf,
    which would turn into NaN downstream (-inf x 0)."""
    y, (k, s, h, w, ho, wo) = _pool(kind, xs[0], -np.inf, np.maximum)
    t_, _, l, _ = _pool_plan(kind, xs[0].shape)[2]
    rows, cols = _hits(k[0], s[0], t_, h, ho), _hits(k[1], s[1], l, w, wo)
    if not rows.all():
        y[:, ~rows] = 0
    if not cols.all():
        y[:, :, ~cols] = 0
    return y


def _avgpool_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The divisors' reciprocals, one per output position of a sample, and their two factors."""
    return out[1] * out[2] * itemsize + 6 * (out[1] + out[2]) * 8


@forward("avgpool", shape=_pool_shape, scratch=_avgpool_scratch)
def avgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Window sums, then one multiply by 1/divisor per output (a counted non-kernel multiply).

    The divisor is the window size, padding included when `count_pad` (PyTorch's default);
    the overhang of a ceil-mode window never counts, padding or not.
    """
    x = xs[0]
    y, (k, s, h, w, ho, wo) = _pool(kind, x, 0, np.add)
    t_, b, l, r = _pool_plan(kind, x.shape)[2]
    rows = _counts(k[0], s[0], t_, b, h, ho, kind.count_pad)
    cols = _counts(k[1], s[1], l, r, w, wo, kind.count_pad)
    inv = np.multiply.outer(rows.astype(x.dtype), cols.astype(x.dtype))  # one array, the size of a sample's map
    np.maximum(inv, 1, out=inv)  # a window of padding only averages to 0
    np.divide(1, inv, out=inv)
    return t.scale(y, inv[None, :, :, None], out=y)


def _global_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 4, kind.name)
    n, _, _, c = ins[0]
    return (n, 1, 1, c) if kind.keepdims else (n, c)


def _global_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    return 0  # NumPy reduces without a copy of the input


@forward("globalavgpool", shape=_global_shape, scratch=_global_scratch)
def globalavgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    y = x.sum(axis=(1, 2), keepdims=kind.keepdims)
    return t.scale(y, x.dtype.type(1 / (x.shape[1] * x.shape[2])), out=y)


@forward("globalmaxpool", shape=_global_shape, scratch=_global_scratch)
def globalmaxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0].max(axis=(1, 2), keepdims=kind.keepdims)
