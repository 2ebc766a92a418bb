"""Forwards of the convolutions: banded im2col for `conv`, banded taps or einsum for `depthwise`,
a tap-by-tap scatter for `convtranspose`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import GeometryError, Tally, WeightShapes, _pads, _positions, _rows_merge, forward


def _conv_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _conv_weights(kind, ins)  # the checks of channels against groups
    ho, wo = _geometry(ins[0], kind.padding, kind.kernel, kind.stride, kind.dilation)[:2]
    return (ins[0][0], ho, wo, kind.filters)


def _depthwise_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _depthwise_weights(kind, ins)
    ho, wo = _geometry(ins[0], kind.padding, kind.kernel, kind.stride, kind.dilation)[:2]
    return (ins[0][0], ho, wo, ins[0][3] * kind.multiplier)


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
    """The band's slab and im2col block (and a group's product); none for a direct 1x1 conv."""
    band, _, wo, _, _, cols, slab_rows, direct = _conv_band(kind, ins[0], itemsize)
    if direct:
        return 0
    c, (kh, kw), g = ins[0][3], kind.kernel, kind.groups
    return (slab_rows * cols * c + band * wo * kh * kw * (c // g) + (band * wo * kind.filters // g if g > 1 else 0)
            ) * itemsize


@forward("conv", weights=_conv_weights, scratch=_conv_scratch, shape=_conv_shape)
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
        if _rows_merge(x):  # (N·H·W, C), a view (of a channel slice too: BLAS takes its row stride)
            y = t.matmul(x.reshape(-1, c), kern.reshape(c, f)).reshape(n, ho, wo, f)
        else:  # a crop's view, whose rows do not merge: row by row, nothing copied
            y = np.empty((n, ho, wo, f), dtype=x.dtype)
            for b in range(n):
                for i in range(ho):
                    t.matmul(x[b, i], kern.reshape(c, f), out=y[b, i])
        if bias is not None:
            y += bias
        return y
    y = np.empty((n, ho, wo, f), dtype=x.dtype)
    if n == 0:  # an empty batch: no band buffers
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


@forward("depthwise", weights=_depthwise_weights, scratch=_dw_scratch, shape=_depthwise_shape)
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
    if n == 0:  # an empty batch: no band buffers
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


def _transposed_geometry(kind: Any, h: int, w: int) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """((full H, full W), (top, left) crop, (H', W')) of a transposed convolution: the full output
    holds every tap of every input, input i's window starting at i·s; the output is its part from
    (top, left), zeros past its end (output_padding, or `same` with a kernel narrower than the stride)."""
    full, start, size = [], [], []
    for n, k, s, d, op, axis in ((h, kind.kernel[0], kind.stride[0], kind.dilation[0], kind.output_padding[0], 0),
                                 (w, kind.kernel[1], kind.stride[1], kind.dilation[1], kind.output_padding[1], 1)):
        span = (n - 1) * s + d * (k - 1) + 1
        p = kind.padding
        if p == "same":  # TensorFlow: an output of n·s, the odd cropped row at the end
            crop = max(span - n * s, 0)
            lo, hi, extra = crop // 2, crop - crop // 2, max(n * s - span, 0)
        elif p == "valid":
            lo, hi, extra = 0, 0, op
        elif isinstance(p, int):
            lo, hi, extra = p, p, op
        elif len(p) == 2:
            lo, hi, extra = p[axis], p[axis], op
        else:
            lo, hi, extra = p[2 * axis], p[2 * axis + 1], op
        full.append(span)
        start.append(lo)
        size.append(span - lo - hi + extra)
        if size[-1] < 1:
            raise GeometryError(f"a transposed convolution output of {size[-1]} along {'HW'[axis]}")
    return (full[0], full[1]), (start[0], start[1]), (size[0], size[1])


def _transposed_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    c, g = shapes[0][-1], kind.groups
    if len(shapes[0]) != 4 or c % g or kind.filters % g:
        raise GeometryError(f"convtranspose needs N x H x W x C with C and filters divisible by groups={g}, "
                            f"received {shapes[0]}")
    ws = {"kernel": ((*kind.kernel, kind.filters // g, c), True)}
    if kind.bias:
        ws["bias"] = ((kind.filters,), True)
    return ws


def _transposed_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _transposed_weights(kind, ins)
    n, h, w, _ = ins[0]
    ho, wo = _transposed_geometry(kind, h, w)[2]
    return (n, ho, wo, kind.filters)


def _transposed_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The full (uncropped) output, made larger by the zeros past it, one tap's product, and the
    buffers of NumPy's loop adding it into the strided rows and columns (8192 values each, its default);
    for a strided input (a crop), its copy as rows, and with groups a group's columns copied for BLAS."""
    n, h, w, c = ins[0]
    (fh, fw), (top, left), (ho, wo) = _transposed_geometry(kind, h, w)
    return (n * max(fh, top + ho) * max(fw, left + wo) * kind.filters
            + n * h * w * (kind.filters // kind.groups) + 2 * 8192
            + n * h * w * c + (n * h * w * c // kind.groups if kind.groups > 1 else 0)) * itemsize


@forward("convtranspose", weights=_transposed_weights, scratch=_transposed_scratch, shape=_transposed_shape)
def convtranspose(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """Scatter, tap by tap: for tap (i, j) one matmul of every input value by that tap's weights
    (per group), added into the output rows i·d, i·d + s, ... and columns j·d, j·d + s, ...; then
    the output is cut from the full result. Each input value meets each tap of each filter once."""
    x, kern = xs[0], ws["kernel"]
    n, h, w, c = x.shape
    g, f = kind.groups, kind.filters
    cg, fg = c // g, f // g
    (kh, kw), (sh, sw), (dh, dw) = kind.kernel, kind.stride, kind.dilation
    (fh, fw), (top, left), (ho, wo) = _transposed_geometry(kind, h, w)
    full = np.zeros((n, max(fh, top + ho), max(fw, left + wo), f), dtype=x.dtype)
    rows = x.reshape(n * h * w, c)
    tap = np.empty((n * h * w, fg), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            dst = full[:, i * dh:i * dh + (h - 1) * sh + 1:sh, j * dw:j * dw + (w - 1) * sw + 1:sw]
            for gi in range(g):
                t.matmul(rows[:, gi * cg:(gi + 1) * cg], kern[i, j, :, gi * cg:(gi + 1) * cg].T, out=tap)
                dst[..., gi * fg:(gi + 1) * fg] += tap.reshape(n, h, w, fg)
    y = full if (top, left, ho, wo) == (0, 0, *full.shape[1:3]) else \
        np.ascontiguousarray(full[:, top:top + ho, left:left + wo])
    if "bias" in ws:
        y += ws["bias"]
    return y
