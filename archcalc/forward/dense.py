"""Forward of the fully connected layers: `linear` on the last axis of any array, `dense` on (N, n)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, forward


def _linear_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if kind.name == "dense" and len(shapes[0]) != 2:
        raise GeometryError(f"dense needs a flat input N x n, received {shapes[0]}")
    ws = {"kernel": ((shapes[0][-1], kind.units), True)}
    if kind.bias:
        ws["bias"] = ((kind.units,), True)
    return ws


def _linear_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _linear_weights(kind, ins)  # the check of a dense layer's flat input
    return (*ins[0][:-1], kind.units)


@forward("dense", weights=_linear_weights, shape=_linear_shape)
@forward("linear", weights=_linear_weights, shape=_linear_shape, column_major=("kernel",))
def linear(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """x (..., C) @ kernel (C, C'): every position or token through the same matrix (nn.Linear)."""
    y = t.matmul(xs[0], ws["kernel"])
    if "bias" in ws:
        y += ws["bias"]
    return y
