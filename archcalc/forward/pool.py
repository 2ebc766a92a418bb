"""Forwards of windowed, global and adaptive pooling.

A windowed pool visits only the taps that read the input (`_taps`): padding changes no maximum
and adds nothing to a sum, so nothing padded is ever built. Each tap updates, in the output, the
block of positions whose window reads an input pixel with it (`_reach`), and the windows that
read no input pixel at all (PyTorch refuses such pools; the walker allows them) are set to 0
after. The divisor of an average is the product of a row count and a column count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Tally, _need, _pads, _positions, _reach, _taps, forward, joined


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


def _adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i·n/o), ceil((i+1)·n/o)) for i < o."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def _adaptive(x: np.ndarray, size: tuple[int, int], reduce: Any) -> np.ndarray:
    """Reduce each window, rows first then columns (both reductions are separable). When the
    output divides the input, the windows tile it: one reshape (splitting axes: a view, of a
    strided input too) and one reduction."""
    n, h, w, c = x.shape
    oh, ow = size
    if h % oh == 0 and w % ow == 0:
        return reduce(x.reshape(n, oh, h // oh, ow, w // ow, c), axis=(2, 4))
    rows = joined([reduce(x[:, a:b], axis=1) for a, b in _adaptive_windows(h, oh)], axis=1, stack=True)
    return joined([reduce(rows[:, :, a:b], axis=2) for a, b in _adaptive_windows(w, ow)], axis=2, stack=True)


def _adaptive_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 4, kind.name)
    return (ins[0][0], *kind.size, ins[0][3])


def _adaptive_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """Rows reduced first: their pieces and their stack (N x H' x W x C each), then the columns'
    pieces; an average's divisors: the window heights and widths and two arrays of H' x W'."""
    n, h, w, c = ins[0]
    oh, ow = kind.size
    divisors = (2 * oh * ow + oh + ow) * itemsize if kind.name == "adaptiveavgpool" else 0
    if h % oh == 0 and w % ow == 0:
        return divisors
    return (2 * n * oh * w * c + n * oh * ow * c) * itemsize + divisors


@forward("adaptiveavgpool", shape=_adaptive_shape, scratch=_adaptive_scratch)
def adaptiveavgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Window sums, then one counted multiply per output by 1/(window height · window width), in place."""
    x = xs[0]
    sums = _adaptive(x, kind.size, np.sum)
    hs = np.array([b - a for a, b in _adaptive_windows(x.shape[1], kind.size[0])], dtype=x.dtype)
    ws_ = np.array([b - a for a, b in _adaptive_windows(x.shape[2], kind.size[1])], dtype=x.dtype)
    return t.scale(sums, (1 / np.multiply.outer(hs, ws_))[:, :, None], out=sums)


@forward("adaptivemaxpool", shape=_adaptive_shape, scratch=_adaptive_scratch)
def adaptivemaxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return _adaptive(xs[0], kind.size, np.max)
