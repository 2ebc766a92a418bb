"""Forward of the fully connected layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, forward


def _dense_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 2:
        raise GeometryError(f"dense needs a flat input N x n, received {shapes[0]}")
    ws = {"kernel": ((shapes[0][1], kind.units), True)}
    if kind.bias:
        ws["bias"] = ((kind.units,), True)
    return ws


def _dense_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _dense_weights(kind, ins)
    return (ins[0][0], kind.units)


@forward("dense", weights=_dense_weights, shape=_dense_shape)
def dense(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    y = t.matmul(xs[0], ws["kernel"])
    if "bias" in ws:
        y += ws["bias"]
    return y
