"""NumPy forwards of every layer kind, written apart from the analytic code on purpose.

This module is the executor's half of the witness: it knows each kind's fields but never
calls `out_shape`, `weights` or `macs`. Output geometry comes from the arrays themselves
(pad, then slide), weight shapes from the fields and the actual input array, and every
kernel multiplication goes through the `Tally` so the count is what actually ran.

Arrays are NHWC (batch first, channels last); flat vectors are (N, n). Weight layouts
(the keys of an `.npz` are `layer/weight`, e.g. `block1/conv1/conv/kernel`):

    conv       kernel (f_h, f_w, n_c/g, n_c')   bias (n_c',)     output channel o is in group o // (n_c'/g)
    depthwise  kernel (f_h, f_w, n_c·m)          bias (n_c·m,)    output channel c·m + k reads input channel c
    dense      kernel (n_in, n_out)              bias (n_out,)    flatten order is H, W, C (NHWC)
    batchnorm  gamma, beta (C,) trainable;  mean, var (C,) non-trainable

Imported only by `execute.py`, so numpy stays off the analytic path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: weight name -> (shape, trainable)
WeightShapes = dict[str, tuple[tuple[int, ...], bool]]


class GeometryError(Exception):
    """An input the forward cannot slide over (the executor adds the layer's location)."""


class Tally:
    """The executor's only way to multiply: counts scalar multiplications from operand shapes.

    `macs` counts kernel multiply-accumulates (conv, depthwise, dense); `other_mults` counts
    multiplications that are not kernel MACs (BatchNorm and average-pool scaling, LRN,
    bilinear weights, hard-swish), kept apart as the analytic `other_ops` are.
    """

    def __init__(self) -> None:
        self.macs = 0
        self.other_mults = 0

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(..., k) @ (k, n): each of the prod(...)·n outputs costs k multiplications."""
        if b.ndim != 2 or a.shape[-1] != b.shape[0]:
            raise ValueError(f"matmul of {a.shape} by {b.shape}")
        self.macs += math.prod(a.shape[:-1]) * a.shape[-1] * b.shape[1]
        return np.matmul(a, b, out=out)

    def mul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Element-wise kernel multiply (depthwise taps): one MAC per element of the product."""
        self.macs += math.prod(np.broadcast_shapes(a.shape, b.shape))
        return np.multiply(a, b, out=out)

    def scale(self, a: np.ndarray, b: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Element-wise multiply that is not a kernel MAC (counted in `other_mults`)."""
        self.other_mults += math.prod(np.broadcast_shapes(np.shape(a), np.shape(b)))
        return np.multiply(a, b, out=out)


@dataclass(frozen=True)
class Forward:
    run: Callable[[Tally, Any, list[np.ndarray], dict[str, np.ndarray]], np.ndarray]
    weights: Callable[[Any, list[tuple[int, ...]]], WeightShapes]


FORWARDS: dict[str, Forward] = {}


def _no_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {}


def forward(*names: str, weights: Callable[..., WeightShapes] = _no_weights) -> Callable[..., Any]:
    def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        for n in names:
            FORWARDS[n] = Forward(fn, weights)
        return fn
    return deco


# --- geometry (the executor's own, so a bug in shape.py shows up as a disagreement) ------------

def _pads(padding: Any, h: int, w: int, k: tuple[int, int], s: tuple[int, int],
          d: tuple[int, int] = (1, 1)) -> tuple[int, int, int, int]:
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":  # TensorFlow: output ceil(n/s), the odd pixel after
        out = []
        for n, f, st, dl in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
            need = max((-(-n // st) - 1) * st + dl * (f - 1) + 1 - n, 0)
            out += [need // 2, need - need // 2]
        return tuple(out)  # type: ignore[return-value]
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


def _positions(n: int, lo: int, hi: int, f: int, s: int, d: int = 1, ceil: bool = False) -> int:
    """How many window starts fit: start k·s, window d·(f-1)+1 wide, inside n + lo + hi."""
    span, eff = n + lo + hi, d * (f - 1) + 1
    if eff > span:
        raise GeometryError(f"a window of {eff} does not fit in {n} + {lo + hi} padding")
    count = 0
    while count * s + eff <= span:
        count += 1
    if ceil:  # PyTorch's ceil_mode: one more (partial) window if any is left over, then the last
        if (count - 1) * s + eff < span:  # window is dropped (once) if it starts in the trailing padding
            count += 1
        if (count - 1) * s >= n + lo:
            count -= 1
    return count


def _slide(xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int], ho: int, wo: int):
    """Yield ((i, j), view): the input positions tap (i, j) of every window reads, as a strided view."""
    for i in range(k[0]):
        for j in range(k[1]):
            yield (i, j), xp[:, i * d[0]: i * d[0] + (ho - 1) * s[0] + 1: s[0],
                             j * d[1]: j * d[1] + (wo - 1) * s[1] + 1: s[1], :]


def _prepare(x: np.ndarray, padding: Any, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
             ceil: bool = False, fill: float = 0.0) -> tuple[np.ndarray, int, int, tuple[int, ...]]:
    """Pad x (N, H, W, C) with `fill` and count output positions (a ceil-mode overhang is padded too)."""
    _, h, w, _ = x.shape
    t, b, l, r = _pads(padding, h, w, k, s, d)
    ho = _positions(h, t, b, k[0], s[0], d[0], ceil)
    wo = _positions(w, l, r, k[1], s[1], d[1], ceil)
    eb = max((ho - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + t + b), 0)
    er = max((wo - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + l + r), 0)
    if t or b + eb or l or r + er:
        x = np.pad(x, ((0, 0), (t, b + eb), (l, r + er), (0, 0)), constant_values=fill)
    return x, ho, wo, (t, b, l, r, eb, er)


# --- convolutions -----------------------------------------------------------------------------

def _conv_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    c, g = shapes[0][-1], kind.groups
    if len(shapes[0]) != 4 or c % g or kind.filters % g:
        raise GeometryError(f"conv needs N x H x W x C with C and filters divisible by groups={g}, "
                            f"received {shapes[0]}")
    ws = {"kernel": ((*kind.kernel, c // g, kind.filters), True)}
    if kind.bias:
        ws["bias"] = ((kind.filters,), True)
    return ws


@forward("conv", weights=_conv_weights)
def conv(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Sum over kernel taps of (shifted view) @ (tap's kernel slice), per group: no im2col copy."""
    x, kern = xs[0], ws["kernel"]
    n, c, g, f = x.shape[0], x.shape[3], kind.groups, kind.filters
    cg, fg = c // g, f // g
    xp, ho, wo, _ = _prepare(x, kind.padding, kind.kernel, kind.stride, kind.dilation)
    y = np.zeros((n, ho, wo, f), dtype=x.dtype)
    tmp = np.empty((n, ho, wo, fg), dtype=x.dtype)
    small = wo < 32  # many short rows: one contiguous copy beats a BLAS call per row
    for (i, j), view in _slide(xp, kind.kernel, kind.stride, kind.dilation, ho, wo):
        for gi in range(g):
            a = view[..., gi * cg:(gi + 1) * cg]
            if small and not a.flags.c_contiguous:
                a = np.ascontiguousarray(a)
            t.matmul(a, kern[i, j, :, gi * fg:(gi + 1) * fg], out=tmp)
            y[..., gi * fg:(gi + 1) * fg] += tmp
    if "bias" in ws:
        y += ws["bias"]
    return y


def _depthwise_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 4:
        raise GeometryError(f"depthwise needs N x H x W x C, received {shapes[0]}")
    n = shapes[0][-1] * kind.multiplier
    ws = {"kernel": ((*kind.kernel, n), True)}
    if kind.bias:
        ws["bias"] = ((n,), True)
    return ws


@forward("depthwise", weights=_depthwise_weights)
def depthwise(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Per tap, each channel's shifted view times its own filter tap, accumulated."""
    x, m = xs[0], kind.multiplier
    n, c = x.shape[0], x.shape[3]
    kern = ws["kernel"].reshape(*kind.kernel, c, m)
    xp, ho, wo, _ = _prepare(x, kind.padding, kind.kernel, kind.stride, kind.dilation)
    y = np.zeros((n, ho, wo, c, m), dtype=x.dtype)
    tmp = np.empty_like(y)
    for (i, j), view in _slide(xp, kind.kernel, kind.stride, kind.dilation, ho, wo):
        t.mul(view[..., None], kern[i, j], out=tmp)
        y += tmp
    y = y.reshape(n, ho, wo, c * m)
    if "bias" in ws:
        y += ws["bias"]
    return y


def _dense_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 2:
        raise GeometryError(f"dense needs a flat input N x n, received {shapes[0]}")
    ws = {"kernel": ((shapes[0][1], kind.units), True)}
    if kind.bias:
        ws["bias"] = ((kind.units,), True)
    return ws


@forward("dense", weights=_dense_weights)
def dense(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    y = t.matmul(xs[0], ws["kernel"])
    if "bias" in ws:
        y += ws["bias"]
    return y


# --- pooling -----------------------------------------------------------------------------------

def _pool_geometry(kind: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    k = kind.size
    s = tuple(si or ki for si, ki in zip(kind.stride, k, strict=True))
    return k, s  # type: ignore[return-value]


@forward("maxpool")
def maxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    k, s = _pool_geometry(kind)
    # Padding never wins a max: pad with -inf (as PyTorch and TensorFlow behave).
    xp, ho, wo, _ = _prepare(xs[0], kind.padding, k, s, (1, 1), kind.ceil, fill=-np.inf)
    y = None
    for _, view in _slide(xp, k, s, (1, 1), ho, wo):
        y = view.copy() if y is None else np.maximum(y, view, out=y)
    return y


@forward("avgpool")
def avgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Window sums, then one multiply by 1/divisor per output (a counted non-kernel multiply).

    The divisor is the window size, padding included when `count_pad` (PyTorch's default);
    the overhang of a ceil-mode window never counts, padding or not.
    """
    k, s = _pool_geometry(kind)
    x = xs[0]
    xp, ho, wo, (t_, b, l, r, eb, er) = _prepare(x, kind.padding, k, s, (1, 1), kind.ceil)
    y = None
    for _, view in _slide(xp, k, s, (1, 1), ho, wo):
        y = view.copy() if y is None else np.add(y, view, out=y)
    h, w = x.shape[1:3]
    if kind.count_pad:
        mask = np.pad(np.ones((1, h + t_ + b, w + l + r, 1), x.dtype), ((0, 0), (0, eb), (0, er), (0, 0)))
    else:
        mask = np.pad(np.ones((1, h, w, 1), x.dtype), ((0, 0), (t_, b + eb), (l, r + er), (0, 0)))
    counts = sum(view for _, view in _slide(mask, k, s, (1, 1), ho, wo))
    return t.scale(y, 1 / np.maximum(counts, 1))  # a window of padding only averages to 0


@forward("globalavgpool")
def globalavgpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    y = t.scale(x.sum(axis=(1, 2), keepdims=kind.keepdims), x.dtype.type(1 / (x.shape[1] * x.shape[2])))
    return y


@forward("globalmaxpool")
def globalmaxpool(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0].max(axis=(1, 2), keepdims=kind.keepdims)


# --- normalisation ----------------------------------------------------------------------------

def _bn_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    c = shapes[0][-1]
    return {"gamma": ((c,), True), "beta": ((c,), True), "mean": ((c,), False), "var": ((c,), False)}


@forward("batchnorm", weights=_bn_weights)
def batchnorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Inference form, folded: y = x·a + b with a = gamma/sqrt(var + eps), b = beta - mean·a."""
    x = xs[0]
    a = ws["gamma"] / np.sqrt(ws["var"] + x.dtype.type(float(kind.eps)))
    b = ws["beta"] - ws["mean"] * a
    y = t.scale(x, a)
    y += b
    return y


@forward("lrn")
def lrn(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Across channels, PyTorch's window (size//2 before, (size-1)//2 after): a/(k + alpha/n·sum a²)^beta."""
    x = xs[0]
    n = kind.size
    sq = t.scale(x, x)
    pad = np.pad(sq, ((0, 0), (0, 0), (0, 0), (n // 2, (n - 1) // 2)))
    c = x.shape[-1]
    acc = sum(pad[..., i:i + c] for i in range(n))
    div = t.scale(acc, float(kind.alpha) / n) + float(kind.k)
    return (x / div ** float(kind.beta)).astype(x.dtype)


# --- element-wise -----------------------------------------------------------------------------

@forward("relu")
def relu(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return np.maximum(xs[0], 0)


@forward("relu6")
def relu6(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return np.clip(xs[0], 0, 6)


@forward("sigmoid")
def sigmoid(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    return (1 / (1 + np.exp(-x))).astype(x.dtype)


@forward("tanh")
def tanh(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return np.tanh(xs[0])


@forward("hardswish")
def hardswish(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    return t.scale(x, np.clip(x + 3, 0, 6) / 6).astype(x.dtype)


@forward("softmax")
def softmax(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    if x.ndim != 2:
        raise GeometryError(f"softmax needs a flat input N x n, received {x.shape}")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@forward("dropout")
def dropout(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # inference: the identity


# --- merge and reshape ------------------------------------------------------------------------

@forward("add")
def add(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    if any(x.shape != xs[0].shape for x in xs):
        raise GeometryError(f"add of different shapes {[x.shape for x in xs]}")
    y = xs[0].copy()
    for x in xs[1:]:
        y += x
    return y


@forward("concat")
def concat(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate(xs, axis=-1)


@forward("flatten")
def flatten(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


@forward("zeropad")
def zeropad(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    t_, b, l, r = _pads(kind.padding, x.shape[1], x.shape[2], (1, 1), (1, 1))
    return np.pad(x, ((0, 0), (t_, b), (l, r), (0, 0)))


@forward("upsample")
def upsample(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Nearest copies; bilinear uses half-pixel centres (PyTorch align_corners=False): 4 weights per output."""
    x = xs[0]
    sh, sw = kind.scale
    if kind.mode == "nearest":
        return np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)
    n, h, w, c = x.shape

    def axis(size: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.clip((np.arange(size * s) + 0.5) / s - 0.5, 0, size - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, size - 1), (src - lo).astype(x.dtype)

    y0, y1, fy = axis(h, sh)
    x0, x1, fx = axis(w, sw)
    fy, fx = fy[None, :, None, None], fx[None, None, :, None]
    rows0, rows1 = x[:, y0], x[:, y1]
    one = x.dtype.type(1)
    out = (t.scale(rows0[:, :, x0], (one - fy) * (one - fx)) + t.scale(rows0[:, :, x1], (one - fy) * fx)
           + t.scale(rows1[:, :, x0], fy * (one - fx)) + t.scale(rows1[:, :, x1], fy * fx))
    return out.astype(x.dtype)


@forward("input")
def input_(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # the executor feeds the input array in
