"""Every figure of the case-study notes (../shared/reference/cnn-case-studies.md), from the shipped specs.

Each expected value is the notes' own arithmetic, written out beside it.
"""

from __future__ import annotations

from fractions import Fraction

from conftest import SPECS

import archcalc


def an(name: str) -> archcalc.Analysis:
    return archcalc.analyze(SPECS / name)


def test_lenet5_shapes() -> None:
    # notes, LeNet-5: 32x32x1 -> 28x28x6 -> 14x14x6 -> 10x10x16 -> 5x5x16 -> 400 -> 120 -> 84 -> 10
    rows = {r.name: r.output_shape for r in an("lenet5.yaml").rows}
    assert rows["input"] == (32, 32, 1)
    assert rows["conv1"] == (28, 28, 6)      # (32 - 5)/1 + 1 = 28
    assert rows["pool1"] == (14, 14, 6)      # (28 - 2)/2 + 1 = 14
    assert rows["conv2"] == (10, 10, 16)     # (14 - 5)/1 + 1 = 10
    assert rows["pool2"] == (5, 5, 16)       # (10 - 2)/2 + 1 = 5
    assert rows["flatten1"] == (400,)        # 5·5·16
    assert [rows[k] for k in ("fc1", "fc2", "fc3")] == [(120,), (84,), (10,)]


def test_lenet5_params() -> None:
    t = an("lenet5.yaml").totals
    # conv1 6·(5·5·1 + 1) = 156; conv2 16·(5·5·6 + 1) = 2,416; fc1 400·120 + 120 = 48,120;
    # fc2 120·84 + 84 = 10,164; fc3 84·10 + 10 = 850. Notes: "approximately 60,000".
    assert t.params == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert t.trainable_params == 61_706 and t.non_trainable_params == 0


def test_inception_naive_5x5() -> None:
    # notes: "120·10^6 multiplications": each of 28·28·32 outputs needs a 5·5·192 filter
    a = an("examples/inception_naive.yaml")
    assert a.totals.macs == 28 * 28 * 32 * (5 * 5 * 192) == 120_422_400
    assert a.rows[-1].macs_formula.explain() == "H'·W'·n_c'·(f·f·n_c) = 28·28·32·(5·5·192) = 120,422,400"


def test_inception_bottleneck() -> None:
    # notes: [28·28·16·(1·1)·192] + [28·28·32·5·5·16] = 12.4·10^6
    a = an("examples/inception_bottleneck.yaml")
    macs = {r.name: r.macs for r in a.rows}
    assert macs["bottleneck"] == 28 * 28 * 16 * (1 * 1 * 192) == 2_408_448
    assert macs["conv5x5"] == 28 * 28 * 32 * (5 * 5 * 16) == 10_035_200
    assert a.totals.macs == 12_443_648
    assert a.rows[-1].output_shape == (28, 28, 32)  # same output as the naive layer


def test_bottleneck_saves_a_factor_of_ten() -> None:
    # notes: "reduce the necessary computations by a factor of 10"
    ratio = Fraction(an("examples/inception_bottleneck.yaml").totals.macs,
                     an("examples/inception_naive.yaml").totals.macs)
    assert ratio == Fraction(12_443_648, 120_422_400)
    assert 9 < 1 / ratio < 10


def test_inception_module() -> None:
    # notes, Figure 99: 64 1x1 | 96 1x1 -> 128 3x3 | 16 1x1 -> 32 5x5 | maxpool same s=1 -> 32 1x1
    a = an("examples/inception_module.yaml")
    rows = {r.name: r for r in a.rows}
    assert rows["inception3a/b4_pool"].output_shape == (28, 28, 192)  # same padding, stride 1
    assert rows["inception3a/concat"].output_shape == (28, 28, 64 + 128 + 32 + 32)
    assert a.outputs[0].output_shape == (28, 28, 256)


def test_standard_convolution() -> None:
    # notes: (3·3·3)·(4·4)·5 = 2160 for five 3x3x3 filters over 6x6x3
    a = an("examples/conv_standard.yaml")
    assert a.rows[-1].output_shape == (4, 4, 5)
    assert a.totals.macs == (3 * 3 * 3) * (4 * 4) * 5 == 2_160


def test_depthwise_separable_convolution() -> None:
    # notes: depthwise (3·3)·(4·4)·3 = 432, pointwise (1·1·3)·(4·4)·5 = 240, total 672
    a = an("examples/conv_separable.yaml")
    macs = {r.name: r.macs for r in a.rows}
    assert macs["depthwise"] == (3 * 3) * (4 * 4) * 3 == 432
    assert macs["pointwise"] == (1 * 1 * 3) * (4 * 4) * 5 == 240
    assert a.totals.macs == 672
    assert {r.name: r.output_shape for r in a.rows}["depthwise"] == (4, 4, 3)


def test_separable_ratio_is_exactly_one_over_nc_plus_one_over_f_squared() -> None:
    # notes: cost ratio = 1/n_c' + 1/f^2; here n_c' = 5, f = 3: 672/2160 = 14/45 = 1/5 + 1/9
    ratio = Fraction(an("examples/conv_separable.yaml").totals.macs, an("examples/conv_standard.yaml").totals.macs)
    assert ratio == Fraction(14, 45) == Fraction(1, 5) + Fraction(1, 9)


def test_separable_ratio_for_typical_sizes() -> None:
    # notes: "for a more typical n_c' = 512 and f = 3 ... 10% of the computations"
    from conftest import analyze_text
    std = analyze_text("input: 14x14x256\nlayers:\n  - {kind: conv, filters: 512, kernel: 3, padding: same}\n")
    sep = analyze_text("input: 14x14x256\nlayers:\n  - {kind: depthwise, kernel: 3, padding: same}\n"
                       "  - {kind: conv, filters: 512, kernel: 1}\n")
    ratio = Fraction(sep.totals.macs, std.totals.macs)
    assert ratio == Fraction(1, 512) + Fraction(1, 9)
    assert round(float(ratio), 2) == 0.11


def test_vgg16() -> None:
    # torchvision vgg16: num_params 138,357,544; "GFLOPS" 15.47 (conv and linear MACs). Notes: "≈ 138M".
    t = an("vgg16.yaml").totals
    # convs 14,714,688 + fc 25088·4096+4096 + 4096·4096+4096 + 4096·1000+1000 = 123,642,856
    assert t.params == 14_714_688 + (25_088 * 4_096 + 4_096) + (4_096 * 4_096 + 4_096) + (4_096 * 1_000 + 1_000)
    assert t.params == 138_357_544
    # conv MACs 15,346,630,656 + fc 25088·4096 + 4096·4096 + 4096·1000 = 123,633,664
    assert t.macs == 15_346_630_656 + 25_088 * 4_096 + 4_096 * 4_096 + 4_096 * 1_000 == 15_470_264_320
    assert t.flops == 2 * t.macs


def test_vgg16_stages() -> None:
    # notes, VGG-16: channels 64 -> 128 -> 256 -> 512 -> 512, H x W halved by each 2x2/2 pool
    a = an("vgg16.yaml")
    out = {r.name: r.output_shape for r in a.folded(1)}
    assert [out[f"block{i}"] for i in range(1, 6)] == [
        (112, 112, 64), (56, 56, 128), (28, 28, 256), (14, 14, 512), (7, 7, 512)]
