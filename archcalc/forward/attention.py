"""Forwards of attention: multi-head self-attention over (N, L, C), Swin's shifted-window attention
over (N, H, W, C), and the product of two activations. Every product goes through the Tally:
projections as `matmul` (kernel MACs), Q·K^T and weights·V as `bmm`; the 1/sqrt(d) scaling of Q
as `scale` (an other multiply).

Weight layouts: qkv_kernel (C, 3·h·d), columns [0, hd) the queries, [hd, 2hd) the keys, [2hd, 3hd)
the values, head i in columns i·d .. i·d + d - 1 of each (torch's in_proj_weight transposed);
proj_kernel (h·d, C) (torch's out_proj.weight transposed); bias_table ((2w_h - 1)(2w_w - 1), h) as
torchvision's relative_position_bias_table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, forward


def _softmax(x: np.ndarray) -> np.ndarray:
    """Over the last axis, in place (the scores are this forward's own array)."""
    np.subtract(x, x.max(axis=-1, keepdims=True), out=x)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


def _heads(t: Tally, x: np.ndarray, ws: dict[str, np.ndarray], h: int, d: int) -> tuple[np.ndarray, ...]:
    """Q (scaled by 1/sqrt(d)), K, V of x (B, T, C), each (B, h, T, d)."""
    qkv = t.matmul(x, ws["qkv_kernel"])
    if "qkv_bias" in ws:
        qkv += ws["qkv_bias"]
    b, n, _ = x.shape
    q = qkv[..., :h * d]  # the queries' columns, rows of contiguous values: scaled in place, as one pass
    t.scale(q, x.dtype.type(d ** -0.5), out=q)
    qkv = qkv.reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)
    return qkv[0], qkv[1], qkv[2]


def _out(t: Tally, o: np.ndarray, ws: dict[str, np.ndarray]) -> np.ndarray:
    """(B, h, T, d) -> (B, T, h·d), projected when the layer has a projection."""
    b, h, n, d = o.shape
    # a copy, C-contiguous (where heads or tokens are one, the reshape alone would be a strided view)
    y = np.ascontiguousarray(o.transpose(0, 2, 1, 3).reshape(b, n, h * d))
    if "proj_kernel" in ws:
        y = t.matmul(y, ws["proj_kernel"])
        if "proj_bias" in ws:
            y += ws["proj_bias"]
    return y


def _head_dim(c: int, heads: int, head_dim: int = 0) -> int:
    if not head_dim and c % heads:
        raise GeometryError(f"{c} channels in {heads} heads")
    return head_dim or c // heads


def _attention_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 3:
        raise GeometryError(f"attention needs N x L x C, received {shapes[0]}")
    c = shapes[0][2]
    hd = kind.heads * _head_dim(c, kind.heads, kind.head_dim)
    ws = {"qkv_kernel": ((c, 3 * hd), True)}
    if kind.qkv_bias:
        ws["qkv_bias"] = ((3 * hd,), True)
    if kind.proj:
        ws["proj_kernel"] = ((hd, c), True)
        if kind.proj_bias:
            ws["proj_bias"] = ((c,), True)
    return ws


def _attention_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _attention_weights(kind, ins)
    n, length, c = ins[0]
    return (n, length, c if kind.proj else kind.heads * _head_dim(c, kind.heads, kind.head_dim))


def _attention_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """Everything held beside the output at once, at most: a copy of a strided input (for the
    projection's matmul), the Q, K, V projections (B·T·3hd) and the scaled Q, two arrays of scores
    (B·h·T², the scores and their softmax), the weighted values and their (B, T, h·d) copy."""
    n, length, c = ins[0]
    hd = kind.heads * _head_dim(c, kind.heads, kind.head_dim)
    return (n * length * (c + 6 * hd) + 2 * n * kind.heads * length * length) * itemsize


@forward("attention", weights=_attention_weights, shape=_attention_shape, scratch=_attention_scratch,
         column_major=("qkv_kernel", "proj_kernel"))
def attention(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    h = kind.heads
    q, k, v = _heads(t, x, ws, h, _head_dim(x.shape[2], h, kind.head_dim))
    a = _softmax(t.bmm(q, k.swapaxes(-1, -2)))
    return _out(t, t.bmm(a, v), ws)


def _window_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 4:
        raise GeometryError(f"windowattention needs N x H x W x C, received {shapes[0]}")
    c = shapes[0][3]
    _head_dim(c, kind.heads)
    (wh, ww) = kind.window
    ws = {"qkv_kernel": ((c, 3 * c), True)}
    if kind.qkv_bias:
        ws["qkv_bias"] = ((3 * c,), True)
    ws["proj_kernel"] = ((c, c), True)
    if kind.proj_bias:
        ws["proj_bias"] = ((c,), True)
    ws["bias_table"] = (((2 * wh - 1) * (2 * ww - 1), kind.heads), True)
    return ws


def relative_position_index(wh: int, ww: int) -> np.ndarray:
    """(T, T): the bias-table row of the offset between tokens i and j of a window (torchvision's
    define_relative_position_index): (dh + wh - 1)·(2ww - 1) + (dw + ww - 1)."""
    coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij")).reshape(2, -1)
    rel = coords[:, :, None] - coords[:, None, :]
    return (rel[0] + wh - 1) * (2 * ww - 1) + rel[1] + ww - 1


def shift_mask(hp: int, wp: int, wh: int, ww: int, sh: int, sw: int) -> np.ndarray:
    """(n_w, T, T): 0 where two tokens of a window come from the same region of the rolled map,
    -100 where they do not (torchvision's attn_mask: regions [0, -w), [-w, -s), [-s, end) per axis)."""
    region = np.zeros((hp, wp))
    count = 0
    for h0, h1 in ((0, hp - wh), (hp - wh, hp - sh), (hp - sh, hp)):
        for w0, w1 in ((0, wp - ww), (wp - ww, wp - sw), (wp - sw, wp)):
            region[h0:h1, w0:w1] = count
            count += 1
    win = region.reshape(hp // wh, wh, wp // ww, ww).transpose(0, 2, 1, 3).reshape(-1, wh * ww)
    return np.where(win[:, None, :] != win[:, :, None], -100.0, 0.0)


def _window_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _window_weights(kind, ins)
    return ins[0]


def _window_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """At most, beside the output: of the padded map's size P = B·H_p·W_p·C, the padded, rolled and
    partitioned copies, Q, K, V and the scaled Q (4P), the weighted values, their copy, the
    projection and the unpartitioned and rolled maps (5P); two arrays of scores (B·n_w·h·T²); the
    bias (h·T², gathered and converted) and the mask of wrapped regions (n_w·T², float64 and the
    run's type); float64 region maps (3·H_p·W_p) and int64 index tables (6·T²)."""
    n, h, w, c = ins[0]
    wh, ww = kind.window
    hp, wp = -(-h // wh) * wh, -(-w // ww) * ww
    t, windows = wh * ww, (hp // wh) * (wp // ww)
    p = n * hp * wp * c
    return ((12 * p + 2 * n * windows * kind.heads * t * t + 2 * kind.heads * t * t + windows * t * t) * itemsize
            + 8 * (windows * t * t + 3 * hp * wp + 6 * t * t))


@forward("windowattention", weights=_window_weights, shape=_window_shape, scratch=_window_scratch,
         column_major=("qkv_kernel", "proj_kernel"))
def windowattention(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """torchvision's shifted_window_attention: pad to window multiples, roll by -shift (not along an axis
    one window covers), attend within each window with the relative position bias (and the mask of
    wrapped regions), project, unpartition, roll back, crop."""
    x = xs[0]
    n, hh, ww_, c = x.shape
    (wh, ww), heads = kind.window, kind.heads
    d = _head_dim(c, heads)
    if n == 0:  # an empty batch: the shape only (a huge window's index tables would not fit in memory)
        return np.empty(x.shape, x.dtype)
    pb, pr = (wh - hh % wh) % wh, (ww - ww_ % ww) % ww
    if pb or pr:
        x = np.pad(x, ((0, 0), (0, pb), (0, pr), (0, 0)))
    hp, wp = hh + pb, ww_ + pr
    sh = 0 if wh >= hp else kind.shift[0]
    sw = 0 if ww >= wp else kind.shift[1]
    if sh or sw:
        x = np.roll(x, (-sh, -sw), axis=(1, 2))
    nh, nw = hp // wh, wp // ww
    win = x.reshape(n, nh, wh, nw, ww, c).transpose(0, 1, 3, 2, 4, 5).reshape(n * nh * nw, wh * ww, c)
    q, k, v = _heads(t, win, ws, heads, d)
    scores = t.bmm(q, k.swapaxes(-1, -2))                                # (B·n_w, h, T, T)
    scores += ws["bias_table"][relative_position_index(wh, ww)].transpose(2, 0, 1).astype(x.dtype)
    if sh or sw:
        mask = shift_mask(hp, wp, wh, ww, sh, sw).astype(x.dtype)       # (n_w, T, T)
        scores = (scores.reshape(n, nh * nw, heads, wh * ww, wh * ww) + mask[None, :, None]).reshape(scores.shape)
    y = _out(t, t.bmm(_softmax(scores), v), ws)                        # (B·n_w, T, C)
    y = y.reshape(n, nh, nw, wh, ww, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, hp, wp, c)
    if sh or sw:
        y = np.roll(y, (sh, sw), axis=(1, 2))
    return np.ascontiguousarray(y[:, :hh, :ww_])


def _matmul_operands(kind: Any, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if a.ndim != 3 or b.ndim != 3:
        raise GeometryError(f"matmul needs two N x L x C inputs, received {a.shape} and {b.shape}")
    return (a.swapaxes(1, 2) if kind.transpose_a else a), (b.swapaxes(1, 2) if kind.transpose_b else b)


def _matmul_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    if len(ins) != 2 or len(ins[0]) != 3 or len(ins[1]) != 3:
        raise GeometryError(f"matmul needs two N x L x C inputs, received {ins}")
    (n, l1, c1), (_, l2, c2) = ins
    (m, k1), (k2, p) = ((c1, l1) if kind.transpose_a else (l1, c1)), ((c2, l2) if kind.transpose_b else (l2, c2))
    if k1 != k2:
        raise GeometryError(f"matmul of {ins[0]} by {ins[1]}")
    return (n, m, p)


def _operand_copies(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """NumPy's matmul may copy a strided (transposed) operand: both, at most."""
    return sum(math.prod(s) for s in ins) * itemsize


@forward("matmul", shape=_matmul_shape, scratch=_operand_copies)
def matmul(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    _matmul_shape(kind, [x.shape for x in xs])
    a, b = _matmul_operands(kind, xs[0], xs[1])
    y = t.bmm(a, b)
    if kind.scale != 1:
        t.scale(y, y.dtype.type(float(kind.scale)), out=y)
    return y
