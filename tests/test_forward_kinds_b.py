"""The forwards of linear, tokens, channel ops, attention and matmul: against naive loops on small
inputs, and against torch's own modules (outputs pinned in tests/data/torch_forward_kinds_b.npz by
tests/measured/torch_forward_kinds_b.py: torch 2.14.1, torchvision 0.29.1, float64)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from archcalc.forward import FORWARDS, Tally
from archcalc.forward.attention import relative_position_index, shift_mask
from archcalc.graph import _defaults
from archcalc.kinds import REGISTRY

RNG = np.random.default_rng(7)
TORCH = Path(__file__).parent / "data" / "torch_forward_kinds_b.npz"


def make(name: str, **values):
    cls = REGISTRY[name]
    fields = {**_defaults(cls), **values}
    for k, f in cls.fields.items():  # lists from JSON become the tuples a pair field holds
        if f.type == "pair" and isinstance(fields.get(k), (list, int)):
            v = fields[k]
            fields[k] = tuple(v) if isinstance(v, list) else (v, v)
    return cls(**fields)


def run(kind, xs, ws=None):
    t = Tally()
    return FORWARDS[kind.name].run(t, kind, xs, ws or {}), t


def _torch_cases() -> list[str]:
    with np.load(TORCH) as z:
        return sorted({k.split("/")[0] for k in z.files})


@pytest.mark.parametrize("case", _torch_cases())
def test_against_torch(case: str) -> None:
    with np.load(TORCH) as z:
        arrays = {k[len(case) + 1:]: z[k] for k in z.files if k.startswith(case + "/")}
    fields = json.loads(str(arrays.pop("kind")))
    kind = make(fields.pop("kind"), **fields)
    xs = [arrays[f"x{i}"] for i in range(2) if f"x{i}" in arrays]
    ws = {k[2:]: v for k, v in arrays.items() if k.startswith("w/")}
    y, _ = run(kind, xs, ws)
    np.testing.assert_allclose(y, arrays["y"], rtol=1e-10, atol=1e-12)


def test_torch_cases_cover_every_kind() -> None:
    with np.load(TORCH) as z:
        kinds = {json.loads(str(z[k]))["kind"] for k in z.files if k.endswith("/kind")}
    assert {"linear", "attention", "windowattention", "matmul", "tokens", "tokenmap", "classtoken", "posembed",
            "tokenselect", "concat", "softmax", "slice", "shuffle", "patchmerge"} <= kinds


# --- naive references: plain loops -----------------------------------------------------------

def naive_linear(x, k, b):
    out = np.zeros((*x.shape[:-1], k.shape[1]))
    for idx in itertools.product(*(range(n) for n in x.shape[:-1])):
        for o in range(k.shape[1]):
            out[idx + (o,)] = sum(x[idx + (i,)] * k[i, o] for i in range(k.shape[0])) + (b[o] if b is not None else 0)
    return out


@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 5), (1, 2, 3, 5)])
def test_linear_any_rank(shape) -> None:
    x, k, b = RNG.standard_normal(shape), RNG.standard_normal((5, 4)), RNG.standard_normal(4)
    y, t = run(make("linear", units=4), [x], {"kernel": k, "bias": b})
    np.testing.assert_allclose(y, naive_linear(x, k, b), rtol=1e-12)
    assert t.macs == math.prod(shape[:-1]) * 5 * 4  # positions·C·C'


def softmax_row(v):
    e = [math.exp(a - max(v)) for a in v]
    return [a / sum(e) for a in e]


def naive_attention(x, ws, heads, d, proj=True):
    n, length, c = x.shape
    hd = heads * d
    qkv = naive_linear(x, ws["qkv_kernel"], ws.get("qkv_bias"))
    out = np.zeros((n, length, hd))
    for b, h in itertools.product(range(n), range(heads)):
        q = [[qkv[b, i, h * d + j] for j in range(d)] for i in range(length)]
        k = [[qkv[b, i, hd + h * d + j] for j in range(d)] for i in range(length)]
        v = [[qkv[b, i, 2 * hd + h * d + j] for j in range(d)] for i in range(length)]
        for i in range(length):
            s = softmax_row([sum(q[i][j] * k[m][j] for j in range(d)) / math.sqrt(d) for m in range(length)])
            for j in range(d):
                out[b, i, h * d + j] = sum(s[m] * v[m][j] for m in range(length))
    return naive_linear(out, ws["proj_kernel"], ws.get("proj_bias")) if proj else out


@pytest.mark.parametrize("heads,head_dim,qkv_bias,proj,proj_bias", [
    (2, 0, True, True, True), (3, 2, False, True, False), (1, 0, True, False, True), (4, 1, True, True, True)])
def test_attention(heads, head_dim, qkv_bias, proj, proj_bias) -> None:
    n, length, c = 2, 5, 8 if head_dim == 0 and heads != 3 else 6
    d = head_dim or c // heads
    hd = heads * d
    x = RNG.standard_normal((n, length, c))
    ws = {"qkv_kernel": RNG.standard_normal((c, 3 * hd)), "proj_kernel": RNG.standard_normal((hd, c))}
    if qkv_bias:
        ws["qkv_bias"] = RNG.standard_normal(3 * hd)
    if proj_bias:
        ws["proj_bias"] = RNG.standard_normal(c)
    if not proj:
        ws = {k: v for k, v in ws.items() if k.startswith("qkv")}
    kind = make("attention", heads=heads, head_dim=head_dim, qkv_bias=qkv_bias, proj=proj, proj_bias=proj_bias)
    y, t = run(kind, [x], ws)
    np.testing.assert_allclose(y, naive_attention(x, ws, heads, d, proj), rtol=1e-10, atol=1e-12)
    # projections, Q·K^T and weights·V, and Q's 1/sqrt(d): every multiplication counted
    assert t.macs == n * (length * c * 3 * hd + 2 * heads * length * length * d + (length * hd * c if proj else 0))
    assert t.other_mults == n * heads * length * d


def naive_window(x, ws, win, shift, heads):
    """torchvision's recipe, written out with loops: which tokens attend to which, per output pixel."""
    n, h, w, c = x.shape
    wh, ww = win
    hp, wp = -(-h // wh) * wh, -(-w // ww) * ww
    sh, sw = (0 if wh >= hp else shift[0]), (0 if ww >= wp else shift[1])
    xp = np.zeros((n, hp, wp, c))
    xp[:, :h, :w] = x
    d = c // heads

    def region(i, size, win_, s):  # torchvision's slices (0, -w), (-w, -s), (-s, None) of the rolled map
        return 0 if i < size - win_ else (1 if i < size - s else 2)

    qkv = naive_linear(xp, ws["qkv_kernel"], ws["qkv_bias"])
    out = np.zeros((n, hp, wp, c))
    table = ws["bias_table"]
    for b, r, col in itertools.product(range(n), range(hp), range(wp)):
        # position (r, col) of the rolled map holds pixel ((r + sh) % hp, (col + sw) % wp)
        win_r, win_c = r // wh, col // ww
        members = [(win_r * wh + i, win_c * ww + j) for i in range(wh) for j in range(ww)]
        src = lambda p: ((p[0] + sh) % hp, (p[1] + sw) % wp)  # noqa: E731
        me = src((r, col))
        for hh in range(heads):
            scores = []
            for p in members:
                other = src(p)
                s = sum(qkv[b, me[0], me[1], hh * d + j] * qkv[b, other[0], other[1], c + hh * d + j]
                        for j in range(d)) / math.sqrt(d)
                dy, dx = r - p[0] + wh - 1, col - p[1] + ww - 1
                s += table[dy * (2 * ww - 1) + dx, hh]
                if (sh or sw) and ((region(r, hp, wh, sh), region(col, wp, ww, sw)) !=
                                   (region(p[0], hp, wh, sh), region(p[1], wp, ww, sw))):
                    s += -100.0
                scores.append(s)
            a = softmax_row(scores)
            for j in range(d):
                out[b, me[0], me[1], hh * d + j] = sum(
                    a[m] * qkv[b, src(p)[0], src(p)[1], 2 * c + hh * d + j] for m, p in enumerate(members))
    return naive_linear(out, ws["proj_kernel"], ws["proj_bias"])[:, :h, :w]


@pytest.mark.parametrize("h,w,c,win,shift,heads", [
    (4, 4, 4, (2, 2), (0, 0), 2), (4, 6, 4, (2, 2), (1, 1), 2), (5, 4, 6, (3, 3), (1, 1), 3),
    (3, 5, 2, (3, 3), (1, 2), 1), (5, 7, 4, (2, 3), (1, 2), 2)])
def test_window_attention(h, w, c, win, shift, heads) -> None:
    x = RNG.standard_normal((2, h, w, c))
    ws = {"qkv_kernel": RNG.standard_normal((c, 3 * c)), "qkv_bias": RNG.standard_normal(3 * c),
          "proj_kernel": RNG.standard_normal((c, c)), "proj_bias": RNG.standard_normal(c),
          "bias_table": RNG.standard_normal(((2 * win[0] - 1) * (2 * win[1] - 1), heads))}
    y, t = run(make("windowattention", heads=heads, window=win, shift=shift), [x], ws)
    np.testing.assert_allclose(y, naive_window(x, ws, win, shift, heads), rtol=1e-10, atol=1e-12)
    hp, wp = -(-h // win[0]) * win[0], -(-w // win[1]) * win[1]
    tokens = win[0] * win[1]
    windows = hp * wp // tokens
    assert t.macs == 2 * (hp * wp * c * 3 * c + 2 * windows * heads * tokens * tokens * (c // heads) + hp * wp * c * c)


def test_relative_position_index_and_mask() -> None:
    # torchvision, window 2 x 2: tokens (0,0) (0,1) (1,0) (1,1); offset (dy, dx) -> (dy + 1)·3 + (dx + 1)
    assert relative_position_index(2, 2).tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]
    # a 4 x 4 map, window 2, shift 1: the last window (rows 2-3, columns 2-3) holds four regions
    m = shift_mask(4, 4, 2, 2, 1, 1)
    assert m.shape == (4, 4, 4) and not m[0].any()
    assert (m[3] != 0).sum() == 16 - 4  # every pair from different regions is masked, itself never
    assert set(np.unique(m)) == {0.0, -100.0}


def test_matmul_and_tally_bmm() -> None:
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4))
    y, t = run(make("matmul", transpose_b=True, scale=0.25), [a, b])
    want = [[[0.25 * sum(a[n, i, k] * b[n, j, k] for k in range(4)) for j in range(5)] for i in range(3)]
            for n in range(2)]
    np.testing.assert_allclose(y, want, rtol=1e-12)
    assert (t.macs, t.other_mults) == (2 * 3 * 4 * 5, 2 * 3 * 5)
    y, t = run(make("matmul", transpose_a=True), [a, RNG.standard_normal((2, 3, 6))])
    assert y.shape == (2, 4, 6) and t.macs == 2 * 4 * 3 * 6 and t.other_mults == 0
    t = Tally()
    t.bmm(RNG.standard_normal((3, 1, 2, 4)), RNG.standard_normal((5, 4, 6)))  # broadcast batch 3 x 5
    assert t.macs == 3 * 5 * 2 * 4 * 6
    with pytest.raises(ValueError):
        t.bmm(a, a)


def test_token_shapes() -> None:
    x = RNG.standard_normal((2, 3, 4, 5))
    seq, _ = run(make("tokens"), [x])
    assert seq.shape == (2, 12, 5)
    assert all(seq[n, i * 4 + j, c] == x[n, i, j, c] for n, i, j, c in itertools.product(*map(range, x.shape)))
    back, _ = run(make("tokenmap", h=3), [seq])
    assert np.array_equal(back, x)
    assert run(make("tokenmap"), [RNG.standard_normal((1, 9, 2))])[0].shape == (1, 3, 3, 2)
    tok = RNG.standard_normal((2, 5))
    y, t = run(make("classtoken", count=2), [seq], {"token": tok})
    assert y.shape == (2, 14, 5) and np.array_equal(y[1, :2], tok) and np.array_equal(y[:, 2:], seq)
    assert t.macs == t.other_mults == 0
    pos = RNG.standard_normal((12, 5))
    assert np.array_equal(run(make("posembed"), [seq], {"embedding": pos})[0], seq + pos)
    assert np.array_equal(run(make("tokenselect", index=11), [seq])[0], seq[:, 11])
    cat, _ = run(make("concat", axis="tokens"), [seq, seq[:, :3]])
    assert cat.shape == (2, 15, 5) and np.array_equal(cat[:, 12:], seq[:, :3])
    sm, _ = run(make("softmax"), [seq])
    for n, i in itertools.product(range(2), range(12)):
        np.testing.assert_allclose(sm[n, i], softmax_row(list(seq[n, i])), rtol=1e-12)


def test_patchmerge_gathers_2x2_in_torchvisions_order() -> None:
    x = RNG.standard_normal((1, 3, 5, 2))
    y, _ = run(make("patchmerge"), [x])
    assert y.shape == (1, 2, 3, 8)

    def px(i, j, c):  # zero outside the map (the padding of an odd side)
        return x[0, i, j, c] if i < 3 and j < 5 else 0.0
    for i, j, part, c in itertools.product(range(2), range(3), range(4), range(2)):
        di, dj = [(0, 0), (1, 0), (0, 1), (1, 1)][part]
        assert y[0, i, j, part * 2 + c] == px(2 * i + di, 2 * j + dj, c)


@pytest.mark.parametrize("c,chunks", [(8, 2), (10, 3), (5, 4), (7, 7)])
def test_slice_follows_torch_chunk(c, chunks) -> None:
    x = RNG.standard_normal((1, 2, 2, c))
    size = -(-c // chunks)  # torch.chunk: ceil(C/n) each, the last what remains
    parts = [list(range(c))[i:i + size] for i in range(0, c, size)]
    for i, want in enumerate(parts):
        y, _ = run(make("slice", chunks=chunks, chunk=i), [x])
        assert np.array_equal(y, x[..., want])
    assert np.array_equal(run(make("slice", start=1, channels=2), [x])[0], x[..., 1:3])
    assert np.array_equal(run(make("slice", start=2), [x])[0], x[..., 2:])


@pytest.mark.parametrize("c,g", [(6, 2), (6, 3), (12, 4), (5, 1)])
def test_shuffle(c, g) -> None:
    x = RNG.standard_normal((2, 2, 3, c))
    y, _ = run(make("shuffle", groups=g), [x])
    for j in range(c):  # ShuffleNet: output channel j is input channel (j mod g)·(C/g) + j div g
        assert np.array_equal(y[..., j], x[..., (j % g) * (c // g) + j // g])


def test_joins_are_c_contiguous() -> None:
    """np.concatenate lays its result out as its inputs are: two class tokens broadcast over a batch
    of 2, before one token of one channel, came out strided (hypothesis found it under NumPy 1.24, and
    2.4 does the same), where the plan counted no copy before a reshape."""
    tok = np.arange(2, dtype=np.float32).reshape(2, 1)
    y, _ = run(make("classtoken", count=2), [np.ones((2, 1, 1), np.float32)], {"token": tok})
    assert y.shape == (2, 3, 1) and y.flags.c_contiguous
    assert y[:, :2, 0].tolist() == [[0, 1], [0, 1]] and y[:, 2, 0].tolist() == [1, 1]
    xs = [np.ones((2, 1, 1), np.float32), np.broadcast_to(np.zeros((1, 1), np.float32), (2, 2, 1))]
    y, _ = run(make("concat", axis="tokens"), xs)
    assert y.shape == (2, 3, 1) and y.flags.c_contiguous and y[:, :, 0].tolist() == [[1, 0, 0], [1, 0, 0]]
