"""Zoo, the convolutional families of issue 14: MobileNetV3, EfficientNet B0-B7 and ShuffleNetV2 are
written with the kinds their torch models use (no stand-ins), EfficientNet's compound scaling is
torchvision's, and AlexNet and VGG pool as torchvision does at any resolution.

Figures come from torchvision 0.29.1's models (forward hooks on Conv2d/Linear, eval, batch 1, in
/work/venvs/tv: `sum(out.numel() * m.weight[0].numel())` for a conv, `out.numel() * in_features` for a
Linear) or from arithmetic written beside them.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
from conftest import SPECS

import archcalc


def _kinds(setting: str) -> Counter[str]:
    return Counter(r.kind for r in archcalc.analyze(str(SPECS / setting)).rows)


@pytest.mark.parametrize(("setting", "params", "macs"), [
    # torchvision alexnet / vgg16 at 160 x 160 and (AlexNet) 100 x 100, hook-counted: the adaptive pool
    # gives the classifier 6 x 6 x 256 (7 x 7 x 512) at any input, pooling 4 x 4 (AlexNet at 160, 5 x 5
    # for VGG) and repeating 2 x 2 (AlexNet at 100) as AdaptiveAvgPool2d does
    ("alexnet.yaml@resolution=160", 61_100_840, 378_044_096),
    ("alexnet.yaml@resolution=100", 61_100_840, 162_627_584),
    ("vgg16.yaml@resolution=160", 138_357_544, 7_953_547_264),
])
def test_classifiers_keep_their_inputs_at_other_resolutions(setting: str, params: int, macs: int) -> None:
    t = archcalc.analyze(str(SPECS / setting)).totals
    assert (t.params, t.macs) == (params, macs)


def test_mobilenet_v3_squeeze_excitation_is_a_gate() -> None:
    # torchvision's bneck tables: 8 SE blocks in Large (rows 4-6 and 11-15), 9 in Small (all but rows 2, 3);
    # each gates its input with Hardsigmoid and `scale * input`, and the rest uses ReLU or Hardswish
    for variant, se, hardswish_blocks in (("mobilenet_v3_large", 8, 9), ("mobilenet_v3_small", 9, 8)):
        k = _kinds(f"mobilenet_v3.yaml@{variant}")
        assert k["multiply"] == k["hardsigmoid"] == se
        assert "sigmoid" not in k and "silu" not in k
        # Hardswish: the stem, 2 per HS block (expand, depthwise; every HS block expands), the head's
        # 1x1 conv and classifier: 9 HS rows in Large (rows 7-15), 8 in Small (rows 4-11)
        assert k["hardswish"] == 1 + 2 * hardswish_blocks + 2


@pytest.mark.parametrize(("variant", "depth"), [
    ("efficientnet_b0", 1.0), ("efficientnet_b3", 1.4), ("efficientnet_b7", 3.1)])
def test_efficientnet_stages_have_ceil_n_depth_blocks(variant: str, depth: float) -> None:
    # torchvision's MBConvConfig.adjust_depth: int(math.ceil(num_layers * depth_mult)) per stage of Table 1
    an = archcalc.analyze(SPECS / "efficientnet.yaml", variant=variant)
    for stage, n in enumerate((1, 2, 2, 3, 3, 4, 1), start=1):
        blocks = {r.name.split("/")[1] for r in an.rows if r.name.startswith(f"features{stage}/")}
        assert len(blocks) == math.ceil(n * depth), (stage, n)
    k = Counter(r.kind for r in an.rows)
    # one SE gate per block (Sigmoid), SiLU after every conv but the projections and in every SE
    assert k["multiply"] == k["sigmoid"] == sum(math.ceil(n * depth) for n in (1, 2, 2, 3, 3, 4, 1))


def test_efficientnet_widths_are_make_divisible() -> None:
    # B7 (width 2.0): stem make_divisible(32 * 2, 8) = 64; the last stage 640; the head 4 x 640 = 2,560
    # (torchvision efficientnet_b7: features.0.0 Conv2d(3, 64), features.8.0 Conv2d(640, 2560))
    an = archcalc.analyze(SPECS / "efficientnet.yaml", variant="efficientnet_b7")
    out = {r.name: r.output_shape for r in an.rows}
    assert out["features0/conv"][-1] == 64 and out["features8/conv"][-1] == 2560
    assert out["features7/block4/project/conv"][-1] == 640
    # B2 (width 1.1): make_divisible(16 * 1.1, 8) = 16 (17.6 -> 16), make_divisible(40 * 1.1, 8) = 48 (44 -> 48)
    b2 = {r.name: r.output_shape for r in archcalc.analyze(SPECS / "efficientnet.yaml", variant="efficientnet_b2").rows}
    assert b2["features1/block1/project/conv"][-1] == 16 and b2["features3/block1/project/conv"][-1] == 48


def test_shufflenet_units_split_and_shuffle() -> None:
    # 16 units (4 + 8 + 4): 3 with stride 2 (both branches on the whole input), 13 that split in two
    k = _kinds("shufflenet_v2.yaml@shufflenet_v2_x1_0")
    assert k["shuffle"] == k["concat"] == 16
    assert k["slice"] == 2 * 13
    an = archcalc.analyze(SPECS / "shufflenet_v2.yaml", variant="shufflenet_v2_x1_0")
    shapes = {r.name: r.output_shape for r in an.rows}
    assert shapes["stage2/unit2/x1"] == shapes["stage2/unit2/x2"] == (28, 28, 58)   # 116 / 2
    assert shapes["stage4/unit4/channel_shuffle"] == (7, 7, 464)
