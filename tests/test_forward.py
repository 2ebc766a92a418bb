"""Each kind's NumPy forward against a naive direct reference (plain loops) on small inputs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from archcalc.forward import FORWARDS, Tally
from archcalc.kinds import REGISTRY

RNG = np.random.default_rng(1)


def make(name: str, **values):  # a kind with its defaults, then the given fields
    from archcalc.graph import _defaults
    cls = REGISTRY[name]
    return cls(**{**_defaults(cls), **values})


def run(kind, xs, ws=None, own=False):
    t = Tally()
    return FORWARDS[kind.name].run(t, kind, xs, ws or {}, own), t


@pytest.fixture(params=["default bands", "tiny bands"])
def bands(request, monkeypatch):
    """Run a test twice: with the shipped band sizes (one band for these small inputs), and with
    bands of one output row (every band boundary, the last partial band)."""
    if request.param == "tiny bands":
        from archcalc.forward import conv, norm
        monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
        monkeypatch.setattr(conv, "DW_SLAB_BYTES", 1)
        monkeypatch.setattr(norm, "AFFINE_BAND_BYTES", 1)
    return request.param


@pytest.fixture(params=["rows", "pixels"])
def dw_path(request, monkeypatch):
    """Run a depthwise test down each path: the einsum along whole rows (width stride 1; these
    inputs are narrow, so the shipped threshold takes it) and the einsum per pixel (any stride)."""
    from archcalc.forward import conv
    monkeypatch.setattr(conv, "DW_ROW_CHANNELS", 10**9 if request.param == "rows" else 1)
    return request.param


def tf_same(n, f, s, d=1):  # TensorFlow's "same", written out for the reference
    out = (n + s - 1) // s
    need = max((out - 1) * s + d * (f - 1) + 1 - n, 0)
    return need // 2, need - need // 2


def naive_conv(x, k, b, stride, pads, dil, groups):
    n, h, w, c = x.shape
    kh, kw, cg, f = k.shape
    t, bo, l, r = pads
    xp = np.zeros((n, h + t + bo, w + l + r, c))
    xp[:, t:t + h, l:l + w] = x
    ho = (h + t + bo - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + l + r - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, ho, wo, f))
    fg = f // groups
    for b_, oh, ow, o in itertools.product(range(n), range(ho), range(wo), range(f)):
        g = o // fg
        s = 0.0
        for i in range(kh):
            for j in range(kw):
                for ci in range(cg):
                    s += xp[b_, oh * stride[0] + i * dil[0], ow * stride[1] + j * dil[1], g * cg + ci] * k[i, j, ci, o]
        y[b_, oh, ow, o] = s + (b[o] if b is not None else 0)
    return y


CONV_CASES = [  # (H, W, C, filters, kernel, stride, padding, dilation, groups)
    (5, 5, 3, 4, (3, 3), (1, 1), "valid", (1, 1), 1),
    (7, 6, 2, 3, (3, 3), (2, 2), "same", (1, 1), 1),
    (8, 8, 4, 6, (3, 2), (2, 1), 1, (1, 1), 2),
    (9, 9, 2, 2, (3, 3), (1, 1), "same", (2, 2), 1),
    (6, 7, 4, 4, (3, 3), (1, 2), (0, 1, 2, 1), (1, 1), 4),
    (5, 5, 6, 4, (1, 1), (2, 2), "valid", (1, 1), 2),
    (7, 7, 2, 3, (5, 5), (3, 3), "same", (1, 1), 1),
    (7, 6, 3, 6, (3, 3), (2, 2), "same", (1, 1), 3),           # groups = C: run as depthwise, multiplier 2
    (7, 8, 3, 5, (1, 1), (2, 3), "same", (1, 1), 1),           # 1 x 1 strided: the pixels read, one matmul
]


@pytest.mark.parametrize("h,w,c,f,k,s,p,d,g", CONV_CASES)
def test_conv(h, w, c, f, k, s, p, d, g, bands, dw_path):
    x = RNG.standard_normal((2, h, w, c))
    kern = RNG.standard_normal((*k, c // g, f))
    bias = RNG.standard_normal(f)
    kind = make("conv", filters=f, kernel=k, stride=s, padding=p, dilation=d, groups=g)
    y, t = run(kind, [x], {"kernel": kern, "bias": bias})
    if p == "same":
        pads = tf_same(h, k[0], s[0], d[0]) + tf_same(w, k[1], s[1], d[1])
    elif isinstance(p, int):
        pads = (p,) * 4
    else:
        pads = p if p != "valid" else (0, 0, 0, 0)
    ref = naive_conv(x, kern, bias, s, pads, d, g)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)
    assert t.macs == ref.size * k[0] * k[1] * (c // g)


DW_CASES = [  # (H, W, C, multiplier, kernel, stride, padding, dilation, bias)
    (6, 5, 3, 1, (3, 3), (1, 1), "same", (1, 1), False),
    (6, 5, 3, 2, (3, 3), (2, 2), "valid", (1, 1), False),
    (6, 5, 3, 3, (3, 3), (2, 1), "same", (1, 1), True),
    (9, 8, 2, 1, (3, 3), (1, 1), "same", (2, 2), True),       # dilation
    (9, 10, 4, 2, (3, 2), (3, 2), (1, 0, 2, 1), (1, 2), False),  # asymmetric padding, dilation along the width
    (7, 7, 5, 1, (5, 5), (2, 3), 2, (1, 1), True),
    (5, 6, 2, 2, (1, 1), (1, 1), 1, (1, 1), False),            # a 1 x 1 tap over padding
]


@pytest.mark.parametrize("h,w,c,m,k,s,p,d,bias", DW_CASES)
def test_depthwise(h, w, c, m, k, s, p, d, bias, bands, dw_path):
    x = RNG.standard_normal((2, h, w, c))
    kern = RNG.standard_normal((*k, c * m))
    ws = {"kernel": kern, **({"bias": RNG.standard_normal(c * m)} if bias else {})}
    kind = make("depthwise", kernel=k, stride=s, padding=p, dilation=d, multiplier=m, bias=bias)
    y, t = run(kind, [x], ws)
    # depthwise = grouped conv with groups = C and filter c·m + k reading channel c
    full = kern.reshape(*k, 1, c * m)
    if p == "same":
        pads = tf_same(h, k[0], s[0], d[0]) + tf_same(w, k[1], s[1], d[1])
    else:
        pads = (0, 0, 0, 0) if p == "valid" else (p,) * 4 if isinstance(p, int) else p
    ref = naive_conv(x, full, ws.get("bias"), s, pads, d, c)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)
    assert t.macs == ref.size * k[0] * k[1]


def naive_pool(x, k, s, pads, ceil, mode, count_pad):
    n, h, w, c = x.shape
    t, b, l, r = pads

    def count(size, lo, hi, f, st):
        span = size + lo + hi
        o = (span - f) // st + 1
        if ceil and (o - 1) * st + f < span and o * st < size + lo:
            o += 1
        return o
    ho, wo = count(h, t, b, k[0], s[0]), count(w, l, r, k[1], s[1])
    y = np.zeros((n, ho, wo, c))
    for b_, oh, ow, ch in itertools.product(range(n), range(ho), range(wo), range(c)):
        vals, div = [], 0
        for i in range(k[0]):
            for j in range(k[1]):
                ph, pw = oh * s[0] + i, ow * s[1] + j  # in padded coordinates
                if ph >= h + t + b or pw >= w + l + r:
                    continue  # ceil overhang
                inside = t <= ph < t + h and l <= pw < l + w
                if inside:
                    vals.append(x[b_, ph - t, pw - l, ch])
                    div += 1
                elif count_pad:
                    vals.append(0.0)
                    div += 1
        y[b_, oh, ow, ch] = max(v for v in vals) if mode == "max" else sum(vals) / div
    return y


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("k,s,p,ceil,count_pad", [
    ((2, 2), (2, 2), "valid", False, True),
    ((3, 3), (2, 2), "valid", True, True),
    ((3, 3), (1, 1), "same", False, True),
    ((3, 3), (1, 1), "same", False, False),
    ((3, 2), (2, 3), 1, True, False),
    ((3, 3), (2, 2), 1, True, True),
])
def test_pool(mode, k, s, p, ceil, count_pad):
    x = RNG.standard_normal((2, 7, 8, 3))
    extra = {"count_pad": count_pad} if mode == "avg" else {}
    kind = make(f"{mode}pool", size=k, stride=s, padding=p, ceil=ceil, **extra)
    y, t = run(kind, [x])
    pads = (tf_same(7, k[0], s[0]) + tf_same(8, k[1], s[1]) if p == "same" else
            (p,) * 4 if isinstance(p, int) else (0, 0, 0, 0))
    if mode == "max":
        ref = naive_pool(x, k, s, pads, ceil, mode, False)
    else:
        ref = naive_pool(x, k, s, pads, ceil, mode, count_pad)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)
    assert t.macs == 0


def test_maxpool_window_of_padding_only_gives_zero():
    """size 1, padding 1: the border windows read padding only (PyTorch refuses such a pool)."""
    x = RNG.standard_normal((1, 2, 3, 2))
    y, _ = run(make("maxpool", size=(1, 1), stride=(1, 1), padding=1), [x])
    assert y.shape == (1, 4, 5, 2)
    assert np.array_equal(y[:, 1:3, 1:4], x)
    assert not y[:, 0].any() and not y[:, 3].any() and not y[:, :, 0].any() and not y[:, :, 4].any()


def test_dense_and_flatten():
    x = RNG.standard_normal((3, 2, 2, 3))
    flat, _ = run(make("flatten"), [x])
    assert [flat[1, i] for i in range(12)] == [x[1, a, b, c] for a in range(2) for b in range(2) for c in range(3)]
    w, b = RNG.standard_normal((12, 5)), RNG.standard_normal(5)
    y, t = run(make("dense", units=5), [flat], {"kernel": w, "bias": b})
    ref = [[sum(flat[n, i] * w[i, o] for i in range(12)) + b[o] for o in range(5)] for n in range(3)]
    np.testing.assert_allclose(y, ref, rtol=1e-12)
    assert t.macs == 3 * 12 * 5


@pytest.mark.parametrize("own", [False, True])
def test_batchnorm(own, bands):
    x = RNG.standard_normal((2, 3, 3, 4))
    ws = {"gamma": RNG.uniform(0.5, 2, 4), "beta": RNG.standard_normal(4), "mean": RNG.standard_normal(4),
          "var": RNG.uniform(0.5, 2, 4)}
    kind = make("batchnorm")
    given = x.copy()
    y, t = run(kind, [given], ws, own=own)
    assert np.shares_memory(y, given) == own
    eps = float(kind.eps)
    for idx in itertools.product(range(2), range(3), range(3), range(4)):
        c = idx[3]
        want = ws["gamma"][c] * (x[idx] - ws["mean"][c]) / math.sqrt(ws["var"][c] + eps) + ws["beta"][c]
        assert y[idx] == pytest.approx(want, rel=1e-10)
    assert t.macs == 0 and t.other_mults == x.size


def test_lrn():
    x = RNG.standard_normal((1, 2, 2, 7))
    kind = make("lrn", size=5)
    y, _ = run(kind, [x])
    a, b, k = float(kind.alpha), float(kind.beta), float(kind.k)
    for _, i, j, c in itertools.product(range(1), range(2), range(2), range(7)):
        s = sum(x[0, i, j, cc] ** 2 for cc in range(max(0, c - 2), min(7, c + 3)))
        assert y[0, i, j, c] == pytest.approx(x[0, i, j, c] / (k + a / 5 * s) ** b, rel=1e-10)


def test_elementwise_merge_and_reshape():
    x = RNG.standard_normal((2, 3, 4, 2)) * 5
    assert np.array_equal(run(make("relu"), [x])[0], np.where(x > 0, x, 0))
    assert np.array_equal(run(make("relu6"), [x])[0], np.minimum(np.where(x > 0, x, 0), 6))
    np.testing.assert_allclose(run(make("sigmoid"), [x])[0], 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(run(make("tanh"), [x])[0], np.tanh(x))
    np.testing.assert_allclose(run(make("hardswish"), [x])[0], x * np.minimum(np.maximum(x + 3, 0), 6) / 6)
    v = RNG.standard_normal((2, 5))
    sm = run(make("softmax"), [v])[0]
    np.testing.assert_allclose(sm, np.exp(v) / np.exp(v).sum(axis=1, keepdims=True))
    assert np.array_equal(run(make("dropout"), [x])[0], x)
    z = RNG.standard_normal(x.shape)
    assert np.array_equal(run(make("add"), [x, z, x])[0], x + z + x)
    cat = run(make("concat"), [x, z[..., :1]])[0]
    assert cat.shape == (2, 3, 4, 3) and np.array_equal(cat[..., 2], z[..., 0])
    pad = run(make("zeropad", padding=(1, 0, 2, 3)), [x])[0]
    assert pad.shape == (2, 4, 9, 2) and np.array_equal(pad[:, 1:, 2:6], x)
    assert not (pad[:, :1].any() or pad[:, :, :2].any() or pad[:, :, 6:].any())  # zeros around it
    ga = run(make("globalavgpool"), [x])[0]
    np.testing.assert_allclose(ga, [[x[n, :, :, c].mean() for c in range(2)] for n in range(2)])
    gm = run(make("globalmaxpool", keepdims=True), [x])[0]
    assert gm.shape == (2, 1, 1, 2) and gm[1, 0, 0, 1] == x[1, :, :, 1].max()


@pytest.mark.parametrize("name", ["relu", "relu6", "sigmoid", "tanh", "hardswish", "batchnorm", "add"])
def test_write_over_input_gives_the_same_values(name):
    """With `own`, an element-wise forward writes its output over its first input: same values
    and same counts as without, and the input it was not given to keep is the output."""
    x = RNG.standard_normal((2, 3, 4, 5)) * 4
    ws = ({"gamma": RNG.uniform(0.5, 2, 5), "beta": RNG.standard_normal(5), "mean": RNG.standard_normal(5),
           "var": RNG.uniform(0.5, 2, 5)} if name == "batchnorm" else {})
    xs = [x, RNG.standard_normal(x.shape)] if name == "add" else [x]
    kind = make(name)
    fresh, t1 = run(kind, [a.copy() for a in xs], ws)
    given = [a.copy() for a in xs]
    over, t2 = run(kind, given, ws, own=True)
    np.testing.assert_allclose(over, fresh, rtol=1e-12)
    assert over is given[0] or np.shares_memory(over, given[0])
    assert (t1.macs, t1.other_mults) == (t2.macs, t2.other_mults)
    np.testing.assert_array_equal(given[1:], xs[1:])  # only the first input is written over


def test_tally_einsum_counts_every_index_combination():
    t = Tally()
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 5))
    y = t.einsum("ijk,kl->ijl", a, b)
    np.testing.assert_allclose(y, a @ b)
    assert t.macs == 2 * 3 * 4 * 5  # one multiply per (i, j, k, l)
    with pytest.raises(ValueError):
        t.einsum("ij,ij->i", a[0], b)


def test_upsample():
    x = RNG.standard_normal((1, 2, 3, 1))
    near = run(make("upsample", scale=(2, 3)), [x])[0]
    for i, j in itertools.product(range(4), range(9)):
        assert near[0, i, j, 0] == x[0, i // 2, j // 3, 0]
    bil = run(make("upsample", scale=(2, 2), mode="bilinear"), [x])[0]

    def src(o, size):  # half-pixel centres, clamped
        return min(max((o + 0.5) / 2 - 0.5, 0), size - 1)
    for i, j in itertools.product(range(4), range(6)):
        sy, sx = src(i, 2), src(j, 3)
        y0, x0 = int(sy), int(sx)
        y1, x1 = min(y0 + 1, 1), min(x0 + 1, 2)
        fy, fx = sy - y0, sx - x0
        want = ((1 - fy) * (1 - fx) * x[0, y0, x0, 0] + (1 - fy) * fx * x[0, y0, x1, 0]
                + fy * (1 - fx) * x[0, y1, x0, 0] + fy * fx * x[0, y1, x1, 0])
        assert bil[0, i, j, 0] == pytest.approx(want, rel=1e-10)


def test_every_kind_has_a_forward():
    assert set(REGISTRY) <= set(FORWARDS), f"kinds without a forward: {sorted(set(REGISTRY) - set(FORWARDS))}"
