"""Forwards of windowed, global and adaptive pooling."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, _prepare, _slide, forward


def _pool_geometry(kind: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    k = kind.size
    s = tuple(si or ki for si, ki in zip(kind.stride, k, strict=True))
    return k, s  # type: ignore[return-value]


@forward("maxpool")
def maxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Padding never wins a max: pad with -inf (as PyTorch and TensorFlow behave). A window of
    padding only (which PyTorch refuses and the walker allows) gives 0, as in average pooling,
    rather than -inf, which would turn into NaN downstream (-inf x 0)."""
    k, s = _pool_geometry(kind)
    x = xs[0]
    xp, ho, wo, (t_, b, l, r, eb, er) = _prepare(x, kind.padding, k, s, (1, 1), kind.ceil, fill=-np.inf)
    y = None
    for _, view in _slide(xp, k, s, (1, 1), ho, wo):
        y = view.copy() if y is None else np.maximum(y, view, out=y)
    if max(t_, b + eb) >= k[0] or max(l, r + er) >= k[1]:  # some window may miss the input
        h, w = x.shape[1:3]
        inside = np.pad(np.ones((1, h, w, 1), bool), ((0, 0), (t_, b + eb), (l, r + er), (0, 0)))
        hit = np.zeros((1, ho, wo, 1), bool)
        for _, view in _slide(inside, k, s, (1, 1), ho, wo):
            hit |= view
        np.copyto(y, 0, where=~hit)
    return y


@forward("avgpool")
def avgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Window sums, then one multiply by 1/divisor per output (a counted non-kernel multiply).

    The divisor is the window size, padding included when `count_pad` (PyTorch's default);
    the overhang of a ceil-mode window never counts, padding or not.
    """
    k, s = _pool_geometry(kind)
    x = xs[0]
    xp, ho, wo, (t_, b, l, r, eb, er) = _prepare(x, kind.padding, k, s, (1, 1), kind.ceil)
    y = None
    for _, view in _slide(xp, k, s, (1, 1), ho, wo):
        y = view.copy() if y is None else np.add(y, view, out=y)
    h, w = x.shape[1:3]
    if kind.count_pad:
        mask = np.pad(np.ones((1, h + t_ + b, w + l + r, 1), x.dtype), ((0, 0), (0, eb), (0, er), (0, 0)))
    else:
        mask = np.pad(np.ones((1, h, w, 1), x.dtype), ((0, 0), (t_, b + eb), (l, r + er), (0, 0)))
    counts = sum(view for _, view in _slide(mask, k, s, (1, 1), ho, wo))
    return t.scale(y, 1 / np.maximum(counts, 1))  # a window of padding only averages to 0


@forward("globalavgpool")
def globalavgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    y = t.scale(x.sum(axis=(1, 2), keepdims=kind.keepdims), x.dtype.type(1 / (x.shape[1] * x.shape[2])))
    return y


@forward("globalmaxpool")
def globalmaxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0].max(axis=(1, 2), keepdims=kind.keepdims)


def _adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i·n/o), ceil((i+1)·n/o)) for i < o."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def _adaptive(x: np.ndarray, size: tuple[int, int], reduce: Any) -> np.ndarray:
    """Reduce each window, rows first then columns (both reductions are separable). When the
    output divides the input, the windows tile it: one reshape and one reduction."""
    if x.ndim != 4:
        raise GeometryError(f"adaptive pooling needs N x H x W x C, received {x.shape}")
    n, h, w, c = x.shape
    oh, ow = size
    if h % oh == 0 and w % ow == 0:
        return reduce(x.reshape(n, oh, h // oh, ow, w // ow, c), axis=(2, 4))
    rows = np.stack([reduce(x[:, a:b], axis=1) for a, b in _adaptive_windows(h, oh)], axis=1)
    return np.stack([reduce(rows[:, :, a:b], axis=2) for a, b in _adaptive_windows(w, ow)], axis=2)


def _adaptive_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """Rows reduced first: their pieces and their stack (N x H' x W x C each), then the columns' pieces."""
    n, h, w, c = ins[0]
    oh, ow = kind.size
    if h % oh == 0 and w % ow == 0:
        return 0
    return (2 * n * oh * w * c + n * oh * ow * c) * itemsize


@forward("adaptiveavgpool", scratch=_adaptive_scratch)
def adaptiveavgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Window sums, then one counted multiply per output by 1/(window height · window width)."""
    x = xs[0]
    sums = _adaptive(x, kind.size, np.sum)
    hs = np.array([b - a for a, b in _adaptive_windows(x.shape[1], kind.size[0])], dtype=x.dtype)
    ws_ = np.array([b - a for a, b in _adaptive_windows(x.shape[2], kind.size[1])], dtype=x.dtype)
    return t.scale(sums, (1 / np.multiply.outer(hs, ws_))[:, :, None])


@forward("adaptivemaxpool", scratch=_adaptive_scratch)
def adaptivemaxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return _adaptive(xs[0], kind.size, np.max)
