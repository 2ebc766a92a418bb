"""Forwards of the layers that join branches: add, multiply, concat."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, _no_scratch, forward


@forward("add", scratch=_no_scratch, inplace=True)
def add(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    if any(x.shape != xs[0].shape for x in xs):
        raise GeometryError(f"add of different shapes {[x.shape for x in xs]}")
    y = xs[0] if own else xs[0].copy()
    for x in xs[1:]:
        y += x
    return y


@forward("concat", scratch=_no_scratch)
def concat(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    if kind.axis == "tokens":  # (N, L, C) one after another: torch.cat(xs, dim=1)
        if any(x.ndim != 3 for x in xs):
            raise GeometryError(f"concat along tokens of {[x.shape for x in xs]}: not N x L x C")
        return np.concatenate(xs, axis=1)
    return np.concatenate(xs, axis=-1)


@forward("multiply", scratch=_no_scratch, inplace=True)
def multiply(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    """Broadcast from the last axis of each sample (the batch axis stays first): a 1 x 1 x C or
    C gate becomes N x 1 x 1 x C. One counted product per output value and extra input."""
    rank = max(x.ndim for x in xs)
    views = [x.reshape(x.shape[0], *(1,) * (rank - x.ndim), *x.shape[1:]) for x in xs]
    shape = np.broadcast_shapes(*(v.shape for v in views))
    y = views[0]
    over = own and y.shape == shape and y.flags.c_contiguous  # write over the first input
    for v in views[1:]:
        if over:
            t.scale(y, v, out=y)
        else:  # a new array, as large as this product (a gate times a gate stays small)
            y = t.scale(y, v)
            over = y.shape == shape
    return y
