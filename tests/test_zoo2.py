"""Zoo, part 2: GoogLeNet and MobileNetV2 against published figures and hand arithmetic.

Each spec's `expect:` block is checked here the way `archcalc check` will check it
(the command is not on this branch yet). Every other figure is either quoted from a named
source or written out as arithmetic beside the assertion.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import SPECS, run

import archcalc

GOOGLENET = SPECS / "googlenet.yaml"
MOBILENET_V2 = SPECS / "mobilenet_v2.yaml"

EXPECT_KEYS = {"params", "trainable_params", "non_trainable_params", "macs", "flops", "output_shape",
               "activation_bytes"}


def analyze(path: Any, **overrides: Any) -> archcalc.Analysis:
    return archcalc.analyze(path, overrides={k: str(v) if isinstance(v, float) else v
                                             for k, v in overrides.items()})


def rows(an: archcalc.Analysis, prefix: str) -> list[archcalc.Row]:
    return [r for r in an.rows if r.name == prefix or r.name.startswith(prefix + "/")]


def row(an: archcalc.Analysis, name: str) -> archcalc.Row:
    (r,) = [r for r in an.rows if r.name == name]
    return r


def block_sum(an: archcalc.Analysis, prefix: str) -> tuple[int, int, int]:
    """(trainable, non_trainable, macs) of every layer under a block instance."""
    rs = rows(an, prefix)
    return sum(r.trainable for r in rs), sum(r.non_trainable for r in rs), sum(r.macs for r in rs)


# --- the expect: blocks ---------------------------------------------------------------------

def _actual(an: archcalc.Analysis, key: str) -> Any:
    if key == "output_shape":
        return list(an.outputs[-1].output_shape)
    return getattr(an.totals, key)


@pytest.mark.parametrize("path", [GOOGLENET, MOBILENET_V2], ids=lambda p: p.stem)
def test_expect_block(path: Any) -> None:
    spec = archcalc.load(path)
    expect = spec.root["expect"]
    assert expect, "the spec carries an expect: block"
    assert set(expect) <= EXPECT_KEYS
    an = archcalc.analyze(spec)
    for key, entry in expect.items():
        assert set(entry) <= {"value", "source", "tolerance"}, key
        assert entry.get("source"), f"{key}: every expected figure names its source"
        actual, value = _actual(an, key), entry["value"]
        if key == "output_shape":
            assert actual == list(value)
        else:
            tol = entry.get("tolerance", 0)
            assert isinstance(tol, int) and tol >= 0
            assert abs(actual - value) <= tol, f"{key}: {actual:,} vs expected {value:,} (±{tol:,})"


# --- GoogLeNet -------------------------------------------------------------------------------

def test_googlenet_torchvision_published_figures() -> None:
    t = analyze(GOOGLENET).totals
    # torchvision GoogLeNet_Weights.IMAGENET1K_V1: num_params 6624904 (nn.Parameters of the
    # model googlenet(weights=...) returns, aux heads dropped), _ops 1.498 (GFLOPS, 3 decimals)
    assert t.trainable_params == 6_624_904
    assert round(t.macs / 1e9, 3) == 1.498


def test_googlenet_stem_and_module_shapes() -> None:
    an = analyze(GOOGLENET)
    # torchvision googlenet.py's shape comments (N x C x H x W), written here as H x W x C
    assert row(an, "conv1/relu").output_shape == (112, 112, 64)   # floor((224 + 6 - 7)/2) + 1
    assert row(an, "maxpool1").output_shape == (56, 56, 64)       # ceil((112 - 3)/2) + 1
    assert row(an, "conv3/relu").output_shape == (56, 56, 192)
    assert row(an, "maxpool2").output_shape == (28, 28, 192)
    channels = {"inception3a": 256, "inception3b": 480, "inception4a": 512, "inception4b": 512,
                "inception4c": 512, "inception4d": 528, "inception4e": 832, "inception5a": 832,
                "inception5b": 1024}
    sides = {"3": 28, "4": 14, "5": 7}
    for name, c in channels.items():
        assert row(an, f"{name}/concat").output_shape == (sides[name[9]], sides[name[9]], c)
    assert row(an, "maxpool4").output_shape == (7, 7, 832)        # 2x2/2 (torchvision)
    assert an.outputs[-1].output_shape == (1000,)


def test_googlenet_inception3a_by_hand() -> None:
    an = analyze(GOOGLENET)
    # the notes' Figure 99: 64 + 128 + 32 + 32 = 256 channels at 28 x 28
    assert row(an, "inception3a/concat").output_shape == (28, 28, 64 + 128 + 32 + 32)
    # torchvision: bias-free convs, branch 3 with a 3x3 kernel
    weights = (192 * 64                 # b1 1x1
               + 192 * 96 + 3 * 3 * 96 * 128    # b2 1x1 reduce, 3x3
               + 192 * 16 + 3 * 3 * 16 * 32     # b3 1x1 reduce, "5x5" that is 3x3
               + 192 * 32)              # b4 pool projection
    assert weights == 155_136
    bn_channels = 64 + 96 + 128 + 16 + 32 + 32  # 368
    assert block_sum(an, "inception3a") == (weights + 2 * bn_channels, 2 * bn_channels, 28 * 28 * weights)
    assert 28 * 28 * weights == 121_626_624


def test_googlenet_paper_inception3a_by_hand() -> None:
    an = analyze(GOOGLENET, paper=True)
    weights = (192 * 64 + 192 * 96 + 3 * 3 * 96 * 128 + 192 * 16 + 5 * 5 * 16 * 32 + 192 * 32)
    assert weights == 163_328                  # 5x5 in branch 3
    biases = 64 + 96 + 128 + 16 + 32 + 32      # conv bias, no BN
    assert block_sum(an, "inception3a") == (weights + biases, 0, 28 * 28 * weights)
    assert 28 * 28 * weights == 128_049_152
    assert row(an, "inception3a/b3/conv").output_shape == (28, 28, 32)


def test_googlenet_aux_heads_by_hand() -> None:
    off, on = analyze(GOOGLENET), analyze(GOOGLENET, aux=True)
    train = archcalc.analyze(GOOGLENET, overrides={"aux": True}, training=True)

    def head(c_in: int) -> tuple[int, int, int]:
        # avgpool 14 -> 4 x 4; 1x1 conv to 128 (no bias) + BN; FC 2048 -> 1024; FC 1024 -> 1000
        trainable = c_in * 128 + 2 * 128 + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)
        macs = 4 * 4 * 128 * c_in + 2048 * 1024 + 1024 * 1000
        return trainable, 2 * 128, macs

    a1, a2 = head(512), head(528)   # aux1 on inception4a (512), aux2 on inception4d (528)
    assert a1[0] + a2[0] == 6_379_984
    # torchvision 0.29.1 googlenet(aux_logits=True), measured: 13,004,888 parameters
    assert on.totals.trainable_params == 6_624_904 + 6_379_984 == 13_004_888
    for an in (on, train):  # the heads' parameters count in both passes
        assert an.totals.trainable_params - off.totals.trainable_params == a1[0] + a2[0]
        assert an.totals.non_trainable_params - off.totals.non_trainable_params == a1[1] + a2[1]
    # training-only: at inference the heads do not run (torchvision runs them only in training)
    assert on.totals.macs == off.totals.macs == 1_498_376_192
    assert train.totals.macs - off.totals.macs == a1[2] + a2[2]
    assert block_sum(train, "aux1") == a1 and block_sum(train, "aux2") == a2
    assert block_sum(on, "aux1") == (a1[0], a1[1], 0)
    assert all(r.training_only for r in rows(on, "aux1") + rows(on, "aux2"))
    assert row(on, "aux1/pool").output_shape == (4, 4, 512)    # floor((14 - 4)/3) + 1 = 4
    assert row(on, "aux2/flatten").output_shape == (4 * 4 * 128,)
    # three classifiers in training, the main one last; only the main one at inference or with aux off
    # (logits, as torchvision's model returns them: no softmax unless `softmax` or `paper` is set)
    assert [r.name for r in train.outputs] == ["aux1/fc2", "aux2/fc2", "fc"]
    assert [r.output_shape for r in train.outputs] == [(1000,)] * 3
    assert [r.name for r in on.outputs] == [r.name for r in off.outputs] == ["fc"]
    assert not rows(off, "aux1") and not rows(off, "aux2")
    # the main path is unchanged by the side branches
    assert row(on, "inception4b/concat").inputs == row(off, "inception4b/concat").inputs


def test_googlenet_paper_variant() -> None:
    tv, paper = analyze(GOOGLENET), analyze(GOOGLENET, paper=True)
    kinds = {r.kind for r in paper.rows}
    assert "batchnorm" not in kinds and "lrn" in kinds
    assert row(paper, "inception4e/b3/conv").node.kind.kernel == (5, 5)
    assert row(paper, "maxpool4").node.kind.size == (3, 3)
    assert row(paper, "maxpool4").output_shape == (7, 7, 832)   # ceil((14 - 3)/2) + 1 = 7
    # paper - torchvision trainable = 5x5 instead of 3x3 in branch 3 (16 more weights per
    # c5r x c5 pair) + one bias per conv filter - BN gamma and beta (7,280 channels each)
    c5r_c5 = [(16, 32), (32, 96), (16, 48), (24, 64), (24, 64), (32, 64), (32, 128), (32, 128), (48, 128)]
    extra_5x5 = sum(16 * a * b for a, b in c5r_c5)
    assert extra_5x5 == 380_928
    assert paper.totals.params == tv.totals.trainable_params + extra_5x5 + 7_280 - 2 * 7_280 == 6_998_552
    # Szegedy et al. 2015 quote about 6.8M parameters and 1.5G multiply-adds (Table 1 and the
    # text; rounded figures, so only loosely): 6,998,552 is within 3%, 1.583 G within 6%.
    assert abs(paper.totals.params - 6.8e6) / 6.8e6 < 0.03
    assert abs(paper.totals.macs - 1.5e9) / 1.5e9 < 0.06


def test_googlenet_single_switch() -> None:
    # the 5x5 branch alone, on torchvision's layers: params grow by exactly the 5x5 surplus
    tv, five = analyze(GOOGLENET), analyze(GOOGLENET, branch3_kernel=5)
    assert five.totals.trainable_params - tv.totals.trainable_params == 380_928
    assert row(five, "inception3a/b3/conv").output_shape == (28, 28, 32)   # padding 5 // 2 = 2


# --- MobileNetV2 -----------------------------------------------------------------------------

def test_mobilenet_v2_published_figures() -> None:
    t = analyze(MOBILENET_V2).totals
    # torchvision MobileNet_V2_Weights.IMAGENET1K_V1: num_params 3504872, _ops 0.301 (GFLOPS)
    assert t.trainable_params == 3_504_872
    assert round(t.macs / 1e9, 3) == 0.301
    # BN channels: stem 32, stage1 32 + 16, then 12·cin + cout per t=6 block, last conv 1280
    bn = (32 + (32 + 16) + (12 * 16 + 24) + (12 * 24 + 24) + (12 * 24 + 32) + 2 * (12 * 32 + 32)
          + (12 * 32 + 64) + 3 * (12 * 64 + 64) + (12 * 64 + 96) + 2 * (12 * 96 + 96)
          + (12 * 96 + 160) + 2 * (12 * 160 + 160) + (12 * 160 + 320) + 1280)
    assert bn == 17_056 and t.non_trainable_params == 2 * bn


def test_mobilenet_v2_first_bottleneck_by_hand() -> None:
    an = analyze(MOBILENET_V2)
    # stem: 3x3/2 conv, 3 -> 32, no bias: 224 -> floor((224 + 2 - 3)/2) + 1 = 112
    assert row(an, "conv1/relu6").output_shape == (112, 112, 32)
    assert row(an, "conv1/conv").macs == 112 * 112 * 32 * (3 * 3 * 3)
    # stage1/block1: t = 1, so no expansion; depthwise 3x3 on 32 channels, project to 16;
    # no residual (32 != 16)
    b = "stage1/block1"
    names = [r.name for r in rows(an, b)]
    assert not any("expand" in n for n in names) and f"{b}/residual" not in names
    dw, project = 3 * 3 * 32, 32 * 16
    assert block_sum(an, b) == (dw + 2 * 32 + project + 2 * 16, 2 * 32 + 2 * 16,
                                112 * 112 * 32 * 9 + 112 * 112 * 16 * 32)
    assert 112 * 112 * 32 * 9 + 112 * 112 * 16 * 32 == 10_035_200
    assert row(an, f"{b}/project/bn").output_shape == (112, 112, 16)


def test_mobilenet_v2_second_stage_by_hand() -> None:
    an = analyze(MOBILENET_V2)
    # stage2/block1: 16 -> expand 96 -> depthwise stride 2 -> 24; 112 -> 56; no residual
    b1 = "stage2/block1"
    assert row(an, f"{b1}/expand/conv").output_shape == (112, 112, 16 * 6)
    assert row(an, f"{b1}/dw").output_shape == (56, 56, 96)
    assert block_sum(an, b1)[0] == 16 * 96 + 2 * 96 + 9 * 96 + 2 * 96 + 96 * 24 + 2 * 24
    assert f"{b1}/residual" not in [r.name for r in an.rows]
    # stage2/block2: 24 -> 144 -> 24, stride 1: the input is added back
    add = row(an, "stage2/block2/residual")
    assert add.kind == "add" and add.output_shape == (56, 56, 24)
    assert add.inputs == ("stage2/block2/project/bn", "stage2/block1/project/bn")
    # residual adds: 17 bottlenecks minus the first of each of the 7 stages = 10
    assert sum(1 for r in an.rows if r.kind == "add") == 17 - 7


def test_mobilenet_v2_stage_shapes() -> None:
    an = analyze(MOBILENET_V2)
    # Sandler et al. 2018, Table 2 (t, c, n, s) rows; H halves at each s = 2
    last = {"stage1/block1": (112, 16), "stage2/block2": (56, 24), "stage3/block3": (28, 32),
            "stage4/block4": (14, 64), "stage5/block3": (14, 96), "stage6/block3": (7, 160),
            "stage7/block1": (7, 320)}
    out = {r.name: r.output_shape for r in an.folded(2)}
    for name, (hw, c) in last.items():
        assert out[name] == (hw, hw, c)
    assert row(an, "conv_last/relu6").output_shape == (7, 7, 1280)


def test_mobilenet_v2_width_multiplier() -> None:
    half = analyze(MOBILENET_V2, width=0.5)
    # make_divisible(32·0.5) = 16, make_divisible(24·0.5 = 12) = 16 (nearest multiple of 8, ≥ 90%),
    # make_divisible(320·0.5) = 160; the last conv keeps 1280 when width < 1
    assert row(half, "conv1/conv").output_shape[2] == 16
    assert row(half, "stage2/block1/project/bn").output_shape[2] == 16
    assert row(half, "stage7/block1/project/bn").output_shape[2] == 160
    assert row(half, "conv_last/conv").output_shape[2] == 1280
    # width 1.4: make_divisible(1280·1.4 = 1792) = 1792, make_divisible(16·1.4 = 22.4) = 24
    wide = analyze(MOBILENET_V2, width=1.4)
    assert row(wide, "conv_last/conv").output_shape[2] == 1792
    assert row(wide, "stage1/block1/project/bn").output_shape[2] == 24
    # at width 0.5, stage2's first block (16 -> 16, stride 2) still has no residual, but the
    # second does
    assert "stage2/block1/residual" not in [r.name for r in half.rows]
    assert row(half, "stage2/block2/residual").kind == "add"


# tensorflow/models research/slim/nets/mobilenet/README.md, "Mobilenet V2 Imagenet
# Checkpoints": MACs (M) per width multiplier and resolution (1001 classes). The table
# truncates to whole millions (e.g. 0.5 at 96: 18.885 M is listed as 18).
TF_SLIM_MACS_M = {
    (1.4, 224): 582, (1.3, 224): 509, (1.0, 224): 300, (1.0, 192): 221, (1.0, 160): 154,
    (1.0, 128): 99, (1.0, 96): 56, (0.75, 224): 209, (0.75, 192): 153, (0.75, 160): 107,
    (0.75, 128): 69, (0.75, 96): 39, (0.5, 224): 97, (0.5, 192): 71, (0.5, 160): 50,
    (0.5, 128): 32, (0.5, 96): 18, (0.35, 224): 59, (0.35, 192): 43, (0.35, 160): 30,
    (0.35, 128): 20, (0.35, 96): 11,
}


@pytest.mark.parametrize(("width", "resolution"), list(TF_SLIM_MACS_M), ids=lambda v: str(v))
def test_mobilenet_v2_tf_slim_table(width: float, resolution: int) -> None:
    an = analyze(MOBILENET_V2, width=width, resolution=resolution, classes=1001)
    assert math.floor(an.totals.macs / 1e6) == TF_SLIM_MACS_M[(width, resolution)]


# --- the CLI ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("specs/googlenet.yaml", "--depth", "1"),
                                  ("specs/googlenet.yaml", "--set", "aux=true", "--set", "paper=true"),
                                  ("specs/mobilenet_v2.yaml", "--set", "width=0.35", "--set", "resolution=96")])
def test_summarize_runs(args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SPECS.parent)
    r = run("summarize", *args)
    assert r.exit_code == 0, r.output
