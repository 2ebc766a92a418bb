"""The transformer-era zoo and U-Net (issue 14): specs/vit.yaml, specs/swin_t.yaml, specs/convnext.yaml and
specs/unet.yaml, with their figures written out as arithmetic beside torchvision's weights metadata
(torchvision 0.29.1, models/*.py: num_params exact, _ops in GMACs to 3 decimals), and the `crop` kind
that U-Net's copy and crop needs. Every tool's figure for each network is in tests/test_torchref.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SPECS, analyze_text, run

import archcalc
from archcalc import receptive
from archcalc.forward import FORWARDS, Tally
from archcalc.graph import _defaults
from archcalc.kinds import REGISTRY

# --- ViT ---------------------------------------------------------------------------------------


def vit_macs(patch: int, dim: int, mlp: int, heads: int, layers: int) -> int:
    """conv_proj, then per block the qkv projection, Q·K^T and weights·V, the out projection and the MLP,
    then the head: what torchvision's _ops counts (conv + linear + attention products)."""
    n = (224 // patch) ** 2
    tokens, d = n + 1, dim // heads
    block = tokens * dim * 3 * dim + 2 * heads * tokens * tokens * d + tokens * dim * dim + 2 * tokens * dim * mlp
    return n * dim * (patch * patch * 3) + layers * block + dim * 1000


def vit_params(patch: int, dim: int, mlp: int, heads: int, layers: int) -> int:
    tokens = (224 // patch) ** 2 + 1
    block = 2 * (2 * dim) + (dim * 3 * dim + 3 * dim + dim * dim + dim) + (dim * mlp + mlp + mlp * dim + dim)
    return (patch * patch * 3 * dim + dim) + dim + tokens * dim + layers * block + 2 * dim + (dim * 1000 + 1000)


VIT = {  # variant: (patch, D, mlp_dim, heads, layers), torchvision num_params, _ops
    "vit_b_16": ((16, 768, 3072, 12, 12), 86_567_656, 17.564),
    "vit_b_32": ((32, 768, 3072, 12, 12), 88_224_232, 4.409),
    "vit_l_16": ((16, 1024, 4096, 16, 24), 304_326_632, 61.555),
}


@pytest.mark.parametrize("variant", VIT)
def test_vit_variants_are_torchvisions(variant: str) -> None:
    cfg, num_params, ops = VIT[variant]
    t = archcalc.analyze(SPECS / "vit.yaml", variant=variant).totals
    assert t.trainable_params == vit_params(*cfg) == num_params and t.non_trainable_params == 0
    assert t.macs == vit_macs(*cfg) and round(t.macs / 1e9, 3) == ops


def test_vit_done_when() -> None:
    # issue 14's Done-when: 86,567,656 parameters and MACs that round to 17.564 G
    an = archcalc.analyze("vit")  # the zoo name, default setting: vit_b_16
    assert an.totals.trainable_params == 86_567_656
    assert an.totals.macs == 17_563_828_224 and f"{an.totals.macs / 1e9:.3f}" == "17.564"


@pytest.mark.parametrize(("variant", "resolution", "num_params", "ops"), [
    ("vit_b_16", 384, 86_859_496, 55.484),    # torchvision ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1
    ("vit_l_16", 512, 305_174_504, 361.986),  # torchvision ViT_L_16_Weights.IMAGENET1K_SWAG_E2E_V1
])
def test_vit_at_swag_resolutions(variant: str, resolution: int, num_params: int, ops: float) -> None:
    # image_size grows the position embedding (L x D) and every token count, as torchvision's builder does
    t = archcalc.analyze(SPECS / "vit.yaml", variant=variant, overrides={"resolution": resolution}).totals
    assert t.trainable_params == num_params and round(t.macs / 1e9, 3) == ops


def test_attention_fast_path_is_what_no_grad_shows() -> None:
    # tests/torchref/measure.py's tools inside torch.no_grad() on the vit_b_32 copy (torch 2.13.0, batch 1),
    # printed: torchinfo 173,119,720, ptflops 4,418,839,336, ptflops-nofunc 4,416,996,136, fvcore
    # 2,952,328,704, thop 2,951,368,704, FlopCounterMode 5,895,057,408: the eval-mode fast path of
    # nn.MultiheadAttention hides its projections from fvcore and FlopCounterMode
    an = archcalc.analyze(SPECS / "vit.yaml", variant="vit_b_32")
    fast = {"kind:attention": "MultiheadAttention(fast path)"}
    from archcalc import profiles
    assert {t: profiles.total(an, t, torch=fast) for t in ("torchinfo", "ptflops", "ptflops-nofunc", "fvcore",
                                                            "thop", "flopcounter")} == {
        "torchinfo": 173_119_720, "ptflops": 4_418_839_336, "ptflops-nofunc": 4_416_996_136,
        "fvcore": 2_952_328_704, "thop": 2_951_368_704, "flopcounter": 5_895_057_408}
    # fvcore: the MACs less 12 blocks' projections (50·768·2304 + 50·768·768) and products (2·12·50·50·64),
    # plus its 5 per LayerNorm value (25 norms of 50 x 768)
    assert 2_952_328_704 == an.totals.macs - 12 * (50 * 768 * 3072 + 2 * 12 * 50 * 50 * 64) + 5 * 25 * 50 * 768


# --- ConvNeXt ------------------------------------------------------------------------------------


def convnext(c: int, deep: int) -> tuple[int, int]:
    """(parameters, MACs) of torchvision's ConvNeXt with stem width c and `deep` blocks in stage 3."""
    params = macs = 0
    params += 4 * 4 * 3 * c + c + 2 * c                        # stem conv 4x4/4 + LayerNorm2d
    macs += 56 * 56 * c * (4 * 4 * 3)
    side = 56
    for i, n in enumerate((3, 3, deep, 3)):
        w = c * 2**i
        # CNBlock: dwconv 7x7 (49C + C), LayerNorm (2C), Linear C->4C, Linear 4C->C, layer scale gamma (C)
        params += n * ((49 * w + w) + 2 * w + (w * 4 * w + 4 * w) + (4 * w * w + w) + w)
        macs += n * (side * side * w * 49 + 2 * side * side * w * 4 * w)
        if i < 3:  # downsampling: LayerNorm2d, conv 2x2/2 to 2C
            params += 2 * w + (2 * 2 * w * 2 * w + 2 * w)
            side //= 2
            macs += side * side * 2 * w * (2 * 2 * w)
    params += 2 * 8 * c + 8 * c * 1000 + 1000                 # classifier LayerNorm2d + Linear
    macs += 8 * c * 1000
    return params, macs


CONVNEXT = {  # variant: (C, stage-3 blocks), torchvision num_params, _ops
    "convnext_tiny": ((96, 9), 28_589_128, 4.456),
    "convnext_small": ((96, 27), 50_223_688, 8.684),
    "convnext_base": ((128, 27), 88_591_464, 15.355),
    "convnext_large": ((192, 27), 197_767_336, 34.361),
}


@pytest.mark.parametrize("variant", CONVNEXT)
def test_convnext_variants_are_torchvisions(variant: str) -> None:
    cfg, num_params, ops = CONVNEXT[variant]
    t = archcalc.analyze(SPECS / "convnext.yaml", variant=variant).totals
    assert (t.trainable_params, t.macs) == convnext(*cfg)
    assert t.trainable_params == num_params and t.non_trainable_params == 0 and round(t.macs / 1e9, 3) == ops


def test_convnext_tiny_is_written_with_layernorm_gelu_and_layer_scale() -> None:
    # issue 14's Done-when: ConvNeXt-Tiny exact with LayerNorm, GELU and layer scale as they are
    an = archcalc.analyze(SPECS / "convnext.yaml", variant="convnext_tiny")
    kinds = [r.kind for r in an.rows]
    assert kinds.count("layernorm") == 18 + 2 + 3  # 18 blocks, stem and classifier, 3 downsamplings
    assert kinds.count("gelu") == kinds.count("scale") == kinds.count("droppath") == 18
    assert not {"batchnorm", "hardswish", "relu"} & set(kinds)  # no stand-ins
    rs = {r.name: r for r in an.rows}
    # torchvision convnext_tiny().features[1][0]: 79,296 parameters (tests/test_docs.py measured it)
    assert sum(r.params for r in an.rows if r.name.startswith("stage1/block1/")) == 79_296
    assert rs["stage1/block1/layer_scale"].params == 96 and rs["stage1/block1/norm"].params == 192
    assert rs["stage1/block1/pwconv1"].output_shape == (56, 56, 384)  # Linear on N x H x W x C
    # stochastic depth as torchvision's sd_prob: 0.1 · block / (18 - 1), block 0 to 17
    from fractions import Fraction
    rates = [rs[f"stage{s}/block{b}/stochastic_depth"].node.kind.rate
             for s, n in ((1, 3), (2, 3), (3, 9), (4, 3)) for b in range(1, n + 1)]
    assert rates == [Fraction(1, 10) * i / 17 for i in range(18)]


def test_convnext_torch_ops_say_which_norm_is_layernorm2d() -> None:
    from archcalc.torch_ops import ops_for
    an = archcalc.analyze(SPECS / "convnext.yaml", variant="convnext_tiny")
    ops = {r.name: op for r, op in zip(an.rows, ops_for(an), strict=True) if r.kind == "layernorm"}
    assert {n for n, op in ops.items() if op == "LayerNorm2d"} == {
        "stem_norm", "downsample1/norm", "downsample2/norm", "downsample3/norm", "classifier_norm"}
    assert all(op == "LayerNorm" for n, op in ops.items() if n.startswith("stage"))


# --- Swin-T --------------------------------------------------------------------------------------


def test_swin_t_is_torchvisions() -> None:
    t = archcalc.analyze("swin_t").totals
    assert t.trainable_params == 28_288_354  # torchvision Swin_T_Weights num_params
    # per stage (side, C, heads, blocks): qkv, Q·K^T and weights·V over 49-token windows, proj, MLP
    macs = 56 * 56 * 96 * (4 * 4 * 3)
    for side, c, h, n in ((56, 96, 3, 2), (28, 192, 6, 2), (14, 384, 12, 6), (7, 768, 24, 2)):
        windows = (side // 7) ** 2
        macs += n * (side * side * c * 3 * c + 2 * windows * h * 49 * 49 * (c // h) + side * side * c * c
                     + 2 * side * side * c * 4 * c)
        if side > 7:  # patch merging: Linear(4C, 2C) at half the side
            macs += (side // 2) ** 2 * 4 * c * 2 * c
    macs += 768 * 1000
    assert t.macs == macs == 4_490_566_656 and round(t.macs / 1e9, 3) == 4.491


# --- U-Net ---------------------------------------------------------------------------------------


def unet() -> tuple[int, int, int]:
    """(parameters, MACs, output side) of Ronneberger et al.'s Figure 1, step by step."""
    params = macs = 0
    side, c_in, skips = 572, 1, []
    for i, c in enumerate((64, 128, 256, 512, 1024)):
        for cin in (c_in, c):                           # two unpadded 3x3 convolutions
            side -= 2
            params += 9 * cin * c + c
            macs += side * side * c * 9 * cin
        skips.append((side, c))
        c_in = c
        if i < 4:
            side //= 2                                  # 2x2 max pooling
    for skip_side, c in reversed(skips[:-1]):
        params += 4 * c_in * c + c                      # 2x2 up-convolution, stride 2
        macs += side * side * c_in * 4 * c              # every input value times its 2 x 2 x C' window
        side *= 2
        assert skip_side > side                         # the copy is cropped to the up-convolution's size
        for cin in (2 * c, c):                          # after the concatenation: 2C channels
            side -= 2
            params += 9 * cin * c + c
            macs += side * side * c * 9 * cin
        c_in = c
    params += 64 * 2 + 2
    macs += side * side * 2 * 64
    return params, macs, side


def test_unet_is_figure_1() -> None:
    an = archcalc.analyze("unet")
    params, macs, side = unet()
    assert side == 388 and [(r.name, r.output_shape) for r in an.outputs] == [("out", (388, 388, 2))]
    assert an.totals.trainable_params == params == 31_030_658
    assert an.totals.macs == macs == 150_428_424_448
    rs = {r.name: r for r in an.rows}
    # the copy and crop of each step: 64 -> 56, 136 -> 104, 280 -> 200, 568 -> 392
    assert [(rs[f"crop{i}"].input_shapes[0][0], rs[f"crop{i}"].output_shape[0]) for i in (4, 3, 2, 1)] == [
        (64, 56), (136, 104), (280, 200), (568, 392)]
    assert rs["cat4"].output_shape == (56, 56, 1024) and rs["enc5/relu2"].output_shape == (28, 28, 1024)


# --- the crop kind -------------------------------------------------------------------------------


def test_crop_shapes_and_explain() -> None:
    an = analyze_text("input: 10x9x3\nlayers:\n  - {kind: conv, name: a, filters: 4, kernel: 3}\n"
                      "  - {kind: crop, name: c, from: [input, a]}\n  - {kind: crop, name: d, size: [3, 6]}\n")
    rs = {r.name: r for r in an.rows}
    assert rs["c"].output_shape == (8, 7, 3) and rs["d"].output_shape == (3, 6, 3)
    assert all(rs[n].params == rs[n].macs == 0 and not rs[n].other for n in "cd")
    text = {n: rs[n].node.kind.shape_text(list(rs[n].input_shapes), rs[n].output_shape) for n in "cd"}
    assert "rows 1..8 of 10, columns 1..7 of 9" in text["c"]       # floor(2/2), floor(2/2)
    assert "rows 2..4 of 8, columns 0..5 of 7" in text["d"]        # floor(5/2), floor(1/2)


@pytest.mark.parametrize(("layers", "message"), [
    ("{kind: crop, size: 5}", "crop to 5 x 5 is larger than its input's H x W, 4 x 4"),
    ("{kind: crop}", "crop needs its output size"),
    ("{kind: conv, name: a, filters: 1, kernel: 3}\n  - {kind: crop, from: [input, a], size: 2}", "not both"),
    ("{kind: flatten, name: f}\n  - {kind: crop, from: f, size: 1}", "crop"),
])
def test_crop_errors_name_the_line(tmp_path, layers: str, message: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(f"input: 4x4x1\nlayers:\n  - {layers}\n")
    r = run("summarize", str(p))
    assert r.exit_code == 1 and message in r.stderr and f"{p}:" in r.stderr and "Traceback" not in r.stderr


def test_crop_forward_is_the_centre() -> None:
    cls = REGISTRY["crop"]
    rng = np.random.default_rng(0)
    for (h, w), size, like in (((7, 6), (3, 4), None), ((9, 9), (0, 0), (4, 5)), ((5, 8), (5, 1), None)):
        x = rng.standard_normal((2, h, w, 3)).astype(np.float32)
        kind = cls(**{**_defaults(cls), "size": size})
        xs = [x] if like is None else [x, np.zeros((2, *like, 1), np.float32)]
        y = FORWARDS["crop"].fn(Tally(), kind, xs, {})
        oh, ow = like or size
        t, l = (h - oh) // 2, (w - ow) // 2
        np.testing.assert_array_equal(y, np.array([[[x[n, t + i, l + j] for j in range(ow)] for i in range(oh)]
                                                   for n in range(2)]))
        assert y.shape[1:3] == kind.out_shape([s.shape[1:] for s in xs])[:2]


def test_crop_receptive_field_moves_with_the_rows_cut() -> None:
    an = analyze_text("input: 12x12x1\nlayers:\n  - {kind: conv, name: a, filters: 1, kernel: 3}\n"
                      "  - {kind: crop, name: c, size: 4}\n")
    f = dict(zip([r.name for r in an.rows], receptive.fields(an), strict=True))
    # a: output (0, 0) centred on input pixel 1; the crop starts 3 rows in (floor((10 - 4)/2)): pixel 4
    assert f["c"].size == f["a"].size == (3, 3)
    assert f["c"].h.start == f["a"].h.start + 3 and f["c"].w.start == f["a"].w.start + 3


def test_crop_docs_example() -> None:
    from conftest import ROOT
    doc = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    text = next(e for e in doc.split("```yaml\n")[1:] if "name: copy" in e).split("```")[0]
    rows = {r.name: r for r in analyze_text(text).rows}
    # up2 128 x 128 x 16; valid 3x3: 126; the copy is rows and columns 1..126 of up2
    assert [rows[n].output_shape for n in ("up2", "valid", "copy", "join")] == [
        (128, 128, 16), (126, 126, 16), (126, 126, 16), (126, 126, 32)]


def test_crop_verifies_and_reads_in_json() -> None:
    text = ("input: 10x10x2\nlayers:\n  - {kind: conv, name: a, filters: 3, kernel: 3}\n"
            "  - {kind: crop, name: c, from: [input, a]}\n  - {kind: concat, name: cat, from: [c, a]}\n")
    r = run("verify", "-", "--batch", "2", input=text)
    assert r.exit_code == 0 and "all 4 layers agree" in r.stdout, r.stdout + r.stderr
    d = json.loads(run("summarize", "-", "-f", "json", input=text).stdout)
    row = next(x for x in d["layers"] if x["name"] == "c")
    assert row["kind"] == "crop" and row["output_shape"] == [8, 8, 2]


# --- the executor: every family at a small input in the default suite ----------------------------

#: each family's structure at a fraction of its cost (the full-size runs are tests/test_verify.py's slow
#: ones): fewer blocks and channels, a small input; the same kinds, blocks and wiring.
SMALL = ["vit.yaml@vit_b_32,resolution=64,dim=48,mlp_dim=96,heads=3,layers=2",
         "swin_t.yaml@resolution=64,dim=24",
         "convnext.yaml@convnext_tiny,resolution=64,width=16,depth3=2",
         "unet.yaml@resolution=188,width=8"]


@pytest.mark.parametrize("setting", SMALL)
def test_families_verify_small(setting: str) -> None:
    r = run("verify", str(SPECS / setting), "--batch", "2")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "agree" in r.stdout
