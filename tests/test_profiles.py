"""Convention profiles against the totals the tools printed for torchvision's models (torch 2.13, CPU)."""

from pathlib import Path

import pytest
from conftest import analyze_text

import archcalc
from archcalc import profiles

DATA = Path(__file__).parent / "data"
VGG_TORCH = {"avgpool": "AdaptiveAvgPool2d"}  # torchvision's AdaptiveAvgPool2d((7, 7)), a 1x1 window here

PRINTED = {  # tool -> (VGG-16, ResNet-50)
    "textbook": (15_470_264_320, 4_089_184_256),
    "torchinfo": (15_483_821_032, 4_089_238_376),
    "ptflops": (15_523_225_576, 4_132_436_968),
    "fvcore": (15_470_289_408, 4_111_512_576),
    "thop": (15_470_314_496, 4_133_742_592),
    # FlopCounterMode(display=False).get_total_flops() on torchvision 0.29.1's vgg16() and resnet50()
    # themselves (torch 2.14.1, CPU, batch 1): 2 x the textbook MACs, bias ignored
    "flopcounter": (30_940_528_640, 8_178_368_512),
}


@pytest.fixture(scope="module")
def vgg() -> archcalc.Analysis:
    return archcalc.analyze(DATA / "vgg16_tv.yaml")


@pytest.fixture(scope="module")
def resnet() -> archcalc.Analysis:
    return archcalc.analyze(DATA / "resnet50_tv.yaml")


def test_specs_are_torchvisions(vgg: archcalc.Analysis, resnet: archcalc.Analysis) -> None:
    assert vgg.totals.params == 138_357_544          # torchvision vgg16 num_params
    assert resnet.totals.params == 25_557_032 + 53_120  # torchvision 25,557,032 + BN running stats (2C each)
    assert resnet.totals.trainable_params == 25_557_032


@pytest.mark.parametrize("tool", list(PRINTED))
def test_printed_totals(tool: str, vgg: archcalc.Analysis, resnet: archcalc.Analysis) -> None:
    want_vgg, want_resnet = PRINTED[tool]
    assert profiles.total(vgg, tool, torch=VGG_TORCH) == want_vgg
    assert profiles.total(resnet, tool) == want_resnet


def test_breakdowns_by_hand(vgg: archcalc.Analysis, resnet: archcalc.Analysis) -> None:
    conv_out = 224 * 224 * 64 * 2 + 112 * 112 * 128 * 2 + 56 * 56 * 256 * 3 + 28 * 28 * 512 * 3 + 14 * 14 * 512 * 3
    assert profiles.breakdown(vgg, "torchinfo") == {"macs": 15_470_264_320, "bias_adds": conv_out + 4096 + 4096 + 1000}
    pool_in = 224 * 224 * 64 + 112 * 112 * 128 + 56 * 56 * 256 + 28 * 28 * 512 + 14 * 14 * 512
    b = profiles.breakdown(vgg, "ptflops", torch=VGG_TORCH)
    assert b["relu"] == 2 * (conv_out + 4096 + 4096)
    assert b["max_pool"] == 2 * pool_in
    assert b["adaptive_avg_pool"] == 2 * 7 * 7 * 512
    # ResNet-50: BN channels 64 + stages (w + w + 4w) per block + 4w per downsample
    bn_c = 64 + sum(n * 6 * w + 4 * w for w, n in ((64, 3), (128, 4), (256, 6), (512, 3)))
    assert profiles.breakdown(resnet, "torchinfo") == {"macs": 4_089_184_256, "batchnorm": 2 * bn_c, "bias_adds": 1000}
    f = profiles.breakdown(resnet, "fvcore")
    assert f["adaptive_avg_pool"] == 7 * 7 * 2048
    assert profiles.breakdown(resnet, "thop")["batchnorm"] == 2 * f["batchnorm"]
    assert profiles.breakdown(resnet, "thop")["adaptive_avg_pool"] == (49 + 1) * 2048


def test_flopcounter_counts_conv_and_linear_only() -> None:
    # Measured: FlopCounterMode on this network in torch 2.13 (nn.Conv2d(3, 8, 3, padding=1), BatchNorm2d,
    # ReLU, MaxPool2d(2), x + depthwise Conv2d(8, 8, 3, groups=8, padding=1)(x), AdaptiveAvgPool2d(1),
    # Linear(8, 10), Softmax): {aten.convolution: 29,952, aten.addmm: 160} at batch 1; 119,808 and 640 at 4.
    # Arithmetic: conv 8·8·8·27 = 13,824 and depthwise 4·4·8·9 = 1,152 MACs, Linear 8·10 = 80; two FLOPs each.
    text = ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: 8, kernel: 3, padding: 1}\n  - {kind: batchnorm}\n"
            "  - {kind: relu}\n  - {kind: maxpool, size: 2, name: p}\n"
            "  - {kind: depthwise, kernel: 3, padding: 1, name: dw}\n  - {kind: add, from: [p, dw]}\n"
            "  - {kind: globalavgpool}\n  - {kind: dense, units: 10}\n  - {kind: softmax}\n")
    for batch, conv, mm in ((1, 29_952, 160), (4, 119_808, 640)):
        an = analyze_text(text, batch=batch)
        assert profiles.breakdown(an, "flopcounter") == {"conv_flops": conv, "mm_flops": mm}


def test_nofunc_counts_relu_and_pools_once(resnet: archcalc.Analysis) -> None:
    full, once = profiles.breakdown(resnet, "ptflops"), profiles.breakdown(resnet, "ptflops-nofunc")
    for k in ("relu", "max_pool", "adaptive_avg_pool"):
        assert full[k] == 2 * once[k]
    assert full["batchnorm"] == once["batchnorm"] and full["bias_adds"] == once["bias_adds"]


def test_without_the_adaptive_pool_vgg_misses_it(vgg: archcalc.Analysis) -> None:
    # Read as a plain AvgPool2d, fvcore ignores it and thop counts its 25,088 outputs once.
    assert profiles.total(vgg, "fvcore") == 15_470_264_320
    assert profiles.total(vgg, "thop") == 15_470_264_320 + 25_088


def test_functional_pooling() -> None:
    an = analyze_text("input: 4x4x8\nlayers:\n  - {kind: globalavgpool, name: pool}\n")
    f = {"pool": "F.adaptive_avg_pool2d"}
    assert profiles.total(an, "thop") == (16 + 1) * 8 and profiles.total(an, "thop", torch=f) == 0
    assert profiles.total(an, "ptflops") == 2 * 128 and profiles.total(an, "ptflops", torch=f) == 128
    assert profiles.total(an, "ptflops-nofunc", torch=f) == 0
    assert profiles.total(an, "fvcore", torch=f) == 128


def test_totals_scale_with_batch(resnet: archcalc.Analysis) -> None:
    an = archcalc.analyze(DATA / "resnet50_tv.yaml", batch=2)
    for tool in ("fvcore", "thop", "torchinfo"):
        assert profiles.total(an, tool) == 2 * profiles.total(resnet, tool)


def test_per_layer_sums_to_total(resnet: archcalc.Analysis) -> None:
    for tool in profiles.NAMES:
        assert sum(sum(d.values()) for d in profiles.per_layer(resnet, tool)) == profiles.total(resnet, tool)


def test_errors(vgg: archcalc.Analysis) -> None:
    with pytest.raises(archcalc.SpecError, match="unknown convention"):
        profiles.total(vgg, "keras")
    with pytest.raises(archcalc.SpecError, match="no layer named"):
        profiles.total(vgg, "thop", torch={"nope": "AdaptiveAvgPool2d"})
    with pytest.raises(archcalc.SpecError, match="a conv layer is one of"):
        profiles.total(vgg, "thop", torch={"block1/conv1/conv": "AdaptiveAvgPool2d"})


def test_explain_names_every_category(resnet: archcalc.Analysis) -> None:
    text = profiles.explain(resnet, "ptflops")
    assert "4,132,436,968" in text and "relu" in text and "residual adds" in text
    assert "= archcalc MACs 4,089,184,256 + 43,252,712" in text


def test_shipped_vgg16_is_torchvisions() -> None:
    # specs/vgg16.yaml keeps torchvision's AdaptiveAvgPool2d (its `adaptiveavgpool` to 7 x 7) and ends in
    # logits: every tool's figure is the one printed for torchvision's model
    an = archcalc.analyze(Path(__file__).parent.parent / "specs" / "vgg16.yaml")
    for tool, (want, _) in PRINTED.items():
        assert profiles.total(an, tool) == want, tool
    # --torch-op wins over the kind's module: as F.adaptive_avg_pool2d, thop (modules only) no longer counts
    # (1 + 1) per output of its 25,088, ptflops counts the patched function once instead of hook + function,
    # and fvcore sees the same aten op
    func = {"avgpool": "F.adaptive_avg_pool2d"}
    assert profiles.total(an, "fvcore", torch=func) == PRINTED["fvcore"][0]
    assert profiles.total(an, "thop", torch=func) == PRINTED["thop"][0] - 2 * 25_088
    assert profiles.total(an, "ptflops", torch=func) == PRINTED["ptflops"][0] - 25_088
    # the softmax torchvision's model lacks: ptflops counts its 1,000 inputs (F.softmax), thop 3·1,000 - 1
    soft = archcalc.analyze(Path(__file__).parent.parent / "specs" / "vgg16.yaml", overrides={"softmax": True})
    assert profiles.total(soft, "ptflops") == PRINTED["ptflops"][0] + 1_000
    assert profiles.total(soft, "thop") == PRINTED["thop"][0] + 2_999
    assert profiles.total(soft, "fvcore") == PRINTED["fvcore"][0]


def test_torch_op_problem_and_torch_for(vgg: archcalc.Analysis, resnet: archcalc.Analysis) -> None:
    assert profiles.torch_op_problem(vgg, "avgpool", "AdaptiveAvgPool2d") is None
    assert profiles.torch_op_problem(vgg, "avgpol", "AdaptiveAvgPool2d") == ("no layer named 'avgpol'",
                                                                            "did you mean 'avgpool'?")
    msg, hint = profiles.torch_op_problem(vgg, "avgpool", "AdaptiveAvgPool")
    assert msg.startswith("an avgpool layer is one of AvgPool2d") and hint == "did you mean 'AdaptiveAvgPool2d'?"
    # one mapping for several specs: each takes the layers it has (conv1 is ResNet-50's stem)
    both = {"avgpool": "AdaptiveAvgPool2d", "conv1": "Conv2d"}
    assert profiles.torch_for(vgg, both) == {"avgpool": "AdaptiveAvgPool2d"}
    assert profiles.torch_for(resnet, both) == both
