"""The kinds of issue 14 part B (linear, tokens, channel ops, attention, matmul): figures written as
arithmetic, their formulas, errors with hints, receptive fields, and ViT-B/16 and Swin-T held to
torchvision's figures (the zoo's specs/vit.yaml and specs/swin_t.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SPECS, analyze_text, run

import archcalc
from archcalc import receptive

DATA = Path(__file__).parent / "data"


def rows(text: str, input: str = "8x8x4", **kw) -> dict[str, archcalc.Row]:
    an = analyze_text(f"input: {input}\nlayers:\n" + "".join(f"  - {x}\n" for x in text.split("\n") if x), **kw)
    return {r.name: r for r in an.rows}


def last(text: str, input: str = "8x8x4", **kw) -> archcalc.Row:
    return list(rows(text, input, **kw).values())[-1]


CASES = [
    # (layers, input, output shape, params, MACs) of the last layer
    ("{kind: linear, units: 6}", "8x8x4", (8, 8, 6), 4 * 6 + 6, 8 * 8 * 4 * 6),       # H·W·C·C'
    ("{kind: linear, units: 10}", "20", (10,), 20 * 10 + 10, 20 * 10),                 # n_in·n_out, as dense
    ("{kind: tokens}\n{kind: linear, units: 5, bias: false}", "2x3x4", (6, 5), 4 * 5, 6 * 4 * 5),  # L·C·C'
    # 6 tokens of 8, 2 heads of 4: in 8·24 + 24, out 8·8 + 8; L·C·3hd + 2·h·L·L·d + L·hd·C
    ("{kind: tokens}\n{kind: attention, heads: 2}", "2x3x8", (6, 8), 8 * 24 + 24 + 8 * 8 + 8,
     6 * 8 * 24 + 2 * (2 * 6 * 6 * 4) + 6 * 8 * 8),
    # head_dim 3, no projection: the output is h·d = 6 channels
    ("{kind: tokens}\n{kind: attention, heads: 2, head_dim: 3, proj: false}", "2x3x8", (6, 6), 8 * 18 + 18,
     6 * 8 * 18 + 2 * (2 * 6 * 6 * 3)),
    # 4 x 6 map, window 2: 6 windows of 4 tokens, 2 heads of 4; table (2·2 - 1)² x 2
    ("{kind: windowattention, heads: 2, window: 2}", "4x6x8", (4, 6, 8), 8 * 24 + 24 + 8 * 8 + 8 + 9 * 2,
     24 * 8 * 24 + 2 * (6 * 2 * 4 * 4 * 4) + 24 * 8 * 8),
    # 5 x 4 map, window 3: padded to 6 x 6, 4 windows of 9 tokens, 3 heads of 2
    ("{kind: windowattention, heads: 3, window: 3, shift: 1}", "5x4x6", (5, 4, 6), 6 * 18 + 18 + 36 + 6 + 25 * 3,
     36 * 6 * 18 + 2 * (4 * 3 * 9 * 9 * 2) + 36 * 6 * 6),
    ("{kind: tokens}", "3x4x5", (12, 5), 0, 0),
    ("{kind: tokens}\n{kind: tokenmap, h: 3}", "3x4x5", (3, 4, 5), 0, 0),
    ("{kind: tokens}\n{kind: tokenmap}", "3x3x5", (3, 3, 5), 0, 0),
    ("{kind: tokens}\n{kind: classtoken}", "3x4x5", (13, 5), 5, 0),
    ("{kind: tokens}\n{kind: classtoken, count: 2}", "3x4x5", (14, 5), 2 * 5, 0),
    ("{kind: tokens}\n{kind: posembed}", "3x4x5", (12, 5), 12 * 5, 0),
    ("{kind: posembed}", "3x4x5", (3, 4, 5), 3 * 4 * 5, 0),
    ("{kind: tokens}\n{kind: tokenselect, index: 11}", "3x4x5", (5,), 0, 0),
    ("{kind: slice, chunks: 2, chunk: 1}", "8x8x4", (8, 8, 2), 0, 0),
    ("{kind: slice, chunks: 4, chunk: 2}", "8x8x5", (8, 8, 1), 0, 0),   # ceil(5/4) = 2: 2, 2, 1
    ("{kind: slice, start: 1, channels: 2}", "8x8x4", (8, 8, 2), 0, 0),
    ("{kind: slice, start: 1}", "8x8x4", (8, 8, 3), 0, 0),
    ("{kind: shuffle, groups: 2}", "8x8x4", (8, 8, 4), 0, 0),
    ("{kind: patchmerge}", "8x8x4", (4, 4, 16), 0, 0),
    ("{kind: patchmerge}", "5x3x2", (3, 2, 8), 0, 0),                     # odd sides padded first
    ("{kind: tokens}\n{kind: softmax}", "3x4x5", (12, 5), 0, 0),
]


@pytest.mark.parametrize("layers,input,shape,params,macs", CASES, ids=[c[0] for c in CASES])
def test_kind_figures(layers: str, input: str, shape: tuple, params: int, macs: int) -> None:
    r = last(layers, input)
    assert (r.output_shape, r.params, r.macs) == (shape, params, macs)
    assert r.macs_formula.value == r.macs and r.trainable == r.params


def test_matmul_and_concat_along_tokens() -> None:
    rs = rows("{kind: tokens, name: t}\n{kind: linear, name: q, units: 3}\n{kind: linear, name: k, from: t, units: 3}\n"
              "{kind: matmul, name: s, from: [q, k], transpose_b: true, scale: 0.5}\n{kind: softmax, name: a}\n"
              "{kind: matmul, name: o, from: [a, k]}\n{kind: matmul, name: g, from: [t, t], transpose_a: true}\n"
              "{kind: concat, name: c, from: [o, q, k], axis: tokens}", "2x3x4")
    assert (rs["s"].output_shape, rs["s"].macs, rs["s"].params) == ((6, 6), 6 * 3 * 6, 0)   # m·k·n
    assert rs["s"].other == {"multiplies": 6 * 6}                                          # the scale
    assert (rs["o"].output_shape, rs["o"].macs, rs["o"].other) == ((6, 3), 6 * 6 * 3, {})
    assert (rs["g"].output_shape, rs["g"].macs) == ((4, 4), 4 * 6 * 4)                     # t^T·t: C x L by L x C
    assert rs["c"].output_shape == (6 + 6 + 6, 3)


def test_other_ops() -> None:
    r = last("{kind: tokens}\n{kind: attention, heads: 2}", "2x3x8")
    # bias adds: L·3hd + L·C; Q·1/sqrt(d): h·L·d; softmax: h·L·L
    assert r.other == {"bias_adds": 6 * 24 + 6 * 8, "multiplies": 2 * 6 * 4, "activations": 2 * 6 * 6}
    w = last("{kind: windowattention, heads: 2, window: 2, shift: 1}", "4x6x8")
    scores = 6 * 2 * 4 * 4  # n_w·h·T·T
    assert w.other == {"bias_adds": 24 * 24 + 24 * 8, "multiplies": 24 * 8, "elementwise_adds": 2 * scores,
                       "activations": scores}  # position bias and the shift's mask
    assert last("{kind: windowattention, heads: 2, window: 2}", "4x6x8").other["elementwise_adds"] == scores
    assert last("{kind: linear, units: 6}").other == {"bias_adds": 8 * 8 * 6}
    assert last("{kind: tokens}\n{kind: posembed}", "3x4x5").other == {"elementwise_adds": 12 * 5}


def test_window_attention_follows_torchvision_shift_rule() -> None:
    # a 7 x 7 map with window 7 (Swin-T's last stage): one window covers it, the shift is dropped
    r = last("{kind: windowattention, heads: 24, window: 7, shift: 3}", "7x7x768")
    assert "elementwise_adds" in r.other and r.other["elementwise_adds"] == 24 * 49 * 49  # no mask adds
    assert "shift [0, 0]" in r.node.kind.shape_text(list(r.input_shapes), r.output_shape)
    # a 3 x 9 map, window 3: rows covered (no shift), columns shifted
    r = last("{kind: windowattention, heads: 1, window: 3, shift: 1}", "3x9x2")
    assert "shift [0, 1]" in r.node.kind.shape_text([(3, 9, 2)], (3, 9, 2))


def test_formulas_explain() -> None:
    r = last("{kind: tokens}\n{kind: attention, heads: 12}", "14x14x768")
    assert r.macs_formula.symbolic() == "L·C·3·h·d + h·L·L·d + h·L·L·d + L·h·d·C"
    assert r.macs_formula.numeric() == "196·768·2304 + 12·196·196·64 + 12·196·196·64 + 196·768·768"
    assert r.params_formula.symbolic() == "C·3·h·d + 3·h·d + h·d·C + C"
    assert last("{kind: linear, units: 6}").macs_formula.explain() == "H·W·C·C' = 8·8·4·6 = 1,536"
    assert last("{kind: tokens}\n{kind: linear, units: 5}", "2x3x4").macs_formula.explain() == "L·C·C' = 6·4·5 = 120"
    assert last("{kind: dense, units: 5}", "20").macs_formula.explain() == "n_in·n_out = 20·5 = 100"
    w = last("{kind: windowattention, heads: 3, window: 3}", "5x4x6")
    assert w.macs_formula.symbolic() == "H_p·W_p·C·3C + n_w·h·T·T·d + n_w·h·T·T·d + H_p·W_p·C·C"
    assert w.params_formula.symbolic() == "C·3C + 3C + C·C + C + (2w - 1)²·h"
    b = last("{kind: tokens}\n{kind: attention, heads: 2}", "2x3x8", batch=2)
    assert b.macs_formula.explain().startswith("N·(L·C·3·h·d + ")
    assert b.macs == 2 * (6 * 8 * 24 + 2 * 2 * 36 * 4 + 6 * 64)


def test_shape_texts() -> None:
    an = analyze_text("input: 14x14x768\nlayers:\n  - {kind: tokens}\n  - {kind: classtoken}\n"
                      "  - {kind: tokenselect}\n")
    texts = [archcalc.walk.explain_shape(r) for r in an.rows[1:]]
    assert texts == ["L' = H·W = 14·14 = 196; C' = C = 768", "L' = L + count = 196 + 1 = 197; C' = C = 768",
                     "token 0 of 197 x 768 -> n' = C = 768"]
    t = archcalc.walk.explain_shape(last("{kind: slice, chunks: 3, chunk: 2}", "2x2x10"))
    assert t == "chunk 2 of 3: channels 8 to 9 of 10: C' = 2"  # ceil(10/3) = 4: 0-3, 4-7, 8-9


ERRORS = [
    ("{kind: tokens}\n{kind: attention, heads: 3}", "2x2x8", "8 channels do not divide into heads=3",
     "use a number of heads that divides 8, or give head_dim"),
    ("{kind: attention, heads: 2}", "8x8x4", "attention needs a sequence of tokens (L x C), received an H x W x C "
     "map 8 x 8 x 4", "`tokens` turns an H x W x C map into H·W tokens"),
    ("{kind: dense, units: 3}", "8x8x4", "dense needs a flat vector, received an H x W x C map 8 x 8 x 4",
     "to classify the whole map, add `flatten` (or `globalavgpool`) before it; for a Linear applied at every "
     "position (nn.Linear on N x H x W x C, ConvNeXt's MLP), use `linear`"),
    ("{kind: tokens}\n{kind: dense, units: 3}", "2x2x4", "received a sequence of 4 tokens of 4 channels (4 x 4)",
     "for a Linear applied to every token, use `linear`; to classify, take the class token with `tokenselect`"),
    ("{kind: tokens}\n{kind: conv, filters: 2, kernel: 1}", "2x2x4", "conv needs an H x W x C input, received a "
     "sequence of 4 tokens", "turn the tokens back into a map with `tokenmap` (h, w) first"),
    ("{kind: tokens}\n{kind: tokenselect, index: 12}", "3x4x5", "token 12 is past the end of a sequence of 12 "
     "tokens of 5 channels (12 x 5)", "tokens are numbered 0 to 11"),
    ("{kind: tokens}\n{kind: tokenmap, h: 5}", "3x4x5", "12 tokens do not divide into h = 5", "use a divisor of 12"),
    ("{kind: tokens}\n{kind: tokenmap}", "3x4x5", "12 tokens make no square map", "h·w = 12"),
    ("{kind: tokens}\n{kind: tokenmap, h: 2, w: 3}", "3x4x5", "h·w = 2·3 = 6 is not the number of tokens, 12",
     "h·w must be 12"),
    ("{kind: tokenmap, h: 2}", "3x4x5", "tokenmap needs a sequence of tokens", "`tokens` turns"),
    ("{kind: slice, chunks: 4, chunk: 3}", "8x8x5", "chunk 3 does not exist: 5 channels make 3 chunks "
     "(ceil(5/4) = 2 each)", "chunks are numbered 0 to 2"),
    ("{kind: slice, chunks: 2, start: 1}", "8x8x4", "give either chunks and chunk, or start and channels",
     "x.chunk(n)[i] is `chunks: n, chunk: i`"),
    ("{kind: slice, start: 4}", "8x8x4", "start 4 is past the last of 4 channels", "numbered 0 to 3"),
    ("{kind: slice, start: 1, channels: 4}", "8x8x4", "channels 1 to 4 run past the last of 4 channels",
     "take at most 3 channels from 1"),
    ("{kind: shuffle, groups: 3}", "8x8x4", "4 channels do not divide into groups=3", "divides 4"),
    ("{kind: windowattention, heads: 2, window: 3, shift: 3}", "6x6x4", "shift 3 is not smaller than the window's "
     "3 rows", "Swin shifts by half the window: 1"),
    ("{kind: windowattention, heads: 2}", "6", "windowattention needs an H x W x C input", "flatten"),
    ("{kind: tokens, name: t}\n{kind: matmul, from: [t, t]}", "2x2x3", "A is 4 x 3 and B is 4 x 3: the inner sizes "
     "3 and 4 differ", "Q·K^T of two L x d sequences is `transpose_b: true`"),
    ("{kind: tokens, name: t}\n{kind: linear, units: 2}\n{kind: concat, from: [t, linear1], axis: tokens}", "2x2x3",
     "concat along tokens needs sequences of equal C; input 1 is 4 x 3, input 2 is 4 x 2",
     "project the tokens to the same channels with `linear` first"),
    ("{kind: tokens, name: t}\n{kind: classtoken}\n{kind: concat, from: [t, classtoken1]}", "2x2x3",
     "concat needs branches with equal token count; input 1 is 4 x 3, input 2 is 5 x 3",
     "to join sequences of tokens one after another, write `axis: tokens`"),
    ("{kind: concat, from: [input, input], axis: tokens}", "2x2x3", "concat along tokens (input 1) needs a "
     "sequence of tokens", "`tokens` turns"),
    ("{kind: tokens}\n{kind: globalavgpool}", "2x2x3", "globalavgpool needs an H x W x C input, received a "
     "sequence", "`tokenmap`"),
]


@pytest.mark.parametrize("layers,input,message,hint", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_say_what_to_change(layers: str, input: str, message: str, hint: str) -> None:
    with pytest.raises(archcalc.SpecError) as e:
        last(layers, input)
    d = e.value.diagnostics[0]
    assert message in d.message and hint in (d.hint or ""), (d.message, d.hint)
    assert d.loc is not None and d.loc.path == "test.yaml" and d.loc.line >= 3


def test_error_points_at_the_field_in_the_cli(write) -> None:
    p = write("input: 2x2x8\nlayers:\n  - {kind: tokens}\n  - {kind: attention, heads: 3}\n")
    r = run("summarize", str(p))
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert f"{p}:4:30" in r.stderr and "8 channels do not divide into heads=3" in r.stderr
    assert "hint: use a number of heads that divides 8, or give head_dim" in r.stderr


def test_receptive_fields() -> None:
    an = analyze_text("input: 8x8x3\nlayers:\n  - {kind: conv, name: c, filters: 4, kernel: 2, stride: 2}\n"
                      "  - {kind: tokens, name: t}\n  - {kind: linear, name: l, units: 4}\n"
                      "  - {kind: posembed, name: p}\n  - {kind: classtoken, name: cls}\n"
                      "  - {kind: attention, name: a, heads: 2}\n  - {kind: tokenselect, name: s}\n"
                      "  - {kind: linear, name: m, from: p, units: 4}\n  - {kind: tokenmap, name: back}\n"
                      "  - {kind: windowattention, name: w, heads: 2, window: 2}\n"
                      "  - {kind: windowattention, name: w1, from: back, heads: 2, window: 4}\n"
                      "  - {kind: conv, name: after, from: w, filters: 2, kernel: 1}\n"
                      "  - {kind: add, name: sum, from: [back, w1]}\n")
    f = {r.name: x for r, x in zip(an.rows, receptive.fields(an), strict=True)}
    conv = f["c"]
    assert conv.size == (2, 2) and conv.jump == (2, 2)
    for name in ("t", "l", "p", "m", "back"):  # tokens and per-token layers keep the field of their position
        assert (f[name].size, f[name].jump, f[name].start) == (conv.size, conv.jump, conv.start), name
    assert f["cls"] is None  # token 0 is the learned class token: no input pixel
    assert f["a"].mixing == "global" and f["s"].mixing == "global" and f["a"].text() == "global (every input pixel)"
    assert f["w"].mixing == "windows" and f["after"].mixing == "windows"  # 4 windows of 2 x 2 on 4 x 4
    assert f["w1"].mixing == "global"  # one 4 x 4 window covers the map
    assert f["sum"].mixing == "global"  # global wins where branches join
    assert f["a"].to_dict() == {"size": None, "jump": None, "start": None, "spatial": False, "mixing": "global"}
    merged = analyze_text("input: 8x8x3\nlayers:\n  - {kind: patchmerge}\n")
    pm = receptive.fields(merged)[1]
    assert (pm.size, pm.jump, pm.start) == ((2, 2), (2, 2), (0.5, 0.5))  # a 2 x 2 window, stride 2


def test_kinds_cli_and_schema_know_the_new_kinds() -> None:
    r = run("kinds", "windowattention")
    assert r.exit_code == 0 and "window" in r.stdout and "[h, w]" in r.stdout and "shift" in r.stdout
    assert "inputs: 2" in run("kinds", "matmul").stdout
    schema = json.loads(run("schema").stdout)
    for k in ("linear", "attention", "windowattention", "matmul", "tokens", "tokenmap", "classtoken", "posembed",
              "tokenselect", "slice", "shuffle", "patchmerge"):
        assert f"kind.{k}" in schema["$defs"], k
    concat = schema["$defs"]["kind.concat"]["properties"]["axis"]
    assert concat["default"] == "channels" and {"enum": ["channels", "tokens"]} in concat["anyOf"]


def test_graph_labels_print_sequences() -> None:
    an = analyze_text("input: 4x4x8\nlayers:\n  - {kind: tokens}\n  - {kind: attention, heads: 2}\n")
    from archcalc import diagram
    text = diagram.render(an, "mermaid")
    assert "attention1<br/>attention<br/>16 x 8<br/>params 288, MACs" in text


# --- ViT-B/16 and Swin-T against torchvision --------------------------------------------------

@pytest.fixture(scope="module")
def vit() -> archcalc.Analysis:
    return archcalc.analyze(SPECS / "vit.yaml", variant="vit_b_16")


@pytest.fixture(scope="module")
def swin() -> archcalc.Analysis:
    return archcalc.analyze(SPECS / "swin_t.yaml")


def test_vit_b_16(vit: archcalc.Analysis) -> None:
    t = vit.totals
    assert t.trainable_params == 86_567_656  # torchvision ViT_B_16_Weights num_params
    # conv_proj 196·768·(16·16·3); per block qkv 197·768·2304, QK^T and AV 2·12·197·197·64, out 197·768·768,
    # MLP 2·197·768·3072; head 768·1000
    per_block = 197 * 768 * 2304 + 2 * 12 * 197 * 197 * 64 + 197 * 768 * 768 + 2 * 197 * 768 * 3072
    assert t.macs == 196 * 768 * (16 * 16 * 3) + 12 * per_block + 768 * 1000 == 17_563_828_224
    assert round(t.macs / 1e9, 3) == 17.564  # torchvision _ops
    attn = [r for r in vit.rows if r.kind == "attention"]
    products = sum(r.macs_formula.terms[1].value + r.macs_formula.terms[2].value for r in attn)
    assert len(attn) == 12 and products == 715_327_488  # the figure: 4.6% of the MACs
    by = {r.name: r for r in vit.folded(1)}
    # torchvision's module tree: conv_proj, class_token, encoder.pos_embedding, encoder.layers[i], encoder.ln, heads
    assert by["conv_proj"].trainable == 590_592 and by["class_token"].trainable == 768
    assert by["pos_embedding"].trainable == 197 * 768 and by["head"].trainable == 769_000
    assert all(by[f"encoder_layer_{i}"].trainable == 7_087_872 for i in range(1, 13))  # encoder.layers[0]
    rs = {r.name: r for r in vit.rows}
    assert rs["encoder_layer_1/self_attention"].params == 2_362_368   # nn.MultiheadAttention(768, 12)
    assert rs["class_out"].output_shape == (768,) and rs["encoder_ln"].output_shape == (197, 768)


def test_swin_t(swin: archcalc.Analysis) -> None:
    t = swin.totals
    assert t.trainable_params == 28_288_354  # torchvision Swin_T_Weights num_params
    # FlopCounterMode on torchvision 0.29.1's swin_t (torch 2.14.1, CPU, batch 1) printed 8,981,133,312 FLOPs:
    # twice these MACs (conv, linears and the attention products, all through aten.mm/bmm)
    assert t.macs == 8_981_133_312 // 2 == 4_490_566_656
    assert round(t.macs / 1e9, 3) == 4.491  # torchvision _ops
    by = {r.name: r for r in swin.folded(2)}
    # sum(p.numel()) of torchvision's swin_t modules: features[1][0], [1][1], [5][0], [7][0]
    assert by["stage1/block1"].trainable == by["stage1/block2"].trainable == 112_347
    assert by["stage3/block1"].trainable == 1_776_492 and by["stage4/block1"].trainable == 7_091_928
    stages = {r.name: r.trainable for r in swin.folded(1)}
    assert stages["merge1"] == 74_496 and stages["merge3"] == 1_182_720  # features[2], features[6]
    # features[1], [3], [5], [7]; features[0] (the patch embedding and its norm)
    assert [stages[f"stage{i}"] for i in range(1, 5)] == [224_694, 891_756, 10_658_952, 14_183_856]
    assert stages["patch_embed"] + stages["patch_norm"] == 4_896
    rs = {r.name: r for r in swin.rows}
    a = rs["stage1/block2/attn"]  # 56 x 56, window 7: 64 windows of 49 tokens, 3 heads of 32
    assert a.macs == 56 * 56 * 96 * 288 + 2 * (64 * 3 * 49 * 49 * 32) + 56 * 56 * 96 * 96
    assert a.params == 96 * 288 + 288 + 96 * 96 + 96 + 13 * 13 * 3
    assert rs["stage4/block2/attn"].other["elementwise_adds"] == 24 * 49 * 49  # 7 x 7: one window, no shift


def test_verify_runs_every_new_kind(tmp_path: Path) -> None:
    spec = DATA / "kinds_b_all.yaml"
    an = archcalc.analyze(spec)
    used = {r.kind for r in an.rows}
    assert {"linear", "attention", "windowattention", "matmul", "tokens", "tokenmap", "classtoken", "posembed",
            "tokenselect", "slice", "shuffle", "patchmerge", "concat", "softmax"} <= used
    r = run("verify", str(spec), "--batch", "2")
    assert r.exit_code == 0, r.stderr
    assert f"all {len(an.rows)} layers agree" in r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["vit.yaml@vit_b_16", "swin_t.yaml"])
def test_executor_agrees_on_vit_and_swin(spec: str) -> None:
    from archcalc.cli.verify import compare
    from archcalc.execute import execute
    an = archcalc.analyze(str(SPECS / spec))
    ex = execute(an.graph, keep=False)
    assert compare(an, ex) == []
    assert ex.macs == an.totals.macs and ex.params == an.totals.params
