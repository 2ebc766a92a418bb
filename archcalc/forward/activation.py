"""Forwards of the element-wise activations. They write over their input when the executor
says nobody else reads it (`own`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Tally, WeightShapes, _no_scratch, _rows_merge, forward, same_shape


@forward("relu", scratch=_no_scratch, inplace=True, shape=same_shape)
def relu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.maximum(xs[0], 0, out=xs[0] if own else None)


@forward("relu6", scratch=_no_scratch, inplace=True, shape=same_shape)
def relu6(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return np.clip(xs[0], 0, 6, out=xs[0] if own else None)


@forward("sigmoid", scratch=_no_scratch, inplace=True, shape=same_shape)
def sigmoid(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    y = np.negative(xs[0], out=xs[0] if own else None)  # 1 / (1 + exp(-x)), in one buffer
    np.exp(y, out=y)  # inf for x << 0 (Forward.run lets it be), and 1 / (1 + inf) is the 0 wanted
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


@forward("softmax", shape=same_shape)
def softmax(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Over the last axis (a vector's values, each token's channels)."""
    x = xs[0]
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


#: Values per block of an element-wise forward with temporaries: they stay in cache.
CHUNK = 1 << 15


def _blocks(x: np.ndarray, own: bool) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The output (x itself when it may be written over, as the plan counts it, strided or not)
    and (input, output) blocks of whole rows of the last axis, at most CHUNK values each where a
    row fits (a per-channel slope broadcasts over a block's rows)."""
    y = x if own else np.empty(x.shape, x.dtype)
    c = x.shape[-1]
    rows = max(1, CHUNK // max(c, 1))
    planes = [(x, y)] if _rows_merge(x) else [(x[i], y[i]) for i in np.ndindex(x.shape[:-2])]
    out = []
    for xp, yp in planes:  # the leading axes of a strided view (a crop) do not merge: plane by plane
        xv, yv = xp.reshape(-1, c), yp.reshape(-1, c)  # views: their leading axes merge
        out += [(xv[i:i + rows], yv[i:i + rows]) for i in range(0, xv.shape[0], rows)]
    return y, out


def _block_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """A block's temporaries: up to ten arrays of a block's values (GELU's float64 recurrence)."""
    c = out[-1]
    return 10 * min(max(1, CHUNK // max(c, 1)) * c, math.prod(out)) * itemsize


@forward("silu", scratch=_block_scratch, inplace=True, shape=same_shape)
def silu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    """x·sigmoid(x) = x / (1 + exp(-x)): exp overflows to inf for x << 0, giving -0. Four passes
    over each block, in cache: the division stands for the product by the gate (one counted)."""
    y, blocks = _blocks(xs[0], own)
    g = np.empty(blocks[0][0].size if blocks else 0, y.dtype)
    for v, o in blocks:
        gb = g[:v.size].reshape(v.shape)
        np.negative(v, out=gb)
        np.exp(gb, out=gb)  # inf for x << 0: Forward.run lets it be
        gb += 1
        t.divide(v, gb, out=o)
    return y


#: GELU's erfc(z) = t·exp(-z² + P) for z = |x|/sqrt(2) in [0, 9], t = 2/(2 + z): P interpolated at
#: Chebyshev nodes on t in [T, 1], T = 2/11, from 40-digit values (tests/data/fit_erfc.py). float32:
#: P as powers of t (9 terms); float64: as Chebyshev coefficients in u = (2t - 1 - T)/(1 - T) (25),
#: summed by Clenshaw's recurrence. GELU comes out within a few units in the last place in both
#: (tests/test_forward_modern.py).
_ERFC_T = 2 / 11
_ERFC_Z = 9.0
_ERFC_F32 = (-1.265106384405335, 0.991463014069693, 0.4503262912536008, -0.28004386419411786, 0.9563396324144497,
             -1.932660011897405, 1.6066578461475634, -0.6185582474345164, 0.0915815947466023)
_ERFC_F64 = (-0.5417232316751572, 0.5413754183852398, 0.006383936236912358, -0.00607513574118297,
             -0.00011832965221686079, 0.00016600582603157796, -3.792324742187885e-06, -5.5616050057258205e-06,
             5.612506553093024e-07, 1.6976041772851979e-07, -3.940963423250342e-08, -2.8734441534020185e-09,
             1.9980551437310754e-09, -1.2055618514165593e-10, -7.023556065816916e-11, 1.4561731883893314e-11,
             9.692532071304414e-13, -7.52876545805697e-13, 7.06204043540528e-14, 2.0021249625366982e-14,
             -5.8776927461581525e-15, 1.4790442241071738e-16, 1.926456577754042e-16, -3.5688488607123135e-17,
             -4.836253940378998e-19)


def erfc_nonnegative(z: np.ndarray) -> np.ndarray:
    """erfc(z) for 0 <= z <= 9 in z's dtype (float32 or float64), relative error a few units in the
    last place; NumPy has no erf, and torch's GELU is exact by default."""
    dt = z.dtype.type
    tt = np.add(z, dt(2))
    np.divide(dt(2), tt, out=tt)                             # t = 2/(2 + z)
    if z.dtype == np.float32:                                # Horner, in t
        p = tt * dt(_ERFC_F32[-1])
        p += dt(_ERFC_F32[-2])
        for c in _ERFC_F32[-3::-1]:
            p *= tt
            p += dt(c)
    else:                                                    # Clenshaw, in u: b_k = c_k + 2u·b_k+1 - b_k+2
        u2 = tt * dt(4 / (1 - _ERFC_T))
        u2 -= dt(2 * (1 + _ERFC_T) / (1 - _ERFC_T))
        b1, b2 = np.zeros_like(z), np.zeros_like(z)
        for c in _ERFC_F64[:0:-1]:
            b2 = np.subtract(u2 * b1, b2, out=b2)
            b2 += dt(c)
            b1, b2 = b2, b1
        p = u2 * b1
        p *= dt(0.5)                                         # u·b_1
        p -= b2
        p += dt(_ERFC_F64[0])
    p -= z * z
    np.exp(p, out=p)
    return np.multiply(tt, p, out=p)


#: _ERFC_F32 with log(1/sqrt(2)) added to the constant term: t·exp(-z² + P) is then erfc(z)/sqrt(2),
#: and z times it is |x|/2·erfc(|x|/sqrt(2)) for z = |x|/sqrt(2), with no product by 1/2.
_ERFC_F32_HALF = (_ERFC_F32[0] - 0.5 * math.log(2), *_ERFC_F32[1:])


def _gelu_exact(t: Tally, x: np.ndarray, out: np.ndarray, buf: np.ndarray) -> None:
    """x/2·(1 + erf(x/sqrt(2))) = max(x, 0) - |x|/2·erfc(|x|/sqrt(2)): no cancellation for x < 0,
    where the value is the small term alone, and no branch. Past |x| = 9·sqrt(2), erfc(9) = 4e-37
    stands in for erfc: GELU is then x, or within 1e-35 of 0.

    float32 runs in 29 passes over block buffers (`buf`: four blocks, then the blocks of constants
    9 and 0: NumPy's minimum and maximum run about 1.7x faster against an array than against a
    scalar), the erfc inlined with the 1/2 folded into its constant; float64 through
    erfc_nonnegative's Clenshaw sum."""
    dt = x.dtype.type
    if x.dtype != np.float32:
        half = np.abs(x)
        half *= dt(0.5)                                  # |x|/2
        z = half * dt(np.sqrt(2))                        # |x|/sqrt(2)
        np.minimum(z, dt(_ERFC_Z), out=z)
        e = t.scale(half, erfc_nonnegative(z), out=z)    # the one counted product: |x|/2 times its gate
        np.maximum(x, dt(0), out=out)
        np.subtract(out, e, out=out)
        return
    z, zc, tt, p, nine, zero = (b[:x.size].reshape(x.shape) for b in buf)
    np.abs(x, out=z)
    z *= dt(1 / np.sqrt(2))                              # z = |x|/sqrt(2)
    np.minimum(z, nine, out=zc)
    np.add(zc, dt(2), out=tt)
    np.divide(dt(2), tt, out=tt)                         # t = 2/(2 + z)
    np.multiply(tt, dt(_ERFC_F32_HALF[-1]), out=p)       # P(t), Horner
    p += dt(_ERFC_F32_HALF[-2])
    for c in _ERFC_F32_HALF[-3::-1]:
        p *= tt
        p += dt(c)
    zc *= zc
    p -= zc
    np.exp(p, out=p)
    p *= tt                                              # erfc(z)/sqrt(2)
    t.scale(p, z, out=p)                                 # the one counted product: |x|/2·erfc(z)
    np.maximum(x, zero, out=out)
    out -= p


def _gelu_tanh(t: Tally, x: np.ndarray, out: np.ndarray) -> None:
    """x/2·(1 + tanh(sqrt(2/pi)·(x + 0.044715·x³))), as torch computes it."""
    dt = x.dtype.type
    g = x * x
    g *= dt(0.044715)
    g += dt(1)
    g *= x
    g *= dt(np.sqrt(2 / np.pi))
    np.tanh(g, out=g)
    g += dt(1)
    g *= dt(0.5)
    t.scale(x, g, out=out)


@forward("gelu", scratch=_block_scratch, inplace=True, shape=same_shape)
def gelu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    """The exact form through our erfc, or torch's tanh form; each has one counted product per
    value (x times its gate)."""
    y, blocks = _blocks(xs[0], own)
    if kind.approximate == "tanh":
        for v, o in blocks:
            _gelu_tanh(t, v, o)
        return y
    buf = np.empty((6 if y.dtype == np.float32 else 0, blocks[0][0].size if blocks else 0), y.dtype)
    if len(buf):
        buf[4], buf[5] = _ERFC_Z, 0
    for v, o in blocks:
        _gelu_exact(t, v, o, buf)
    return y


@forward("hardsigmoid", scratch=_no_scratch, inplace=True, shape=same_shape)
def hardsigmoid(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    x = xs[0]
    y = np.add(x, x.dtype.type(3), out=x if own else None)  # relu6(x + 3)/6, as torch
    np.clip(y, 0, 6, out=y)
    return t.scale(y, x.dtype.type(1 / 6), out=y)


def _slope(t: Tally, x: np.ndarray, slope: Any, own: bool) -> np.ndarray:
    """x where x >= 0, else slope·x (one counted product per value): max(x, slope·x) when every
    slope is at most 1, min(...) when every one is at least 1, else each channel's."""
    a = np.asarray(slope)
    pick = np.maximum if np.all(a <= 1) else np.minimum if np.all(a >= 1) else None
    y, blocks = _blocks(x, own)
    for v, o in blocks:
        if pick is not None:
            pick(v, t.scale(v, a), out=o)
        else:  # slopes on both sides of 1: the max where a <= 1, the min, -max(-x, -a·x), where a > 1
            sign = np.where(a <= 1, 1, -1).astype(x.dtype)
            neg = t.scale(v, a)
            neg *= sign
            np.maximum(v * sign, neg, out=o)
            o *= sign
    return y


@forward("leakyrelu", scratch=_block_scratch, inplace=True, shape=same_shape)
def leakyrelu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return _slope(t, xs[0], xs[0].dtype.type(float(kind.slope)), own)


def _prelu_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {"slope": ((shapes[0][-1] if kind.per_channel else 1,), True)}


@forward("prelu", weights=_prelu_weights, scratch=_block_scratch, inplace=True, shape=same_shape)
def prelu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    return _slope(t, xs[0], ws["slope"], own)  # (C,) or (1,): along the last axis
