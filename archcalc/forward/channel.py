"""Forwards of the channel operations: a part of the channels, and channel shuffle."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, _no_scratch, forward


def _span(kind: Any, c: int) -> tuple[int, int]:
    """(first, count) of the channels kept of c: torch.chunk's sizes when `chunks` is given (the
    last chunk may be smaller)."""
    if kind.chunks > 1 or kind.chunk:
        size = -(-c // kind.chunks)
        first, count = kind.chunk * size, size
    else:
        first, count = kind.start, kind.channels or c - kind.start
    if first >= c:
        raise GeometryError(f"channels from {first} of {c}")
    return first, min(count, c - first)


def _slice_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    return (*ins[0][:-1], _span(kind, ins[0][-1])[1])


@forward("slice", scratch=_no_scratch, shape=_slice_shape, strided=True)
def slice_(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Channels [first, first + count) of the last axis: a view of the input, as torch's chunk (the
    executor lets no layer write over a buffer another live value shares)."""
    x = xs[0]
    first, count = _span(kind, x.shape[-1])
    return x[..., first:first + count]


def _shuffle_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    c, g = ins[0][-1], kind.groups
    if c % g:
        raise GeometryError(f"{c} channels in groups of {g}")
    return ins[0]


@forward("shuffle", scratch=_no_scratch, shape=_shuffle_shape)
def shuffle(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """torchvision's channel_shuffle on NHWC: channels as (g, C/g), swapped to (C/g, g), flattened.
    Splitting an axis and swapping two are views, of a strided input too: the one copy is the output
    (always C-contiguous, as planned, even where the swap moves nothing: g = 1 or g = C)."""
    x = xs[0]
    c, g = _shuffle_shape(kind, [x.shape])[-1], kind.groups
    return np.ascontiguousarray(x.reshape(*x.shape[:-1], g, c // g).swapaxes(-1, -2)).reshape(x.shape)
