"""Receptive fields against hand arithmetic: r' = r + (k - 1)j, j' = j·s, s' = s + ((k - 1)/2 - p)j."""

from fractions import Fraction
from pathlib import Path

from conftest import SPECS, analyze_text

import archcalc
from archcalc import receptive


def _by_name(an: archcalc.Analysis) -> dict[str, receptive.RF]:
    return {r.name: f for r, f in zip(an.rows, receptive.fields(an), strict=True)}


def test_lenet5() -> None:
    f = _by_name(archcalc.analyze(SPECS / "lenet5.yaml"))
    # conv1 5x5: r 5, j 1, s 2; pool1 2x2/2: r 5 + 1 = 6, j 2, s 2 + 0.5 = 2.5
    assert (f["conv1"].size, f["conv1"].jump, f["conv1"].start) == ((5, 5), (1, 1), (2, 2))
    assert (f["pool1"].size, f["pool1"].jump, f["pool1"].start) == ((6, 6), (2, 2), (Fraction(5, 2),) * 2)
    # conv2 5x5 at j 2: r 6 + 4·2 = 14, s 2.5 + 2·2 = 6.5; pool2: r 14 + 2 = 16, j 4, s 6.5 + 0.5·2 = 7.5
    assert (f["conv2"].size, f["conv2"].start) == ((14, 14), (Fraction(13, 2),) * 2)
    assert (f["pool2"].size, f["pool2"].jump, f["pool2"].start) == ((16, 16), (4, 4), (Fraction(15, 2),) * 2)
    # flatten: every position of the 5x5 map: r 16 + 4·4 = 32 (the whole image), centred on 15.5
    assert f["fc3"].size == (32, 32) and f["fc3"].start == (Fraction(31, 2),) * 2 and not f["fc3"].spatial


def test_vgg16_by_stages() -> None:
    f = _by_name(archcalc.analyze(SPECS / "vgg16.yaml"))
    # each 3x3 conv adds 2j; each 2x2/2 pool adds j and doubles j
    want = {"block1/pool": (6, 2), "block2/pool": (16, 4), "block3/pool": (44, 8),
            "block4/pool": (100, 16), "block5/pool": (212, 32)}
    for name, (r, j) in want.items():
        assert f[name].size == (r, r) and f[name].jump == (j, j), name
    assert f["block3/conv3/conv"].size == (40, 40)
    assert f["block5/pool"].start == (Fraction(31, 2),) * 2   # padding 1 keeps the centres: (2·16 - 1)/2


def test_inception_branches_differ() -> None:
    f = _by_name(archcalc.analyze(SPECS / "examples" / "inception_module.yaml"))
    assert f["inception3a/b1"].size == (1, 1)
    assert f["inception3a/b2"].size == (3, 3)
    assert f["inception3a/b3"].size == (5, 5)
    assert f["inception3a/b4"].size == (3, 3)             # 3x3 max pool, then a 1x1 conv
    assert f["inception3a/concat"].size == (5, 5)         # the largest path: 1x1 -> 5x5
    assert f["inception3a/concat"].start == (0, 0)        # same padding, stride 1: all centred alike


def test_uncentred_branches_take_the_hull() -> None:
    an = analyze_text("""
input: 8x8x1
layers:
  - {kind: conv, name: a, filters: 1, kernel: 2, padding: same, from: input}
  - {kind: conv, name: b, filters: 1, kernel: 1, from: input}
  - {kind: concat, name: c, from: [a, b]}
""")
    f = _by_name(an)
    assert f["a"].size == (2, 2) and f["a"].start == (Fraction(1, 2),) * 2   # TF same: no padding before
    assert f["c"].size == (2, 2) and f["c"].start == (Fraction(1, 2),) * 2   # [0, 1] and [0, 0]
    an = analyze_text("""
input: 8x8x1
layers:
  - {kind: conv, name: a, filters: 1, kernel: 3, from: input, padding: [0, 2, 0, 2]}
  - {kind: conv, name: b, filters: 1, kernel: 3, from: input, padding: [2, 0, 2, 0]}
  - {kind: add, name: c, from: [a, b]}
""")
    f = _by_name(an)
    assert f["a"].start == (1, 1) and f["b"].start == (-1, -1)
    assert f["c"].size == (5, 5) and f["c"].start == (0, 0)      # [0, 2] and [-2, 0]


def test_resnet50_through_residual_adds() -> None:
    f = _by_name(archcalc.analyze(Path(__file__).parent / "data" / "resnet50_tv.yaml"))
    # conv1 7/2: 7, j 2; maxpool 3/2: 11, j 4; layer1 3 x (3x3 at j 4): 35
    assert f["maxpool"].size == (11, 11) and f["maxpool"].jump == (4, 4)
    assert f["layer1/block2/add"].size == (35, 35)
    assert f["layer2/block0/add"].size == (43, 43)        # the 3x3/2 path beats the 1x1/2 shortcut (35)
    assert f["layer4/block2/relu3"].size == (427, 427) and f["layer4/block2/relu3"].jump == (32, 32)
    assert f["layer4/block2/relu3"].start == (0, 0)   # symmetric padding (k - 1)/2 keeps output 0 on pixel 0


def test_zeropad_upsample_and_dilation() -> None:
    f = _by_name(analyze_text("""
input: 8x8x1
layers:
  - {kind: zeropad, name: z, padding: 1}
  - {kind: conv, name: d, filters: 1, kernel: 3, dilation: 2}
  - {kind: upsample, name: u, scale: 2}
"""))
    assert f["z"].start == (-1, -1) and f["z"].size == (1, 1)
    assert f["d"].size == (5, 5) and f["d"].start == (1, 1)   # k_eff 5: -1 + 2
    assert f["u"].jump == (Fraction(1, 2),) * 2 and f["u"].start == (Fraction(3, 4),) * 2


def test_flat_input_has_no_field() -> None:
    an = analyze_text("input: [784]\nlayers:\n  - {kind: dense, units: 10}\n")
    assert receptive.fields(an) == [None, None]
