"""Forwards of the element-wise activations. They write over their input when the executor
says nobody else reads it (`own`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, _no_scratch, forward


@forward("relu", scratch=_no_scratch, inplace=True)
def relu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.maximum(xs[0], 0, out=xs[0] if own else None)


@forward("relu6", scratch=_no_scratch, inplace=True)
def relu6(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.clip(xs[0], 0, 6, out=xs[0] if own else None)


@forward("sigmoid", scratch=_no_scratch, inplace=True)
def sigmoid(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    y = np.negative(xs[0], out=xs[0] if own else None)  # 1 / (1 + exp(-x)), in one buffer
    np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


@forward("tanh", scratch=_no_scratch, inplace=True)
def tanh(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.tanh(xs[0], out=xs[0] if own else None)


@forward("hardswish", inplace=True)
def hardswish(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    x = xs[0]
    gate = x + x.dtype.type(3)  # x · clip(x + 3, 0, 6) / 6; the one product per value is counted
    np.clip(gate, 0, 6, out=gate)
    gate /= x.dtype.type(6)
    return t.scale(x, gate, out=x if own else gate)


@forward("softmax")
def softmax(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    if x.ndim != 2:
        raise GeometryError(f"softmax needs a flat input N x n, received {x.shape}")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@forward("silu", inplace=True)
def silu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    x = xs[0]
    gate = np.negative(x)  # sigmoid(x) = 1 / (1 + exp(-x)); exp overflows to inf for x << 0, giving 0
    with np.errstate(over="ignore"):
        np.exp(gate, out=gate)
    gate += 1
    np.reciprocal(gate, out=gate)
    return t.scale(x, gate, out=x if own else gate)


#: GELU's erfc(z) = t·exp(-z² + P(u)) for z = |x|/sqrt(2) in [0, 9], t = 2/(2 + z), u = (2t - 1 - T)/(1 - T)
#: with T = 2/11: P interpolated at Chebyshev nodes from 40-digit values (tests/data/fit_erfc.py).
#: float32: P as powers of u; float64: as Chebyshev coefficients, summed by Clenshaw's recurrence.
#: GELU comes out within a few units in the last place in both (tests/test_forward.py).
_ERFC_T = 2 / 11
_ERFC_Z = 9.0
_ERFC_F32 = (-0.548221143988889, 0.5604713138177463, 0.013628287825230324, -0.027952480615811508,
             -0.0006748055252603794, 0.00335232947760526, -0.0002650345595091937, -0.00045372472097807994,
             7.184008387959071e-05, 4.3458666938501065e-05)
_ERFC_F64 = (-0.5417232316751572, 0.5413754183852398, 0.006383936236912358, -0.00607513574118297,
             -0.00011832965221686079, 0.00016600582603157796, -3.792324742187885e-06, -5.5616050057258205e-06,
             5.612506553093024e-07, 1.6976041772851979e-07, -3.940963423250342e-08, -2.8734441534020185e-09,
             1.9980551437310754e-09, -1.2055618514165593e-10, -7.023556065816916e-11, 1.4561731883893314e-11,
             9.692532071304414e-13, -7.52876545805697e-13, 7.06204043540528e-14, 2.0021249625366982e-14,
             -5.8776927461581525e-15, 1.4790442241071738e-16, 1.926456577754042e-16, -3.5688488607123135e-17,
             -4.836253940378998e-19)
#: Values per chunk of GELU's exact form (its dozen temporaries stay in cache).
GELU_CHUNK = 1 << 14


def erfc_nonnegative(z: np.ndarray) -> np.ndarray:
    """erfc(z) for 0 <= z <= 9 in z's dtype (float32 or float64), relative error a few units in the
    last place; NumPy has no erf, and torch's GELU is exact by default."""
    dt = z.dtype.type
    tt = np.add(z, dt(2))
    np.divide(dt(2), tt, out=tt)                             # t = 2/(2 + z)
    u = tt * dt(2 / (1 - _ERFC_T))
    u -= dt((1 + _ERFC_T) / (1 - _ERFC_T))
    if z.dtype == np.float32:
        p = np.full_like(z, dt(_ERFC_F32[-1]))
        for c in _ERFC_F32[-2::-1]:
            p *= u
            p += dt(c)
    else:                                                    # Clenshaw: b_k = c_k + 2u·b_k+1 - b_k+2
        b1, b2 = np.zeros_like(z), np.zeros_like(z)
        u2 = u * dt(2)
        for c in _ERFC_F64[:0:-1]:
            b2 = np.subtract(u2 * b1, b2, out=b2)
            b2 += dt(c)
            b1, b2 = b2, b1
        p = u * b1
        p -= b2
        p += dt(_ERFC_F64[0])
    p -= z * z
    np.exp(p, out=p)
    return np.multiply(tt, p, out=p)


def _gelu_exact(t: Tally, x: np.ndarray, out: np.ndarray) -> None:
    """x/2·(1 + erf(x/sqrt(2))), taken as x/2·erfc(|x|/sqrt(2)) for x <= 0 (no cancellation) and
    x/2·(2 - erfc(x/sqrt(2))) above."""
    dt = x.dtype.type
    z = np.abs(x) * dt(1 / np.sqrt(2))
    far = z > dt(_ERFC_Z)  # erfc(9) = 4e-37: beyond, GELU is x or 0 in either precision
    np.minimum(z, dt(_ERFC_Z), out=z)
    e = erfc_nonnegative(z)
    e[far] = 0
    np.subtract(dt(2), e, out=e, where=x > 0)
    e *= dt(0.5)
    t.scale(x, e, out=out)


def _gelu_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """A chunk's temporaries: up to ten arrays of GELU_CHUNK values (the float64 recurrence's)."""
    return 10 * min(GELU_CHUNK, math.prod(out)) * itemsize


@forward("gelu", scratch=_gelu_scratch, inplace=True)
def gelu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    """The exact form through our erfc, or torch's tanh form; each has one counted product per
    value (x times its gate)."""
    x = xs[0]
    y = x if own and x.flags.c_contiguous else np.empty(x.shape, x.dtype)
    flat, out = x.reshape(-1), y.reshape(-1)  # `out` is a view: y is C-contiguous
    if kind.approximate == "tanh":  # x/2·(1 + tanh(sqrt(2/pi)·(x + 0.044715·x³))), as torch
        dt = x.dtype.type
        for i in range(0, flat.size, GELU_CHUNK):
            v = flat[i:i + GELU_CHUNK]
            g = v * v
            g *= dt(0.044715)
            g += dt(1)
            g *= v
            g *= dt(np.sqrt(2 / np.pi))
            np.tanh(g, out=g)
            g += dt(1)
            g *= dt(0.5)
            t.scale(v, g, out=out[i:i + GELU_CHUNK])
        return y
    for i in range(0, flat.size, GELU_CHUNK):
        _gelu_exact(t, flat[i:i + GELU_CHUNK], out[i:i + GELU_CHUNK])
    return y


@forward("hardsigmoid", scratch=_no_scratch, inplace=True)
def hardsigmoid(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    x = xs[0]
    y = np.add(x, x.dtype.type(3), out=x if own else None)  # relu6(x + 3)/6, as torch
    np.clip(y, 0, 6, out=y)
    return t.scale(y, x.dtype.type(1 / 6), out=y)


def _slope(t: Tally, x: np.ndarray, slope: Any, own: bool) -> np.ndarray:
    """x where x >= 0, else slope·x (one counted product per value)."""
    neg = t.scale(x, slope)
    if not own:
        return np.where(x < 0, neg, x)
    np.copyto(x, neg, where=x < 0)
    return x


@forward("leakyrelu", inplace=True)
def leakyrelu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return _slope(t, xs[0], xs[0].dtype.type(float(kind.slope)), own)


def _prelu_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {"slope": ((shapes[0][-1] if kind.per_channel else 1,), True)}


@forward("prelu", weights=_prelu_weights, inplace=True)
def prelu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return _slope(t, xs[0], ws["slope"], own)  # (C,) or (1,): along the last axis
