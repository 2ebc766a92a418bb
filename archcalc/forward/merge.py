"""Forwards of the layers that join branches."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, _no_scratch, forward


def _add_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    if any(s != ins[0] for s in ins):
        raise GeometryError(f"add of different shapes {ins}")
    return ins[0]


def _concat_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
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
    return np.concatenate(xs, axis=-1)
