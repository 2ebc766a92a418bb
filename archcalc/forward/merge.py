"""Forwards of the layers that join branches: add, multiply, concat."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, _no_scratch, forward, joined


def _add_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    if any(s != ins[0] for s in ins):
        raise GeometryError(f"add of different shapes {ins}")
    return ins[0]


def _concat_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    if kind.axis == "tokens":  # (N, L, C) one after another
        if any(len(s) != 3 or s[0] != ins[0][0] or s[2] != ins[0][2] for s in ins):
            raise GeometryError(f"concat along tokens of {ins}: not N x L x C with one C")
        return (ins[0][0], sum(s[1] for s in ins), ins[0][2])
    if any(len(s) != len(ins[0]) or s[:-1] != ins[0][:-1] for s in ins):
        raise GeometryError(f"concat of shapes {ins}: all but the channels must agree")
    return (*ins[0][:-1], sum(s[-1] for s in ins))


@forward("add", scratch=_no_scratch, inplace=True, shape=_add_shape)
def add(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    if any(x.shape != xs[0].shape for x in xs):
        raise GeometryError(f"add of different shapes {[x.shape for x in xs]}")
    y = xs[0] if own else xs[0].copy()
    for x in xs[1:]:
        y += x
    return y


@forward("concat", scratch=_no_scratch, shape=_concat_shape)
def concat(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    if kind.axis == "tokens":  # (N, L, C) one after another: torch.cat(xs, dim=1)
        if any(x.ndim != 3 for x in xs):
            raise GeometryError(f"concat along tokens of {[x.shape for x in xs]}: not N x L x C")
        return joined(xs, axis=1)
    return joined(xs, axis=-1)


def _aligned(ins: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Each input's shape with 1s inserted after the batch axis, up to the largest rank."""
    rank = max(len(s) for s in ins)
    return [(s[0], *(1,) * (rank - len(s)), *s[1:]) for s in ins]


def _steps(ins: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The shape of each partial product, left to right (torch's a * b * c)."""
    views = _aligned(ins)
    try:
        return [np.broadcast_shapes(*views[:k]) for k in range(2, len(views) + 1)]
    except ValueError:
        raise GeometryError(f"multiply of shapes that do not broadcast: {ins}") from None


def _multiply_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    return _steps(ins)[-1] if len(ins) > 1 else ins[0]


def _multiply_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The partial products smaller than the output (a gate times a gate), each a new array."""
    return sum(math.prod(s) for s in _steps(ins)[:-1] if s != out) * itemsize if len(ins) > 2 else 0


def _multiply_over(kind: Any, ins: list[tuple[int, ...]]) -> bool:
    """Whether the product is written over the first input (given `own`): when it has the output's shape."""
    return _aligned(ins)[0] == _multiply_shape(kind, ins)


@forward("multiply", scratch=_multiply_scratch, inplace=_multiply_over, shape=_multiply_shape)
def multiply(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    """Broadcast from the last axis of each sample (the batch axis stays first): a 1 x 1 x C or
    C gate becomes N x 1 x 1 x C. One counted product per output value and extra input."""
    rank = max(x.ndim for x in xs)
    views = [x.reshape(x.shape[0], *(1,) * (rank - x.ndim), *x.shape[1:]) for x in xs]
    shape = np.broadcast_shapes(*(v.shape for v in views))
    y = views[0]
    over = own and y.shape == shape  # write over the first input (strided or not), as planned
    for v in views[1:]:
        if over:
            t.scale(y, v, out=y)
        else:  # a new array, as large as this product (a gate times a gate stays small)
            y = t.scale(y, v)
            over = y.shape == shape
    return y
