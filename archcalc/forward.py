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
from numpy.lib.stride_tricks import sliding_window_view

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

    def einsum(self, subscripts: str, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Two-operand sum of products ('ab,bc->ac' style, explicit output): NumPy's einsum loop
        multiplies once per combination of all the indices, so that product is the count."""
        extent: dict[str, int] = {}
        for subs, arr in zip(subscripts.split("->")[0].split(","), (a, b), strict=True):
            for ch, n in zip(subs, arr.shape, strict=True):
                if extent.setdefault(ch, n) != n:
                    raise ValueError(f"einsum {subscripts} of {a.shape} and {b.shape}")
        self.macs += math.prod(extent.values())
        return np.einsum(subscripts, a, b, out=out)

    def scale(self, a: np.ndarray, b: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Element-wise multiply that is not a kernel MAC (counted in `other_mults`)."""
        self.other_mults += math.prod(np.broadcast_shapes(np.shape(a), np.shape(b)))
        return np.multiply(a, b, out=out)


def _copy_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """Default scratch of a forward: one more array the size of its largest input or output
    (a padded copy, a temporary), over the whole batch (shapes here include it)."""
    return max(math.prod(s) for s in (*ins, out)) * itemsize


@dataclass(frozen=True)
class Forward:
    """One kind's forward: `fn(t, kind, xs, ws[, own])`, its weight shapes, and its scratch bytes.

    `inplace` forwards take `own`: True when nothing else will read `xs[0]`, so they may write
    their output over it (the executor decides, from liveness; see execute.py).
    """

    fn: Callable[..., np.ndarray]
    weights: Callable[[Any, list[tuple[int, ...]]], WeightShapes]
    scratch: Callable[[Any, list[tuple[int, ...]], tuple[int, ...], int], int] = _copy_scratch
    inplace: bool = False

    def run(self, t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray],
            own: bool = False) -> np.ndarray:
        return self.fn(t, kind, xs, ws, own) if self.inplace else self.fn(t, kind, xs, ws)


FORWARDS: dict[str, Forward] = {}


def _no_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {}


def forward(*names: str, weights: Callable[..., WeightShapes] = _no_weights,
            scratch: Callable[..., int] = _copy_scratch, inplace: bool = False) -> Callable[..., Any]:
    def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        for n in names:
            FORWARDS[n] = Forward(fn, weights, scratch, inplace)
        return fn
    return deco


def _no_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    return 0


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


#: Scratch budget of one convolution chunk (the im2col block of a band of output rows): big
#: enough for BLAS to run near its peak, small enough to stay in cache and off the memory peak.
CHUNK_BYTES = 4 << 20
#: Upper bound on the rows of one chunk's matmul (past ~2048 the output block leaves the cache).
CHUNK_ROWS = 2048


def _geometry(shape: tuple[int, ...], padding: Any, k: tuple[int, int], s: tuple[int, int],
              d: tuple[int, int]) -> tuple[int, int, int, int, int, int]:
    """(ho, wo, top, left, rows, cols) of a convolution: `rows` x `cols` is the padded extent the
    windows actually read (padding past it is never touched, so never materialised)."""
    _, h, w, _ = shape
    t, b, l, r = _pads(padding, h, w, k, s, d)
    ho = _positions(h, t, b, k[0], s[0], d[0])
    wo = _positions(w, l, r, k[1], s[1], d[1])
    return ho, wo, t, l, (ho - 1) * s[0] + d[0] * (k[0] - 1) + 1, (wo - 1) * s[1] + d[1] * (k[1] - 1) + 1


def _fill(slab: np.ndarray, x: np.ndarray, row0: int, left: int, step: int = 1, phase: int = 0) -> None:
    """Copy into `slab` (L, Q, C) the part of `x` (H, W, C) it covers, zeros elsewhere.

    Slab row i holds input row row0 + i (row0 < 0 near the top: rows above the input are
    padding); slab column q holds input column q·step + phase - left (the padded column
    q·step + phase). Columns outside the input are never written, so they keep the zeros the
    slab was made with; rows outside it are zeroed here, as a previous band may have written them.
    """
    big_l, q_n = slab.shape[:2]
    h, w = x.shape[:2]
    a, b = max(0, -row0), min(big_l, h - row0)
    if a > 0:
        slab[:a] = 0
    if b < big_l:
        slab[max(b, 0):] = 0
    if a >= b:
        return
    q0 = max(0, -((phase - left) // step))           # first slab column inside the input
    c0 = q0 * step + phase - left
    count = min(q_n - q0, -(-(w - c0) // step)) if c0 < w else 0
    if count > 0:
        src = x[row0 + a:row0 + b, c0:c0 + (count - 1) * step + 1:step]
        dst = slab[a:b, q0:q0 + count]
        if dst.shape[-1] == src.shape[-1]:
            dst[...] = src
        else:  # depthwise multiplier m: slab channel c·m + k holds input channel c
            dst.reshape(*dst.shape[:-1], src.shape[-1], -1)[...] = src[..., None]


def _conv_band(kind: Any, shape: tuple[int, ...], itemsize: int
               ) -> tuple[int, int, int, int, int, int, int, bool]:
    """(band, ho, wo, top, left, cols, slab rows, direct): the banding every conv call and its
    scratch estimate share. `direct`: a 1x1 stride-1 unpadded conv, one matmul, no scratch."""
    (kh, kw), (sh, _), (dh, _) = kind.kernel, kind.stride, kind.dilation
    ho, wo, top, left, _, cols = _geometry(shape, kind.padding, kind.kernel, kind.stride, kind.dilation)
    direct = (kh, kw, *kind.stride, kind.groups, ho, wo, top, left) == (1, 1, 1, 1, 1, shape[1], shape[2], 0, 0)
    per_row = wo * kh * kw * (shape[3] // kind.groups) * itemsize
    band = max(1, min(ho, CHUNK_BYTES // per_row, CHUNK_ROWS // wo))
    return band, ho, wo, top, left, cols, (band - 1) * sh + dh * (kh - 1) + 1, direct


def _conv_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    band, _, wo, _, _, cols, slab_rows, direct = _conv_band(kind, ins[0], itemsize)
    if direct:
        return 0
    c, (kh, kw), g = ins[0][3], kind.kernel, kind.groups
    return (slab_rows * cols * c + band * wo * kh * kw * (c // g) + (band * wo * kind.filters // g if g > 1 else 0)
            ) * itemsize


@forward("conv", weights=_conv_weights, scratch=_conv_scratch)
def conv(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """im2col in bands of output rows: per band, the padded input rows it reads (a small slab),
    then its windows copied from a sliding-window view into one block and multiplied by the
    kernel in one matmul per group, written straight into the output.

    The block is a copy, but a band-sized one: it stays in cache, adds a few MiB at most to
    the memory peak, and gives BLAS one long contraction (f_h·f_w·C) instead of f_h·f_w
    short ones (a sum of shifted-view matmuls) whose partial outputs must each be added back.
    A 1x1, stride-1, unpadded conv is a single matmul over the input as it lies.
    """
    x, kern = xs[0], ws["kernel"]
    n, c = x.shape[0], x.shape[3]
    g, f = kind.groups, kind.filters
    cg, fg = c // g, f // g
    (kh, kw), (sh, sw), (dh, dw) = kind.kernel, kind.stride, kind.dilation
    band, ho, wo, top, left, cols, slab_rows, direct = _conv_band(kind, x.shape, x.itemsize)
    bias = ws.get("bias")
    if direct:
        y = t.matmul(x.reshape(-1, c), kern.reshape(c, f)).reshape(n, ho, wo, f)
        if bias is not None:
            y += bias
        return y
    y = np.empty((n, ho, wo, f), dtype=x.dtype)
    if n == 0:  # the dry run: no band buffers
        return y
    k2 = kern.reshape(kh * kw * cg, f)
    slab = np.zeros((slab_rows, cols, c), dtype=x.dtype)
    col = np.empty((band, wo, kh, kw, cg), dtype=x.dtype)
    out = np.empty((band * wo, fg), dtype=x.dtype) if g > 1 else None
    for b in range(n):
        for r0 in range(0, ho, band):
            m = min(band, ho - r0)
            sl = slab[:(m - 1) * sh + dh * (kh - 1) + 1]
            _fill(sl, x[b], r0 * sh - top, left)
            # windows[r, w, ch, i, j] = sl[r·sh + i·dh, w·sw + j·dw, ch]
            win = sliding_window_view(sl, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(0, 1))
            win = win[::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 3, 4, 2)
            yb = y[b, r0:r0 + m].reshape(m * wo, f)
            for gi in range(g):
                cb = col[:m]
                np.copyto(cb, win[..., gi * cg:(gi + 1) * cg])
                a = cb.reshape(m * wo, kh * kw * cg)
                if g == 1:
                    t.matmul(a, k2, out=yb)
                else:
                    ob = out[:m * wo]  # type: ignore[index]
                    t.matmul(a, k2[:, gi * fg:(gi + 1) * fg], out=ob)
                    yb[:, gi * fg:(gi + 1) * fg] = ob
            if bias is not None:
                yb += bias
    return y


def _depthwise_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 4:
        raise GeometryError(f"depthwise needs N x H x W x C, received {shapes[0]}")
    n = shapes[0][-1] * kind.multiplier
    ws = {"kernel": ((*kind.kernel, n), True)}
    if kind.bias:
        ws["bias"] = ((n,), True)
    return ws


#: Output bytes of one depthwise band: the accumulator and the per-tap product stay in L2.
DW_BAND_BYTES = 256 << 10
#: From this many channels on (stride 1 along the width), one einsum per band beats the
#: tap-by-tap multiply-add: its loop keeps each output's sum in a register instead of
#: reading and writing the band once per tap (measured here: 0.17 against 0.25 ms at
#: 14 x 14 x 384, no better at 56 x 56 x 144).
DW_EINSUM_CHANNELS = 192


def _dw_band(kind: Any, shape: tuple[int, ...], itemsize: int) -> tuple[int, int, int, int, int, int, int]:
    """(band, ho, wo, top, left, phase columns, slab rows) shared by depthwise and its scratch."""
    (kh, _), (sh, sw), (dh, _) = kind.kernel, kind.stride, kind.dilation
    ho, wo, top, left, _, cols = _geometry(shape, kind.padding, kind.kernel, kind.stride, kind.dilation)
    band = max(1, min(ho, DW_BAND_BYTES // (wo * shape[3] * kind.multiplier * itemsize)))
    return band, ho, wo, top, left, -(-cols // sw), (band - 1) * sh + dh * (kh - 1) + 1


def _dw_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    band, _, wo, _, _, q_n, slab_rows = _dw_band(kind, ins[0], itemsize)
    cm, (kh, kw) = ins[0][3] * kind.multiplier, kind.kernel
    return (kind.stride[1] * slab_rows * q_n + band * wo + kh * kw * wo) * cm * itemsize


@forward("depthwise", weights=_depthwise_weights, scratch=_dw_scratch)
def depthwise(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Per band of output rows, per tap: the band's shifted view times that tap's weights,
    accumulated in place. Three things keep NumPy's inner loops long and in cache:

    * the band (a few hundred KiB of output) stays in L2 across the f_h·f_w taps;
    * each tap's weights are repeated along the output width, so view and weights are both
      contiguous over width x channels and NumPy runs one long loop per row, not one per pixel;
    * the padded band is split by column phase (column mod stride), so even a stride-2 tap
      reads a contiguous run; a multiplier m repeats each input channel m times in the band.

    Wide, width-stride-1 layers take one einsum over the band's sliding windows instead.
    """
    x, kern, mult = xs[0], ws["kernel"], kind.multiplier
    n, c = x.shape[0], x.shape[3]
    cm = c * mult
    (kh, kw), (sh, sw), (dh, dw) = kind.kernel, kind.stride, kind.dilation
    band, ho, wo, top, left, q_n, slab_rows = _dw_band(kind, x.shape, x.itemsize)
    y = np.empty((n, ho, wo, cm), dtype=x.dtype)
    if n == 0:  # the dry run: no band buffers
        return y
    slab = np.zeros((sw, slab_rows, q_n, cm), dtype=x.dtype)
    if sw == 1 and cm >= DW_EINSUM_CHANNELS:
        for b in range(n):
            for r0 in range(0, ho, band):
                m = min(band, ho - r0)
                sl = slab[0, :(m - 1) * sh + dh * (kh - 1) + 1]
                _fill(sl, x[b], r0 * sh - top, left)
                # win[r, w, ch, i, j] = sl[r·sh + i·dh, w + j·dw, ch]
                win = sliding_window_view(sl, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(0, 1))
                t.einsum("hwcij,ijc->hwc", win[::sh, :, :, ::dh, ::dw], kern, out=y[b, r0:r0 + m])
        if "bias" in ws:
            y += ws["bias"]
        return y
    # taps[i, j] = kern[i, j] repeated along the output width (a copy of kh·kw·wo·cm values)
    taps = np.ascontiguousarray(np.broadcast_to(kern[:, :, None, :], (kh, kw, wo, cm)))
    tmp = np.empty((band, wo, cm), dtype=x.dtype)
    for b in range(n):
        for r0 in range(0, ho, band):
            m = min(band, ho - r0)
            span = (m - 1) * sh + dh * (kh - 1) + 1
            for p in range(sw):
                _fill(slab[p, :span], x[b], r0 * sh - top, left, sw, p)
            acc, tb = y[b, r0:r0 + m], tmp[:m]
            for i in range(kh):
                for j in range(kw):
                    p, q = divmod(j * dw, sw)[::-1]
                    view = slab[p, i * dh:i * dh + (m - 1) * sh + 1:sh, q:q + wo]
                    if i == j == 0:
                        t.mul(view, taps[i, j], out=acc)
                    else:
                        t.mul(view, taps[i, j], out=tb)
                        acc += tb
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
    """Padding never wins a max: pad with -inf (as PyTorch and TensorFlow behave). A window of
    padding only (which PyTorch refuses and the walker allows) gives 0, as in average pooling,
    rather than -inf, which would turn into NaN downstream (-inf x 0)."""
    k, s = _pool_geometry(kind)
    x = xs[0]
    xp, ho, wo, (t_, b, l, r, eb, er) = _prepare(x, kind.padding, k, s, (1, 1), kind.ceil, fill=-np.inf)
    y = None
    for _, view in _slide(xp, k, s, (1, 1), ho, wo):
        y = view.copy() if y is None else np.maximum(y, view, out=y)
    if max(t_, b + eb) >= k[0] or max(l, r + er) >= k[1]:  # some window may miss the input
        h, w = x.shape[1:3]
        inside = np.pad(np.ones((1, h, w, 1), bool), ((0, 0), (t_, b + eb), (l, r + er), (0, 0)))
        hit = np.zeros((1, ho, wo, 1), bool)
        for _, view in _slide(inside, k, s, (1, 1), ho, wo):
            hit |= view
        np.copyto(y, 0, where=~hit)
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


#: Bytes of one band of a BatchNorm (multiply, then add while the band is in L2).
AFFINE_BAND_BYTES = 256 << 10


@forward("batchnorm", weights=_bn_weights, scratch=_no_scratch, inplace=True)
def batchnorm(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    """Inference form, folded: y = x·a + b with a = gamma/sqrt(var + eps), b = beta - mean·a."""
    x = xs[0]
    a = ws["gamma"] / np.sqrt(ws["var"] + x.dtype.type(float(kind.eps)))
    b = ws["beta"] - ws["mean"] * a
    y = x if own else np.empty(x.shape, x.dtype)
    if x.ndim != 4 or x.size == 0 or not (x.flags.c_contiguous and y.flags.c_contiguous):
        t.scale(x, a, out=y)
        y += b
        return y
    # In bands of rows, so the add finds the product in cache: one trip to memory, not two;
    # a and b repeated along the width, so each row is one long inner loop.
    n, h, w, c = x.shape
    x2, y2 = x.reshape(n * h, w * c), y.reshape(n * h, w * c)
    a, b = np.tile(a, w), np.tile(b, w)
    rows = max(1, AFFINE_BAND_BYTES // (w * c * x.itemsize))
    for r in range(0, n * h, rows):
        yb = y2[r:r + rows]
        t.scale(x2[r:r + rows], a, out=yb)
        yb += b
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

# Element-wise kinds write over their input when the executor says nobody else reads it (`own`).

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


@forward("dropout", scratch=_no_scratch)
def dropout(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # inference: the identity


# --- merge and reshape ------------------------------------------------------------------------

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
    return np.concatenate(xs, axis=-1)


@forward("flatten", scratch=_no_scratch)
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


@forward("input", scratch=_no_scratch)
def input_(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0]  # the executor feeds the input array in
