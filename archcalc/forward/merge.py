"""Forwards of the layers that join branches."""

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
