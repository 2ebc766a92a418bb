"""Forwards of the convolutions: banded im2col for `conv`, banded taps or einsum for `depthwise`,
a tap-by-tap scatter for `convtranspose`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

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


def _slab(rows: int, cols: int, c: int, left: int, w: int, dtype: Any) -> np.ndarray:
    """A buffer for `_fill`: zeros only in the columns of padding (left of the input, right of
    it), which `_fill` never writes; the rest it fills row by row (not zeroing it all first
    saves a pass over a slab that may be a whole sample)."""
    slab = np.empty((rows, cols, c), dtype=dtype)
    slab[:, :left] = 0
    slab[:, left + w:] = 0
    return slab


def _fill(slab: np.ndarray, x: np.ndarray, row0: int, left: int) -> None:
    """Copy into `slab` (L, Q, C) the part of `x` (H, W, C) it covers, zeros elsewhere.

    Slab row i holds input row row0 + i (row0 < 0 near the top: rows above the input are
    padding); slab column q holds input column q - left. Columns outside the input are never
    written, so they keep the zeros the slab was made with; rows outside it are zeroed here, as a
    previous band may have written them.
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
    q0 = max(0, left)                                # first slab column inside the input
    count = min(q_n - q0, w + left - q0)
    if count > 0:
        src = x[row0 + a:row0 + b, q0 - left:q0 - left + count]
        dst = slab[a:b, q0:q0 + count]
        if dst.shape[-1] == src.shape[-1]:
            dst[...] = src
        else:  # depthwise multiplier m: slab channel c·m + k holds input channel c
            dst.reshape(*dst.shape[:-1], src.shape[-1], -1)[...] = src[..., None]


def _conv_band(kind: Any, shape: tuple[int, ...], itemsize: int
               ) -> tuple[int, int, int, int, int, int, int, str]:
    """(band, ho, wo, top, left, cols, slab rows, path): the banding every conv call and its scratch
    estimate share. `path`: "direct", a 1x1 stride-1 unpadded conv, one matmul over the input as it
    lies; "gather", a 1x1 strided unpadded one, one matmul over a copy of the pixels it reads;
    "bands", im2col a band of output rows at a time."""
    (kh, kw), (sh, sw), (dh, _) = kind.kernel, kind.stride, kind.dilation
    ho, wo, top, left, _, cols = _geometry(shape, kind.padding, kind.kernel, kind.stride, kind.dilation)
    path = "bands"
    if (kh, kw, kind.groups, top, left) == (1, 1, 1, 0, 0):
        path = "direct" if (sh, sw, ho, wo) == (1, 1, shape[1], shape[2]) else "gather"
    per_row = wo * kh * kw * (shape[3] // kind.groups) * itemsize
    band = max(1, min(ho, CHUNK_BYTES // per_row, CHUNK_ROWS // wo))
    return band, ho, wo, top, left, cols, (band - 1) * sh + dh * (kh - 1) + 1, path


def _is_depthwise(kind: Any, c: int) -> bool:
    """A conv of one input channel per group (groups = C > 1): run as depthwise, not as C matmuls."""
    return kind.groups == c > 1


def _conv_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The band's slab and im2col block (and a group's product); for a gathered 1x1 conv the copy
    of the pixels it reads; none for a direct one; depthwise's for groups = C."""
    if _is_depthwise(kind, ins[0][3]):
        return _dw_scratch(kind, ins, out, itemsize)
    band, ho, wo, _, _, cols, slab_rows, path = _conv_band(kind, ins[0], itemsize)
    if path != "bands":
        return ins[0][0] * ho * wo * ins[0][3] * itemsize if path == "gather" else 0
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
    A 1x1, stride-1, unpadded conv is a single matmul over the input as it lies; a conv with
    one input channel per group (groups = C) runs as depthwise does.
    """
    x, kern = xs[0], ws["kernel"]
    n, c = x.shape[0], x.shape[3]
    if _is_depthwise(kind, c):  # (f_h, f_w, 1, C·m): output channel o reads input channel o // m, as depthwise's
        return _depthwise(t, kind, x, kern.reshape(*kern.shape[:2], kind.filters), ws.get("bias"))
    g, f = kind.groups, kind.filters
    cg, fg = c // g, f // g
    (kh, kw), (sh, sw), (dh, dw) = kind.kernel, kind.stride, kind.dilation
    band, ho, wo, top, left, cols, slab_rows, path = _conv_band(kind, x.shape, x.itemsize)
    bias = ws.get("bias")
    if path != "bands":
        if path == "gather":
            x = np.ascontiguousarray(x[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw])
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
    slab = _slab(slab_rows, cols, c, left, x.shape[2], x.dtype)
    col = np.empty((band, wo, kh, kw, cg), dtype=x.dtype)
    out = np.empty((band * wo, fg), dtype=x.dtype) if g > 1 else None
    for b in range(n):
        for r0 in range(0, ho, band):
            m = min(band, ho - r0)
            sl = slab[:(m - 1) * sh + dh * (kh - 1) + 1]
            _fill(sl, x[b], r0 * sh - top, left)
            yb = y[b, r0:r0 + m].reshape(m * wo, f)
            if g == 1 and dw == 1:
                # windows[r, w, i, j·C + ch] = sl[r·sh + i·dh, w·sw + j, ch]: a tap row's f_w·C values
                # lie side by side in the slab, so the copy runs over them in one stretch
                st = sl.strides
                win = as_strided(sl, (m, wo, kh, kw * c), (st[0] * sh, st[1] * sw, st[0] * dh, st[2]),
                                 writeable=False)
                np.copyto(col[:m].reshape(m, wo, kh, kw * c), win)
                t.matmul(col[:m].reshape(m * wo, kh * kw * c), k2, out=yb)
            else:
                # windows[r, w, ch, i, j] = sl[r·sh + i·dh, w·sw + j·dw, ch]
                win = sliding_window_view(sl, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(0, 1))
                win = win[::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 3, 4, 2)
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


#: Below this many channels (C·m), at width stride 1, depthwise's einsum runs along whole rows:
#: its inner loop covers a row's W'·C values at once (the weights repeated along the row), where
#: the per-pixel form loops over one pixel's C channels, too few to pay for a loop each. From
#: here on the per-pixel form wins: the repeated weights (f_h·f_w·W'·C values) are read again for
#: every output row. Measured (thread CPU time, one thread, ms, rows against pixels):
#: 112 x 112 x 32 3 x 3 0.58 against 2.37; 56 x 56 x 144 0.76 against 1.02; 28 x 28 x 192 0.25
#: against 0.28; 28 x 28 x 288 0.40 against 0.39; 14 x 14 x 480 5 x 5 0.41 against 0.31.
DW_ROW_CHANNELS = 192
#: Input bytes of one band of depthwise (its padded slab): small enough to stay in L2 between
#: being copied and being read, so a large map is read from memory once.
DW_SLAB_BYTES = 1 << 20


def _dw_params(kind: Any, c: int) -> tuple[Any, tuple[int, int], tuple[int, int], tuple[int, int], int]:
    """(padding, kernel, stride, dilation, multiplier) of a depthwise layer, or of a conv whose every
    group is one input channel (groups = C: EfficientNet, MobileNetV3 and ConvNeXt write theirs so)."""
    mult = kind.multiplier if kind.name == "depthwise" else kind.filters // c
    return kind.padding, kind.kernel, kind.stride, kind.dilation, mult


def _dw_plan(kind: Any, shape: tuple[int, ...], itemsize: int) -> tuple[bool, int, int, int, int, int, int, int]:
    """(rows, band, ho, wo, top, left, slab rows, slab columns), shared by depthwise and its scratch:
    `rows`, the einsum runs along whole rows (see DW_ROW_CHANNELS); `band` output rows read one
    padded slab of about DW_SLAB_BYTES."""
    padding, k, (sh, sw), d, mult = _dw_params(kind, shape[3])
    ho, wo, top, left, _, cols = _geometry(shape, padding, k, (sh, sw), d)
    cm = shape[3] * mult
    band = max(1, min(ho, DW_SLAB_BYTES // (sh * cols * cm * itemsize)))
    rows = sw == 1 and cm < DW_ROW_CHANNELS
    return rows, band, ho, wo, top, left, (band - 1) * sh + d[0] * (k[0] - 1) + 1, cols


def _dw_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The slab, and for the row form the weights repeated along a row; and the buffers of NumPy's
    iterator, which einsum fills for strided operands (NumPy 1.24 does for these windows: its two
    operands and its output, np.getbufsize() values each, measured by tracemalloc; 2.x does not)."""
    rows, _, _, wo, _, _, slab_rows, cols = _dw_plan(kind, ins[0], itemsize)
    _, (kh, kw), _, _, mult = _dw_params(kind, ins[0][3])
    return (slab_rows * cols + (kh * kw * wo if rows else 0)) * ins[0][3] * mult * itemsize \
        + 3 * np.getbufsize() * itemsize


@forward("depthwise", weights=_depthwise_weights, scratch=_dw_scratch, shape=_depthwise_shape)
def depthwise(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return _depthwise(t, kind, xs[0], ws["kernel"], ws.get("bias"))


def _depthwise(t: Tally, kind: Any, x: np.ndarray, kern: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """One einsum per band of output rows, over a padded copy of the band's input (a multiplier m
    repeats each input channel m times in it): its loop keeps each output's sum in a register, one
    multiply-add per tap, no pass over memory per tap. `kern` is (f_h, f_w, C·m): output channel
    c·m + k reads input channel c.

    Narrow layers at width stride 1 run along whole rows: a row of output (W'·C values, side by
    side) takes tap (i, j) from a stretch of a slab row that is just as contiguous, times the tap's
    weights repeated along the row, so the einsum's inner loop covers the row at once. Wider (or
    strided) layers run per pixel: windows from a sliding view, the inner loop over C channels.
    """
    n, c = x.shape[0], x.shape[3]
    _, (kh, kw), (sh, sw), (dh, dw), mult = _dw_params(kind, c)
    cm = c * mult
    rows, band, ho, wo, top, left, slab_rows, cols = _dw_plan(kind, x.shape, x.itemsize)
    y = np.empty((n, ho, wo, cm), dtype=x.dtype)
    if n == 0:  # an empty batch: no buffers
        return y
    slab = _slab(slab_rows, cols, cm, left, x.shape[2], x.dtype)
    # taps[i, j] = kern[i, j] repeated along the output row (kh·kw·wo·cm values)
    taps = np.ascontiguousarray(np.broadcast_to(kern[:, :, None, :], (kh, kw, wo, cm))).reshape(
        kh, kw, wo * cm) if rows else None
    for b in range(n):
        for r0 in range(0, ho, band):
            m = min(band, ho - r0)
            sl = slab[:(m - 1) * sh + dh * (kh - 1) + 1]
            _fill(sl, x[b], r0 * sh - top, left)
            st = sl.strides
            if taps is not None:
                # win[r, i, j, w·cm + ch] = sl[r·sh + i·dh, w + j·dw, ch]: (w, ch) side by side
                win = as_strided(sl, (m, kh, kw, wo * cm), (st[0] * sh, st[0] * dh, st[1] * dw, st[2]),
                                 writeable=False)
                t.einsum("hijk,ijk->hk", win, taps, out=y[b, r0:r0 + m].reshape(m, wo * cm))
            else:
                # win[r, w, ch, i, j] = sl[r·sh + i·dh, w·sw + j·dw, ch]
                win = as_strided(sl, (m, wo, cm, kh, kw), (st[0] * sh, st[1] * sw, st[2], st[0] * dh, st[1] * dw),
                                 writeable=False)
                t.einsum("hwcij,ijc->hwc", win, kern, out=y[b, r0:r0 + m])
    if bias is not None:
        y += bias
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
