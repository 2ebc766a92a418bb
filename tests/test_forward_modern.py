"""The forwards of issue 14's new kinds (part A) against naive references written with plain loops,
and against torch's outputs on the same inputs and weights (pinned, so no torch import here)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from test_forward import RNG, make, run

from archcalc.forward.activation import erfc_nonnegative


def det(shape, a=0.37, b=0.1, s=3.0):
    """Deterministic values, sin(0.37·i + 0.1)·3 in row-major order: the formula the torch pins used."""
    return (np.sin(np.arange(math.prod(shape)) * a + b) * s).reshape(shape)


def nhwc(t):  # a torch-ordered N x C x H x W array moved to N x H x W x C
    return np.ascontiguousarray(np.transpose(t, (0, 2, 3, 1)))


def summary(y_nhwc):
    """(sum, sum of |y|, first, middle, last) of the output in torch's N x C x H x W order."""
    y = np.transpose(y_nhwc, (0, 3, 1, 2)).ravel()
    return (y.sum(), np.abs(y).sum(), y[0], y[len(y) // 2], y[-1])


#: torch 2.13 (CPU, float64) on x = det((2, 6, 5, 7)) (N x C x H x W), weights from det() as below:
#: printed by the script in the module docstring of this file's history (tests/test_forward_modern.py).
TORCH = {
    "silu": (322.7798391726626, 404.4311230145212, 0.1720090866377706, 1.7861020195293396, -0.16170458114267997),
    "gelu": (380.301292185561, 405.08284378193986, 0.18500753678626095, 1.97884336642563, -0.007407410303484746),
    "gelu_tanh": (380.37277428031246, 405.08377780951355, 0.1850050497841394, 1.9789608208289167,
                  -0.006940146715290737),
    "hardsigmoid": (211.61597838003962, 211.61597838003962, 0.5499167083234141, 0.837076136466373,
                    0.03545218632847321),
    "leakyrelu_0.2": (326.2219382405183, 484.4849722206585, 0.29950024994048446, 2.0224568187982386,
                      -0.5574573764058322),
    "prelu_c": (386.94474648816833, 532.5455410575157, 0.29950024994048446, 2.0224568187982386, 1.393536489422142),
    "layernorm2d": (74.40476678164717, 226.30954610942547, -0.3575015758672111, 0.6377592774187414,
                    -0.7863931239022149),
    "groupnorm3": (73.84076105354626, 272.7413657275336, 0.2333011027583649, 0.4720509177962368,
                   -0.7703945477975154),
    (6, 4, 3, 2, 1, 1, 1, 1): ((2, 4, 10, 14), (83.0127702696908, 853.1955778648272, -0.3753410095891465,
                                                0.7510907696983101, 0.7689944847008919)),
    (6, 4, 4, 2, 1, 0, 1, 2): ((2, 4, 10, 14), (67.59695916529563, 2915.771463604954, -1.1849237818675256,
                                                -0.16090975574481367, 0.2590465382473359)),
    (6, 6, 3, 3, 2, 2, 2, 3): ((2, 6, 15, 21), (263.8672871723709, 2298.3449646368713, 0.5308681814189373,
                                                0.8391974243480097, 0.11851075095068073)),
    (6, 2, (2, 3), (2, 1), (0, 1), (1, 0), (1, 2), 1): ((2, 2, 11, 9), (
        15.532813171555755, 705.7239831486177, 0.1305743978983861, 1.646971394950373, 0.0479425538604203)),
    ("avg", (3, 4)): (-17.617176918073067, 69.00099207383295, 0.8029657019597188, -0.5415618982832239,
                      0.22811097387411805),
    ("max", (3, 4)): (337.2544818201187, 337.41911574357795, 1.3586588561372048, 2.0224568187982386,
                      2.9553441186077407),
    ("avg", (7, 3)): (36.4853792380082, 268.4490477829755, 1.2973628219967557, 1.0354128070675177,
                      -2.098306738284313),
    ("max", (7, 3)): (459.239418298322, 559.5441080908752, 2.233929359912578, 2.0224568187982386,
                      -1.3101886515629126),
    ("avg", (2, 9)): (24.942142130096094, 95.26434921203908, -0.3069552430494628, 0.6761080261623175,
                      -0.6929119158024739),
    ("max", (2, 9)): (546.6042783893668, 546.6042783893668, 1.309197246480379, 2.8895409750530274,
                      2.9553441186077407),
}
X = nhwc(det((2, 6, 5, 7)))


def same_as_torch(y, key):
    np.testing.assert_allclose(summary(y), TORCH[key], rtol=1e-12, atol=1e-13)


# --- activations --------------------------------------------------------------------------------

def test_erfc_against_math_erfc():
    z = np.linspace(0, 9, 90_001)
    want = np.array([math.erfc(v) for v in z])
    got64 = erfc_nonnegative(z)
    z32 = z.astype(np.float32)
    want32 = np.array([math.erfc(v) for v in z32.astype(np.float64)])
    got32 = erfc_nonnegative(z32).astype(np.float64)
    rel64, rel32 = np.abs(got64 - want) / want, np.abs(got32 - want32) / want32
    print(f"float64 {rel64.max():.2g}, float32 {rel32.max():.2g}, {rel32[z <= 2].max():.2g} up to z = 2")
    # measured: float64 1.4e-14 (z² rounds in exp(-z²)); float32 7.7e-06 (the same rounding, in
    # single precision), 6.4e-07 (5 units in the last place) up to z = 2
    assert rel64.max() < 3e-14
    assert rel32.max() < 1e-5
    assert rel32[z <= 2].max() < 8e-7


ELEMENTWISE = {  # kind fields -> the function, value by value, in Python floats
    ("silu", ()): lambda v: v / (1 + math.exp(-v)),
    ("gelu", ()): lambda v: v / 2 * math.erfc(-v / math.sqrt(2)),  # = v/2·(1 + erf(v/sqrt 2)), no cancellation
    ("gelu", (("approximate", "tanh"),)): lambda v: v / 2 * (1 + math.tanh(math.sqrt(2 / math.pi)
                                                                          * (v + 0.044715 * v ** 3))),
    ("hardsigmoid", ()): lambda v: min(max(v + 3, 0), 6) / 6,
    ("leakyrelu", ()): lambda v: v if v >= 0 else 0.01 * v,
    ("leakyrelu", (("slope", 1.5),)): lambda v: v if v >= 0 else 1.5 * v,
}


@pytest.mark.parametrize("name,fields", list(ELEMENTWISE), ids=[f"{k}{dict(f)}" for k, f in ELEMENTWISE])
def test_elementwise_activations(name, fields):
    edges = [-40.0, -12.0, -1e-8, 0.0, 1e-8, 12.0, 40.0]
    x = np.concatenate([RNG.standard_normal(200) * 4, edges]).reshape(1, 1, -1, 1)
    kind = make(name, **{k: (Fraction(v) if k == "slope" else v) for k, v in fields})
    y, t = run(kind, [x])
    want = np.vectorize(ELEMENTWISE[name, fields])(x)
    # the tanh form cancels in 1 + tanh(...) for x << 0, as torch's does: absolute error near eps·|x|;
    # the exact form takes erfc(9) = 4e-37 for erfc past x = -9·sqrt(2): within |x|/2·4e-37 of the truth
    atol = {"gelu": 1e-14 if fields else 1e-35}.get(name, 1e-300)
    np.testing.assert_allclose(y, want, rtol=3e-14, atol=atol)
    assert t.macs == 0 and t.other_mults == x.size  # one product per value: x times its gate (or slope)
    x32 = x.astype(np.float32)
    y32, _ = run(kind, [x32])
    assert y32.dtype == np.float32
    want32 = np.vectorize(ELEMENTWISE[name, fields])(x32.astype(np.float64))
    # float32: within a few units in the last place (8 = 1e-6 relative), but for the exact GELU's
    # tail below x = -3, whose exp(-x²/2) loses up to 1e-5 (tests above), and the tanh form's
    # cancellation for x << 0, as in torch (2e-7·|x| absolute)
    rel, per_x = {("gelu", ()): (1e-5, 0), ("gelu", (("approximate", "tanh"),)): (1e-6, 2e-7)}.get(
        (name, fields), (1e-6, 0))
    assert np.all(np.abs(y32 - want32) <= rel * np.abs(want32) + per_x * np.abs(x32) + atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,low,high", [("sigmoid", 0, 1), ("silu", 0, None), ("gelu", 0, None),
                                           ("tanh", -1, 1), ("hardsigmoid", 0, 1), ("hardswish", 0, None)])
def test_activations_saturate_without_warnings(name, low, high, dtype):
    """Far from zero, exp(-x) overflows to inf (float32 past x = -88.7, float64 past -709.8) and the
    gate's 1 / (1 + inf) is the 0 wanted: no RuntimeWarning may escape (pytest turns warnings into
    errors, as the CLI reports them as internal errors). EfficientNet-B3 to B7's squeeze-excitation
    gates meet it in `verify` (CI, NumPy 2.4); the limits are the functions' own."""
    x = np.array([-1e30, -1e4, -800.0, 800.0, 1e4, 1e30], dtype).reshape(1, 1, -1, 1)
    # GELU's erfc is taken as erfc(9) = 4e-37 past x = -9·sqrt(2) (above): y within |x|·4e-37 of 0
    tail = 4.2e-37 * np.abs(x[..., :3, :]) if name == "gelu" else 0
    for own in (False, True):
        y, _ = run(make(name), [x.copy()], own=own)
        assert np.all(np.isfinite(y)), y
        assert np.all(np.abs(y[..., :3, :] - low) <= tail), y  # the negative half at the low limit
        assert np.all(y[..., 3:, :] == (x[..., 3:, :] if high is None else high)), y


def test_gelu_float32_is_as_close_as_rounding_allows():
    """Measured against float64 math.erfc over [-10, 10]: within 5 float32 units of absolute error
    (torch's own float32 GELU: within 8, measured the same way, torch 2.13)."""
    x = np.linspace(-10, 10, 40_001)
    want = np.array([v / 2 * math.erfc(-v / math.sqrt(2)) for v in x])
    y, _ = run(make("gelu"), [x.astype(np.float32).reshape(1, 1, -1, 1)])
    err = np.abs(y.ravel().astype(np.float64) - want) / np.finfo(np.float32).eps
    assert err.max() < 5


@pytest.mark.parametrize("key,kind", [("silu", ("silu", {})), ("gelu", ("gelu", {})),
                                      ("gelu_tanh", ("gelu", {"approximate": "tanh"})),
                                      ("hardsigmoid", ("hardsigmoid", {}))])
def test_activations_as_torch(key, kind):
    y, _ = run(make(kind[0], **kind[1]), [X.copy()])
    same_as_torch(y, key)


def test_leaky_and_prelu_as_torch():
    y, _ = run(make("leakyrelu", slope=Fraction(1, 5)), [X.copy()])
    same_as_torch(y, "leakyrelu_0.2")
    y, t = run(make("prelu", per_channel=True), [X.copy()], {"slope": det((6,), 0.9, 0.2, 0.5)})
    same_as_torch(y, "prelu_c")
    assert t.other_mults == X.size


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 7, 5)])
def test_prelu_shared_and_per_channel(shape):
    x = RNG.standard_normal(shape)
    c = shape[-1]
    for slopes in (RNG.standard_normal(1), RNG.standard_normal(c)):
        y, _ = run(make("prelu", per_channel=len(slopes) > 1), [x], {"slope": slopes})
        for idx in itertools.product(*map(range, shape)):
            a = slopes[idx[-1] if len(slopes) > 1 else 0]
            assert y[idx] == (x[idx] if x[idx] >= 0 else a * x[idx])


# --- multiply -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [
    [(3, 4, 5), (1, 1, 5)],            # squeeze-excitation
    [(1, 1, 5), (3, 4, 5)],            # the gate first
    [(3, 4, 5), (5,)],                 # a flat gate of C
    [(3, 4, 5), (3, 4, 1)],            # a spatial gate
    [(3, 4, 5), (3, 4, 5), (1, 1, 5)],  # three inputs
    [(1, 1, 5), (5,), (3, 4, 5)],      # a gate times a gate first
    [(3, 1, 5), (1, 4, 1)],            # both broadcast
    [(6, 5), (5,)],                    # an N x C sequence by C
])
def test_multiply(shapes):
    xs = [RNG.standard_normal((2, *s)) for s in shapes]
    y, t = run(make("multiply"), [x.copy() for x in xs])
    rank = max(len(s) for s in shapes)
    out = tuple(max(s[i - rank + len(s)] if i - rank + len(s) >= 0 else 1 for s in shapes) for i in range(rank))
    assert y.shape == (2, *out)
    for b, idx in itertools.product(range(2), itertools.product(*map(range, out))):
        want = 1.0
        for x, s in zip(xs, shapes, strict=True):
            at = tuple(0 if d == 1 else i for d, i in zip(s, idx[rank - len(s):], strict=True))
            want *= x[(b, *at)]
        assert y[(b, *idx)] == pytest.approx(want, rel=1e-12)
    # left to right, each product as large as the broadcast of the inputs so far (batch 2)
    steps = sum(math.prod(np.broadcast_shapes(*shapes[:k])) for k in range(2, len(shapes) + 1))
    assert t.macs == 0 and t.other_mults == 2 * steps


# --- normalisation and scale --------------------------------------------------------------------

def naive_norm(x, groups, eps, gamma, beta):
    """Per sample and group of consecutive channels: over the group's channels and every position."""
    y = np.empty_like(x)
    c = x.shape[-1]
    cg = c // groups
    for b in range(x.shape[0]):
        for g in range(groups):
            vals = [x[(b, *pos, ch)] for pos in itertools.product(*map(range, x.shape[1:-1]))
                    for ch in range(g * cg, (g + 1) * cg)]
            mean = sum(vals) / len(vals)
            var = sum((v - mean) ** 2 for v in vals) / len(vals)
            for pos in itertools.product(*map(range, x.shape[1:-1])):
                for ch in range(g * cg, (g + 1) * cg):
                    v = (x[(b, *pos, ch)] - mean) / math.sqrt(var + eps)
                    y[(b, *pos, ch)] = v * (gamma[ch] if gamma is not None else 1) + (beta[ch] if beta is not None
                                                                                       else 0)
    return y


def naive_layernorm(x, eps, gamma, beta):
    """Each position (or token) on its own: over its C values."""
    y = np.empty_like(x)
    for idx in itertools.product(*map(range, x.shape[:-1])):
        v = x[idx]
        mean = sum(v) / len(v)
        var = sum((a - mean) ** 2 for a in v) / len(v)
        y[idx] = [((a - mean) / math.sqrt(var + eps)) * (gamma[i] if gamma is not None else 1)
                  + (beta[i] if beta is not None else 0) for i, a in enumerate(v)]
    return y


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 6, 4), (3, 7)])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, True)])
def test_layernorm(shape, affine, bias):
    x = RNG.standard_normal(shape) * 3 + 1
    c = shape[-1]
    ws = {"gamma": RNG.uniform(0.5, 2, c), "beta": RNG.standard_normal(c)}
    kind = make("layernorm", affine=affine, bias=bias)
    ws = {k: v for k, v in ws.items() if affine and (k == "gamma" or bias)}
    y, t = run(kind, [x], ws)
    np.testing.assert_allclose(y, naive_layernorm(x, float(kind.eps), ws.get("gamma"), ws.get("beta")),
                               rtol=1e-11, atol=1e-12)
    assert t.macs == 0


def test_layernorm_over_channels_as_torch():
    """ConvNeXt's LayerNorm2d: torch's nn.LayerNorm(C, eps=1e-6) on the channels-last permutation."""
    from fractions import Fraction
    ws = {"gamma": det((6,), 0.5, 0.3, 1.0), "beta": det((6,), 0.7, 0.4, 0.5)}
    y, _ = run(make("layernorm", eps=Fraction(1, 10**6)), [X.copy()], ws)
    same_as_torch(y, "layernorm2d")


@pytest.mark.parametrize("shape,groups", [((2, 3, 4, 6), 3), ((2, 3, 4, 6), 1), ((2, 3, 4, 6), 6), ((3, 8), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_groupnorm(shape, groups, affine):
    x = RNG.standard_normal(shape) * 2 - 1
    c = shape[-1]
    ws = {"gamma": RNG.uniform(0.5, 2, c), "beta": RNG.standard_normal(c)} if affine else {}
    kind = make("groupnorm", groups=groups, affine=affine)
    y, t = run(kind, [x], ws)
    np.testing.assert_allclose(y, naive_norm(x, groups, float(kind.eps), ws.get("gamma"), ws.get("beta")),
                               rtol=1e-11, atol=1e-12)
    assert t.macs == 0


def test_groupnorm_as_torch():
    ws = {"gamma": det((6,), 0.5, 0.3, 1.0), "beta": det((6,), 0.7, 0.4, 0.5)}
    y, _ = run(make("groupnorm", groups=3), [X.copy()], ws)
    same_as_torch(y, "groupnorm3")


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 6, 5)])
def test_scale_identity_droppath(shape):
    x = RNG.standard_normal(shape)
    gamma = RNG.standard_normal(shape[-1])
    y, t = run(make("scale"), [x], {"gamma": gamma})
    for idx in itertools.product(*map(range, shape)):
        assert y[idx] == x[idx] * gamma[idx[-1]]
    assert t.macs == 0 and t.other_mults == x.size
    for name in ("identity", "droppath"):
        y, t = run(make(name), [x])
        assert y is x and (t.macs, t.other_mults) == (0, 0)


@pytest.mark.parametrize("name,ws", [("silu", {}), ("gelu", {}), ("hardsigmoid", {}), ("leakyrelu", {}),
                                     ("prelu", {"slope": np.array([0.3])}), ("scale", {"gamma": np.arange(5.0)}),
                                     ("multiply", {})])
def test_write_over_input(name, ws):
    """With `own`, these write over their first input: the same values and counts as without."""
    x = RNG.standard_normal((2, 3, 4, 5)) * 4
    xs = [x, RNG.standard_normal((2, 1, 1, 5))] if name == "multiply" else [x]
    fresh, t1 = run(make(name), [a.copy() for a in xs], ws)
    given = [a.copy() for a in xs]
    over, t2 = run(make(name), given, ws, own=True)
    np.testing.assert_allclose(over, fresh, rtol=1e-15)
    assert np.shares_memory(over, given[0])
    assert (t1.macs, t1.other_mults) == (t2.macs, t2.other_mults)


# --- transposed convolution ---------------------------------------------------------------------

def naive_convtranspose(x, k, b, stride, crop, extra, dil, groups):
    """Every input value times every tap of its group's filters, added at i·s + tap·d of the full
    output; then cropped (top, bottom, left, right), zeros added past the end (`extra` rows, cols)."""
    n, h, w, c = x.shape
    kh, kw, fg, _ = k.shape
    cg = c // groups
    fh, fw = (h - 1) * stride[0] + dil[0] * (kh - 1) + 1, (w - 1) * stride[1] + dil[1] * (kw - 1) + 1
    full = np.zeros((n, fh + extra[0], fw + extra[1], fg * groups))
    for b_, i, j, ci, a, e, o in itertools.product(range(n), range(h), range(w), range(c), range(kh), range(kw),
                                                   range(fg)):
        g = ci // cg
        full[b_, i * stride[0] + a * dil[0], j * stride[1] + e * dil[1], g * fg + o] += x[b_, i, j, ci] * k[a, e, o, ci]
    t, bo, l, r = crop
    y = full[:, t:full.shape[1] - bo, l:full.shape[2] - r]
    return y + (b if b is not None else 0)


TRANSPOSED = [  # (H, W, C, filters, kernel, stride, padding, output_padding, dilation, groups, bias)
    (5, 5, 3, 4, (2, 2), (2, 2), 0, (0, 0), (1, 1), 1, True),             # U-Net's 2 x 2 up-convolution
    (4, 5, 2, 3, (3, 3), (2, 2), 1, (1, 1), (1, 1), 1, True),             # DCGAN-style, output_padding
    (3, 4, 4, 6, (4, 4), (2, 2), 1, (0, 0), (1, 1), 2, False),            # groups
    (4, 3, 2, 2, (3, 2), (1, 3), (1, 0, 0, 1), (0, 2), (2, 1), 1, True),  # dilation, crops per side
    (3, 3, 3, 3, (3, 3), (3, 3), 2, (2, 2), (1, 1), 3, True),             # output_padding past the crop
    (4, 5, 2, 2, (3, 2), (2, 3), "same", (0, 0), (1, 1), 1, True),        # TensorFlow's same: H·s
    (3, 3, 2, 2, (1, 1), (2, 2), "same", (0, 0), (1, 1), 1, False),       # kernel narrower than the stride
]


@pytest.mark.parametrize("h,w,c,f,k,s,p,op,d,g,bias", TRANSPOSED)
def test_convtranspose(h, w, c, f, k, s, p, op, d, g, bias):
    x = RNG.standard_normal((2, h, w, c))
    kern = RNG.standard_normal((*k, f // g, c))
    ws = {"kernel": kern, **({"bias": RNG.standard_normal(f)} if bias else {})}
    kind = make("convtranspose", filters=f, kernel=k, stride=s, padding=p, output_padding=op, dilation=d, groups=g,
                bias=bias)
    y, t = run(kind, [x], ws)
    if p == "same":  # written out: crop d(k - 1) + 1 - s (the smaller half first), or add the missing rows
        need = [d[i] * (k[i] - 1) + 1 - s[i] for i in range(2)]
        crop = (max(need[0], 0) // 2, max(need[0], 0) - max(need[0], 0) // 2,
                max(need[1], 0) // 2, max(need[1], 0) - max(need[1], 0) // 2)
        extra = (max(-need[0], 0), max(-need[1], 0))
    else:
        crop = (p,) * 4 if isinstance(p, int) else p
        extra = op
    # output_padding rows are taken back from the bottom crop first (as torch), then zeros
    back = [min(extra[0], crop[1]), min(extra[1], crop[3])]
    crop2 = (crop[0], crop[1] - back[0], crop[2], crop[3] - back[1])
    ref = naive_convtranspose(x, kern, ws.get("bias"), s, crop2, (extra[0] - back[0], extra[1] - back[1]), d, g)
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)
    if p == "same":
        assert y.shape[1:3] == (h * s[0], w * s[1])
    assert t.macs == 2 * h * w * c * k[0] * k[1] * (f // g)


@pytest.mark.parametrize("cfg", [k for k in TORCH if isinstance(k, tuple) and len(k) == 8])
def test_convtranspose_as_torch(cfg):
    """torch.nn.ConvTranspose2d(C_in, C_out, k, s, p, output_padding, groups, bias=True, dilation) with
    weight det(torch's (C_in, C_out/g, k_h, k_w), 0.61, 0.05, 0.4), bias det((C_out,), 0.3, 0.2, 0.1)."""
    ci, co, k, s, p, op, d, g = cfg
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    k, s, p, op, d = map(pair, (k, s, p, op, d))
    torch_w = det((ci, co // g, *k), 0.61, 0.05, 0.4)
    ws = {"kernel": np.ascontiguousarray(np.transpose(torch_w, (2, 3, 1, 0))), "bias": det((co,), 0.3, 0.2, 0.1)}
    kind = make("convtranspose", filters=co, kernel=k, stride=s, padding=list(p), output_padding=op, dilation=d,
                groups=g)
    y, _ = run(kind, [X.copy()], ws)
    shape, want = TORCH[cfg]
    assert (y.shape[0], y.shape[3], y.shape[1], y.shape[2]) == shape
    np.testing.assert_allclose(summary(y), want, rtol=1e-12, atol=1e-12)


# --- adaptive pooling ---------------------------------------------------------------------------

def naive_adaptive(x, size, mode):
    n, h, w, c = x.shape
    y = np.zeros((n, *size, c))
    for b, i, j, ch in itertools.product(range(n), range(size[0]), range(size[1]), range(c)):
        rows = range(math.floor(i * h / size[0]), math.ceil((i + 1) * h / size[0]))
        cols = range(math.floor(j * w / size[1]), math.ceil((j + 1) * w / size[1]))
        vals = [x[b, r, q, ch] for r in rows for q in cols]
        y[b, i, j, ch] = max(vals) if mode == "max" else sum(vals) / len(vals)
    return y


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("hw,size", [((7, 7), (7, 7)), ((6, 8), (3, 4)), ((5, 7), (3, 2)), ((5, 5), (7, 6)),
                                     ((13, 11), (6, 4)), ((1, 4), (3, 1))])
def test_adaptive_pool(mode, hw, size):
    x = RNG.standard_normal((2, *hw, 3))
    y, t = run(make(f"adaptive{mode}pool", size=size), [x])
    np.testing.assert_allclose(y, naive_adaptive(x, size, mode), rtol=1e-12)
    assert t.macs == 0 and t.other_mults == (y.size if mode == "avg" else 0)  # avg: one 1/K per output


@pytest.mark.parametrize("mode,size", [(m, s) for m in ("avg", "max") for s in ((3, 4), (7, 3), (2, 9))])
def test_adaptive_pool_as_torch(mode, size):
    y, _ = run(make(f"adaptive{mode}pool", size=size), [X.copy()])
    same_as_torch(y, (mode, size))
