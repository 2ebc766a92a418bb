"""What each tool counts for linear, attention, products of activations and the token and channel
kinds: the profiles against figures the tools printed.

Small modules: tests/measured/tools_kinds_b.py, run with torch 2.13.0 (CPU; /work/venvs/t213) and again
with torch 2.14.1 + torchvision 0.29.1 (/work/venvs/tv, which adds torchvision's Swin modules): the
figures were the same in both. Whole networks: tests/measured/tools_vit_swin.py on torchvision's vit_b_16
and swin_t (torch 2.14.1, batch 1), held by the zoo's specs/vit.yaml and specs/swin_t.yaml. torchinfo
1.8.0, ptflops 0.7.5, fvcore 0.1.5, thop 0.1.1, each with its defaults; FlopCounterMode's get_total_flops().
"""

from __future__ import annotations

import pytest
from conftest import SPECS, analyze_text

import archcalc
from archcalc import profiles

TOOLS = ("torchinfo", "ptflops", "ptflops-nofunc", "fvcore", "thop", "flopcounter")

# case -> (spec layers, input, torch op of the last layer or None, printed at batch 1 and 2 per tool in
# TOOLS order, how ptflops scales at batch 2: "hook" (module hooks: divided by the batch), "func"
# (patched functionals: not divided), or None (0))
SEQ = "{kind: tokens, name: t}"
CASES = {
    "Linear(8, 6) on N x 8": (["{kind: linear, units: 6}"], "8", None,
                              ((54, 54, 54, 48, 48, 96), (108, 54, 54, 96, 96, 192)), "hook"),
    "Linear(8, 6) on N x 5 x 8": ([SEQ, "{kind: linear, units: 6}"], "1x5x8", None,
                                  ((54, 270, 270, 240, 240, 480), (108, 270, 270, 480, 480, 960)), "hook"),
    "Linear(8, 6) on N x 3 x 4 x 8": (["{kind: linear, units: 6}"], "3x4x8", None,
                                      ((54, 648, 648, 576, 576, 1152), (108, 648, 648, 1152, 1152, 2304)), "hook"),
    "Linear(8, 6, bias=False) on N x 5 x 8": ([SEQ, "{kind: linear, units: 6, bias: false}"], "1x5x8", None,
                                              ((48, 240, 240, 240, 240, 480), (96, 240, 240, 480, 480, 960)), "hook"),
    "MultiheadAttention(16, 4) need_weights=False": (
        [SEQ, "{kind: attention, heads: 4}"], "1x5x16", None,
        ((0, 6420, 6420, 5120, 0, 10240), (0, 6420, 6420, 10240, 0, 20480)), "hook"),
    "MultiheadAttention(16, 4, bias=False) need_weights=False": (
        [SEQ, "{kind: attention, heads: 4, qkv_bias: false, proj_bias: false}"], "1x5x16", None,
        ((0, 6180, 6180, 5120, 0, 10240), (0, 6180, 6180, 10240, 0, 20480)), "hook"),
    "torch.matmul(x, x^T)": ([SEQ, "{kind: matmul, from: [t, t], transpose_b: true}"], "1x5x16", "torch.matmul",
                             ((0, 400, 0, 400, 0, 800), (0, 800, 0, 800, 0, 1600)), "func"),
    "x @ x^T": ([SEQ, "{kind: matmul, from: [t, t], transpose_b: true}"], "1x5x16", "@",
                ((0, 0, 0, 400, 0, 800), (0, 0, 0, 800, 0, 1600)), None),
    "torch.bmm(x, x^T)": ([SEQ, "{kind: matmul, from: [t, t], transpose_b: true}"], "1x5x16", "torch.bmm",
                          ((0, 400, 0, 400, 0, 800), (0, 800, 0, 800, 0, 1600)), "func"),
    "class token cat": ([SEQ, "{kind: classtoken}"], "1x5x16", None, ((0,) * 6, (0,) * 6), None),
    "x + pos_embedding": ([SEQ, "{kind: posembed}"], "1x5x16", None, ((0,) * 6, (0,) * 6), None),
    "torch.cat([x, x], dim=1)": ([SEQ, "{kind: concat, from: [t, t], axis: tokens}"], "1x5x16", None,
                                 ((0,) * 6, (0,) * 6), None),
    "x.flatten(2).transpose(1, 2)": ([SEQ], "3x4x16", None, ((0,) * 6, (0,) * 6), None),
    "x[:, 0]": ([SEQ, "{kind: tokenselect}"], "1x5x16", None, ((0,) * 6, (0,) * 6), None),
    "x.chunk(2, dim=1)[1]": (["{kind: slice, chunks: 2, chunk: 1}"], "3x4x8", None, ((0,) * 6, (0,) * 6), None),
    "channel_shuffle(x, 2)": (["{kind: shuffle, groups: 2}"], "3x4x8", None, ((0,) * 6, (0,) * 6), None),
    # torchvision's Swin attention: its Linears run as F.linear (unpatched by ptflops, no module hook for
    # torchinfo or thop), its products as Tensor.matmul, its softmax as F.softmax
    "ShiftedWindowAttention(16, [2, 2], [0, 0], 4)": (
        ["{kind: windowattention, heads: 4, window: 2}"], "4x6x16", None,
        ((0, 3456, 0, 27648, 0, 55296), (0, 6912, 0, 55296, 0, 110592)), "func"),
    "ShiftedWindowAttention(16, [2, 2], [1, 1], 4)": (
        ["{kind: windowattention, heads: 4, window: 2, shift: 1}"], "4x6x16", None,
        ((0, 3456, 0, 27648, 0, 55296), (0, 6912, 0, 55296, 0, 110592)), "func"),
    "ShiftedWindowAttention(16, [3, 3], [1, 1], 2) on 5 x 4 (padded to 6 x 6)": (
        ["{kind: windowattention, heads: 2, window: 3, shift: 1}"], "5x4x16", None,
        ((0, 11016, 0, 47232, 0, 94464), (0, 22032, 0, 94464, 0, 188928)), "func"),
}


def _analysis(layers: list[str], input: str, batch: int) -> archcalc.Analysis:
    text = f"input: {input}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)
    return analyze_text(text, batch=batch)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("batch", [1, 2])
def test_small_modules(case: str, batch: int) -> None:
    layers, input, op, printed, scaling = CASES[case]
    an = _analysis(layers, input, batch)
    torch = {an.rows[-1].name: op} if op else None
    for tool, want in zip(TOOLS, printed[batch - 1], strict=True):
        # ptflops prints a module hook's count per sample and a patched functional's over the batch;
        # the profile does the same (the `scaling` column says which applies)
        assert (tool, profiles.total(an, tool, torch=torch)) == (tool, want)


def test_need_weights_true_runs_the_patched_functionals() -> None:
    # nn.MultiheadAttention(16, 4)(x, x, x) with need_weights=True on N x 5 x 16: torch.bmm and F.softmax
    # run outside scaled_dot_product_attention, so ptflops (patched), fvcore and FlopCounterMode see them.
    printed = {1: (0, 7320, 6420, 5920, 0, 11840), 2: (0, 8220, 6420, 11840, 0, 23680)}
    for batch in (1, 2):
        an = _analysis([SEQ, "{kind: attention, heads: 4, name: a}"], "1x5x16", batch)
        torch = {"a": "MultiheadAttention(need_weights=True)"}
        for tool, want in zip(TOOLS, printed[batch], strict=True):
            # ptflops: the hook per sample, the patched bmm and softmax over the batch
            assert (tool, profiles.total(an, tool, torch=torch)) == (tool, want)


def test_breakdown_by_hand() -> None:
    an = _analysis([SEQ, "{kind: attention, heads: 4}"], "1x5x16", 1)
    # ptflops' hook on L = 5, C = 16, h = 4: QW, KW, VW 3·5·16·16, QK^T and AV 2·4·(5·5·4), out 5·16·16;
    # in_proj bias 3·5·16, out bias 5·16; Q scaling 5·16; softmax 4·5·5
    assert profiles.breakdown(an, "ptflops") == {
        "macs": 3 * 5 * 16 * 16 + 2 * 4 * (5 * 5 * 4) + 5 * 16 * 16, "bias_adds": 3 * 5 * 16 + 5 * 16,
        "attention_scale": 5 * 16, "attention_softmax": 4 * 5 * 5}
    # fvcore and FlopCounterMode see the two projections only: SDPA's products are not counted on the CPU
    assert profiles.breakdown(an, "fvcore") == {"macs": 5 * 16 * 48 + 5 * 16 * 16}
    lin = _analysis(["{kind: linear, units: 6}"], "3x4x8", 2)
    assert profiles.breakdown(lin, "torchinfo") == {"linear_per_sample": (8 * 6 + 6) * 2}  # not per position
    text = profiles.explain(lin, "torchinfo")
    assert "= archcalc MACs 1,152 - 1,044" in text  # torchinfo prints less than the MACs: 108 = 1,152 - 1,044


def test_patch_merging_without_its_layernorm() -> None:
    # torchvision PatchMerging(8) on N x 4 x 6 x 8 printed (batch 1): torchinfo 576, ptflops 3264,
    # ptflops-nofunc 3264, fvcore 4032, thop 3840, FlopCounterMode 6144. Its LayerNorm(32) on 2·3 positions
    # (192 values, 64 parameters) is kinds-a's: torchinfo 64 (parameters), ptflops 192 (its BatchNorm hook
    # on LayerNorm: no `affine` attribute, 1 per value), fvcore 5·192 = 960, thop 4·192 = 768, FlopCounterMode 0.
    # The gather and the Linear(32, 16, bias=False) are what remains.
    an = _analysis(["{kind: patchmerge}", "{kind: linear, units: 16, bias: false}"], "4x6x8", 1)
    printed = (576, 3264, 3264, 4032, 3840, 6144)
    layernorm = (64, 192, 192, 960, 768, 0)
    for tool, want, ln in zip(TOOLS, printed, layernorm, strict=True):
        assert (tool, profiles.total(an, tool)) == (tool, want - ln)


# --- whole networks: torchvision's vit_b_16 and swin_t ------------------------------------------

PRINTED = {  # tools_vit_swin.py, torch 2.14.1, torchvision 0.29.1, 224 x 224, batch 1
    "vit.yaml@vit_b_16": (173_232_616, 17_606_030_584, 17_598_768_376, 16_867_412_736, 11_286_254_592,
                         33_697_001_472),
    "swin_t.yaml": (34_368_232, 3_128_183_416, 2_980_094_440, 4_509_232_128, 2_978_099_712, 8_981_133_312),
}
# What each tool printed for the modules kinds-a builds, per module, from the tools' source and their
# per-layer print (ptflops print_per_layer_stat on vit_b_16: LayerNorm 151,296 = 197·768, one per value):
# LayerNorm: torchinfo its parameters, ptflops 1 per value, fvcore 5, thop 4, FlopCounterMode 0;
# GELU: ptflops 2 per value (module hook and the patched F.gelu), ptflops-nofunc 1, the others 0.
@pytest.mark.parametrize("spec", list(PRINTED))
def test_whole_networks(spec: str) -> None:
    """Every tool's profile of the whole network, LayerNorm and GELU (kinds-a's rules) included, is what
    the tool printed for torchvision's model."""
    an = archcalc.analyze(str(SPECS / spec))
    for tool, want in zip(TOOLS, PRINTED[spec], strict=True):
        assert (tool, profiles.total(an, tool)) == (tool, want)


def test_vit_attention_is_what_fvcore_and_flopcounter_miss() -> None:
    an = archcalc.analyze(SPECS / "vit.yaml", variant="vit_b_16")
    real = [c for r, c in zip(an.rows, profiles.per_layer(an, "fvcore"), strict=True) if r.kind != "layernorm"]
    fvcore = sum(sum(c.values()) for c in real)
    layernorm = 25 * 197 * 768  # 12 blocks x 2 + encoder.ln, one value each
    assert fvcore + 5 * layernorm == 16_867_412_736
    assert an.totals.macs - fvcore == 715_327_488  # QK^T and AV, which fvcore does not see
    assert profiles.total(an, "flopcounter") == 2 * (an.totals.macs - 715_327_488) == 33_697_001_472
