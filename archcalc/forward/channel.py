"""Forwards of the channel operations: a part of the channels, and channel shuffle."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, _no_scratch, forward


@forward("slice", scratch=_no_scratch)
def slice_(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Channels [first, first + count) of the last axis, torch.chunk's sizes when `chunks` is given:
    a view of the input, as torch's chunk (the executor lets no layer write over a shared buffer)."""
    x = xs[0]
    c = x.shape[-1]
    if kind.chunks > 1 or kind.chunk:
        size = -(-c // kind.chunks)
        first, count = kind.chunk * size, size
    else:
        first, count = kind.start, kind.channels or c - kind.start
    if first >= c or first + min(count, c - first) > c:
        raise GeometryError(f"channels from {first} of {c}")
    return x[..., first:first + count]


@forward("shuffle", scratch=_no_scratch)
def shuffle(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """torchvision's channel_shuffle on NHWC: channels as (g, C/g), swapped to (C/g, g), flattened."""
    x = xs[0]
    c, g = x.shape[-1], kind.groups
    if c % g:
        raise GeometryError(f"{c} channels in groups of {g}")
    return x.reshape(*x.shape[:-1], g, c // g).swapaxes(-1, -2).reshape(x.shape)
