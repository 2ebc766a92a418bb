"""Forwards of the element-wise activations. They write over their input when the executor
says nobody else reads it (`own`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, _need, _no_scratch, forward, same_shape


@forward("relu", scratch=_no_scratch, inplace=True, shape=same_shape)
def relu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.maximum(xs[0], 0, out=xs[0] if own else None)


@forward("relu6", scratch=_no_scratch, inplace=True, shape=same_shape)
def relu6(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.clip(xs[0], 0, 6, out=xs[0] if own else None)


@forward("sigmoid", scratch=_no_scratch, inplace=True, shape=same_shape)
def sigmoid(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    y = np.negative(xs[0], out=xs[0] if own else None)  # 1 / (1 + exp(-x)), in one buffer
    np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


@forward("tanh", scratch=_no_scratch, inplace=True, shape=same_shape)
def tanh(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.tanh(xs[0], out=xs[0] if own else None)


@forward("hardswish", inplace=True, shape=same_shape)
def hardswish(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    x = xs[0]
    gate = x + x.dtype.type(3)  # x · clip(x + 3, 0, 6) / 6; the one product per value is counted
    np.clip(gate, 0, 6, out=gate)
    gate /= x.dtype.type(6)
    return t.scale(x, gate, out=x if own else gate)


def _flat_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 2, kind.name)
    return ins[0]


@forward("softmax", shape=_flat_shape)
def softmax(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    if x.ndim != 2:
        raise GeometryError(f"softmax needs a flat input N x n, received {x.shape}")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
