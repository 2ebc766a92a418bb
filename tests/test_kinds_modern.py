"""Issue 14's new kinds (part A), analytically: shapes, parameters, MACs and other ops on small
inputs (expected values written as arithmetic), errors, receptive fields and `archcalc kinds`."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from conftest import analyze_text, run
from hypothesis import given
from hypothesis import strategies as st
from test_kinds import one

import archcalc
from archcalc import receptive
from archcalc.kinds.pool import adaptive_largest, adaptive_total

CASES = [
    # (layer, input, output shape, trainable params, MACs)
    *[(f"{{kind: {k}}}", "8x8x4", (8, 8, 4), 0, 0) for k in ("silu", "gelu", "hardsigmoid", "leakyrelu", "identity",
                                                                "droppath")],
    ("{kind: gelu, approximate: tanh}", "8x8x4", (8, 8, 4), 0, 0),
    ("{kind: prelu}", "8x8x4", (8, 8, 4), 1, 0),                      # one shared slope
    ("{kind: prelu, per_channel: true}", "8x8x4", (8, 8, 4), 4, 0),   # one per channel
    ("{kind: layernorm}", "8x8x4", (8, 8, 4), 2 * 4, 0),              # gamma, beta: ConvNeXt's LayerNorm2d
    ("{kind: layernorm, bias: false}", "8x8x4", (8, 8, 4), 4, 0),
    ("{kind: layernorm, affine: false}", "8x8x4", (8, 8, 4), 0, 0),
    ("{kind: layernorm}", "20", (20,), 2 * 20, 0),
    ("{kind: groupnorm, groups: 2}", "8x8x4", (8, 8, 4), 2 * 4, 0),
    ("{kind: groupnorm, groups: 4, affine: false}", "8x8x4", (8, 8, 4), 0, 0),
    ("{kind: scale}", "8x8x4", (8, 8, 4), 4, 0),                      # ConvNeXt's layer scale: gamma of C
    # transposed convolution: H' = (H - 1)·s - 2p + d(k - 1) + output_padding + 1; MACs H·W·C·(k·k·C'/g)
    ("{kind: convtranspose, filters: 256, kernel: 2, stride: 2}", "28x28x512", (56, 56, 256),
     2 * 2 * 256 * 512 + 256, 28 * 28 * 512 * (2 * 2 * 256)),       # U-Net's up-convolution
    ("{kind: convtranspose, filters: 3, kernel: 4, stride: 2, padding: 1, bias: false}", "32x32x64", (64, 64, 3),
     4 * 4 * 3 * 64, 32 * 32 * 64 * (4 * 4 * 3)),                    # DCGAN's last layer: (32 - 1)·2 - 2 + 3 + 1
    ("{kind: convtranspose, filters: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1}", "7x5x4",
     (14, 10, 6), 3 * 3 * 6 * 4 + 6, 7 * 5 * 4 * (3 * 3 * 6)),        # (7 - 1)·2 - 2 + 2 + 1 + 1 = 14
    ("{kind: convtranspose, filters: 4, kernel: 3, stride: 2, dilation: 2, padding: 1, output_padding: 1}", "5x5x2",
     (12, 12, 4), 3 * 3 * 4 * 2 + 4, 5 * 5 * 2 * (3 * 3 * 4)),        # (5 - 1)·2 - 2 + 2·2 + 1 + 1 = 12
    ("{kind: convtranspose, filters: 6, kernel: 3, groups: 3, padding: [0, 1, 2, 0]}", "5x5x6", (6, 5, 6),
     3 * 3 * (6 // 3) * 6 + 6, 5 * 5 * 6 * (3 * 3 * 2)),              # crops per side: 7 - 1 = 6, 7 - 2 = 5
    ("{kind: convtranspose, filters: 2, kernel: 3, stride: 2, padding: same}", "5x7x3", (10, 14, 2),
     3 * 3 * 2 * 3 + 2, 5 * 7 * 3 * (3 * 3 * 2)),                    # TensorFlow's same: H·s
    # adaptive pooling: the output size is given
    ("{kind: adaptiveavgpool, size: 7}", "7x7x512", (7, 7, 512), 0, 0),    # VGG's, the identity at 224
    ("{kind: adaptiveavgpool, size: [6, 6]}", "13x13x256", (6, 6, 256), 0, 0),  # AlexNet's
    ("{kind: adaptivemaxpool, size: [3, 5]}", "4x9x2", (3, 5, 2), 0, 0),
]


@pytest.mark.parametrize("layer,input,shape,params,macs", CASES, ids=[f"{c[0]}@{c[1]}" for c in CASES])
def test_figures(layer: str, input: str, shape: tuple, params: int, macs: int) -> None:
    r = one(layer, input)
    assert (r.output_shape, r.trainable, r.non_trainable, r.macs) == (shape, params, 0, macs)
    assert r.macs_formula.value == r.macs and r.params_formula.value == r.params


@pytest.mark.parametrize("layer,input,category,count", [
    ("{kind: silu}", "8x8x4", "activations", 8 * 8 * 4),
    ("{kind: gelu}", "8x8x4", "activations", 8 * 8 * 4),
    ("{kind: hardsigmoid}", "8x8x4", "activations", 8 * 8 * 4),
    ("{kind: leakyrelu}", "8x8x4", "comparisons", 8 * 8 * 4),
    ("{kind: prelu}", "8x8x4", "multiplies", 8 * 8 * 4),
    ("{kind: layernorm}", "8x8x4", "normalization", (5 + 2) * 8 * 8 * 4),  # mean, var, scale; gamma, beta
    ("{kind: layernorm, bias: false}", "8x8x4", "normalization", (5 + 1) * 8 * 8 * 4),
    ("{kind: groupnorm, groups: 2, affine: false}", "8x8x4", "normalization", 5 * 8 * 8 * 4),
    ("{kind: scale}", "8x8x4", "multiplies", 8 * 8 * 4),
    ("{kind: convtranspose, filters: 3, kernel: 2, stride: 2}", "8x8x4", "bias_adds", 16 * 16 * 3),
    # adaptive windows over 8 to 3: [0, 3), [2, 6), [5, 8): 3 + 4 + 3 = 10 = 8 + 3 - gcd(8, 3)
    ("{kind: adaptiveavgpool, size: 3}", "8x8x4", "elementwise_adds", 4 * (10 * 10 - 3 * 3)),
    ("{kind: adaptiveavgpool, size: 3}", "8x8x4", "multiplies", 3 * 3 * 4),
    ("{kind: adaptivemaxpool, size: [4, 3]}", "8x8x4", "comparisons", 4 * (8 * 10 - 4 * 3)),  # 8 = 4 windows of 2
])
def test_other_ops(layer: str, input: str, category: str, count: int) -> None:
    assert one(layer, input).other[category] == count


@pytest.mark.parametrize("inputs,shape,multiplies", [
    (("8x8x4", "1x1x4"), (8, 8, 4), 8 * 8 * 4),       # squeeze-excitation
    (("1x1x4", "8x8x4"), (8, 8, 4), 8 * 8 * 4),
    (("8x8x4", "4"), (8, 8, 4), 8 * 8 * 4),           # a flat gate of C
    (("8x8x4", "8x8x1"), (8, 8, 4), 8 * 8 * 4),       # a spatial gate
    (("8x8x4", "8x8x4", "8x8x4"), (8, 8, 4), 2 * 8 * 8 * 4),
    (("1x1x4", "4", "8x8x4"), (8, 8, 4), 4 + 8 * 8 * 4),  # the two gates first, then the map
])
def test_multiply_shapes(inputs: tuple, shape: tuple, multiplies: int) -> None:
    src = {"8x8x4": "{kind: conv, name: %s, filters: 4, kernel: 1, from: input}",
           "1x1x4": "{kind: globalavgpool, name: %s, keepdims: true, from: input}",
           "4": "{kind: globalavgpool, name: %s, from: input}",
           "8x8x1": "{kind: conv, name: %s, filters: 1, kernel: 1, from: input}"}
    names = [f"in{i}" for i in range(len(inputs))]
    layers = [src[s] % n for s, n in zip(inputs, names, strict=True)]
    layers.append(f"{{kind: multiply, name: m, from: [{', '.join(names)}]}}")
    an = analyze_text("input: 8x8x4\nlayers:\n" + "".join(f"  - {x}\n" for x in layers))
    r = an.rows[-1]
    assert (r.output_shape, r.params, r.macs, r.other) == (shape, 0, 0, {"multiplies": multiplies})


def test_sequences() -> None:
    """An L x C sequence (through the API today): element-wise kinds keep it; layernorm normalises each token."""
    spec = archcalc.load(text="input: 1x1x1\nlayers:\n  - {kind: layernorm}\n  - {kind: gelu}\n  - {kind: scale}\n"
                              "  - {kind: prelu, per_channel: true}\n", path="seq.yaml")
    an = archcalc.analyze(spec, input_shape=(197, 768))
    assert [r.output_shape for r in an.rows[1:]] == [(197, 768)] * 4
    assert [r.params for r in an.rows[1:]] == [2 * 768, 0, 768, 768]
    assert an.rows[1].other["normalization"] == 7 * 197 * 768
    assert an.rows[1].other_formulas["normalization"].explain() == "(L'·C')·(5 + 2) = (197·768)·7 = 1,059,072"


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer,input,message,hint", [
    ("{kind: groupnorm, groups: 5}", "4x4x12", "groups=5 does not divide the 12 channels",
     "use a divisor of 12, such as 4 or 6"),
    ("{kind: convtranspose, filters: 4, kernel: 3, stride: 2, output_padding: 2}", "4x4x4",
     "output_padding 2 along H is not smaller than the stride 2 or the dilation 1", "use at most 1"),
    ("{kind: convtranspose, filters: 4, kernel: 3, padding: 3}", "4x4x4",
     "padding 3 + 3 leaves no output along H: the full output has (4 - 1)·1 + 3 = 6 values", "crop fewer than 6"),
    ("{kind: convtranspose, filters: 4, kernel: 3, padding: same, output_padding: 1}", "4x4x4",
     "output_padding goes with a numeric padding", "drop output_padding (same already gives H·s)"),
    ("{kind: convtranspose, filters: 3, kernel: 3, groups: 2}", "4x4x4", "filters=3 do not divide into groups=2",
     "use a multiple of 2 filters"),
    ("{kind: convtranspose, filters: 2, kernel: 2}", "16", "convtranspose needs an H x W x C input", None),
    ("{kind: adaptiveavgpool, size: [2, 0]}", "4x4x4", "size: must be at least 1, received 0", None),
    ("{kind: adaptivemaxpool, size: 2}", "16", "adaptivemaxpool needs an H x W x C input", None),
    ("{kind: gelu, approximate: erf}", "4x4x4", "approximate: received 'erf'", "expected one of: none, tanh"),
    ("{kind: droppath, rate: 1.5}", "4x4x4", "rate: must be at least 0, at most 1, received 1.5", None),
    ("{kind: leakyrelu, slope: -0.1}", "4x4x4", "slope: must be at least 0, received -0.1", None),
    ("{kind: prelu, per_channel: 2}", "4x4x4", "per_channel: expected true or false", None),
])
def test_errors(layer: str, input: str, message: str, hint: str | None) -> None:
    with pytest.raises(archcalc.SpecError) as e:
        one(layer, input)
    assert message in e.value.message and e.value.loc.line == 3
    if hint is not None:
        assert e.value.hint is not None and e.value.hint.startswith(hint)


def test_multiply_error_names_both_inputs() -> None:
    text = ("input: 4x4x4\nlayers:\n  - {kind: globalavgpool, name: g}\n  - {kind: dense, name: d, units: 3}\n"
            "  - {kind: multiply, from: [input, d]}\n")
    with pytest.raises(archcalc.SpecError) as e:
        analyze_text(text)
    assert e.value.message.endswith("multiply cannot broadcast input 1, 4 x 4 x 4, with input 2, 3: aligned from "
                                     "the last axis, sizes must be equal or 1 (4 and 3 are not)")
    assert (e.value.loc.line, e.value.loc.col) == (5, 28)  # at `from:`
    assert "1 x 1 x C (globalavgpool with keepdims: true)" in e.value.hint


def test_groupnorm_refuses_a_sequence() -> None:
    spec = archcalc.load(text="input: 1x1x1\nlayers:\n  - {kind: groupnorm, groups: 2}\n", path="s.yaml")
    with pytest.raises(archcalc.SpecError, match="received the sequence 5 x 8") as e:
        archcalc.analyze(spec, input_shape=(5, 8))
    assert "use `layernorm` for tokens" in e.value.hint


# --- adaptive windows ---------------------------------------------------------------------------

@given(n=st.integers(1, 200), o=st.integers(1, 200))
def test_adaptive_window_sums_and_largest(n: int, o: int) -> None:
    """The closed forms against PyTorch's windows [floor(i·n/o), ceil((i+1)·n/o)), enumerated."""
    sizes = [math.ceil((i + 1) * n / o) - math.floor(i * n / o) for i in range(o)]
    assert adaptive_total(n, o) == sum(sizes)
    assert adaptive_largest(n, o) == max(sizes)


def test_adaptive_windows_of_a_huge_output_are_counted_without_enumerating_them() -> None:
    r = one("{kind: adaptiveavgpool, size: [1000000000000, 1]}", "7x1x1")
    # 10^12 windows over 7 rows: one row each, but for the 6 that straddle a row boundary, which read two:
    # ΣK = 7 + 10^12 - gcd(7, 10^12) = 10^12 + 6 values, so 6 adds
    assert r.output_shape == (10**12, 1, 1) and r.other["elementwise_adds"] == 6


# --- receptive fields ---------------------------------------------------------------------------

def fields(text: str) -> dict[str, receptive.RF | None]:
    an = analyze_text(text)
    return {r.name: f for r, f in zip(an.rows, receptive.fields(an), strict=True)}


def rf(size: float, jump: float, start: float) -> tuple:
    return ((Fraction(size),) * 2, (Fraction(jump),) * 2, (Fraction(start),) * 2)


def test_receptive_field_of_transposed_convolutions() -> None:
    f = fields("input: 8x8x4\nlayers:\n  - {kind: conv, name: c, filters: 4, kernel: 3}\n"
               "  - {kind: convtranspose, name: up, filters: 4, kernel: 2, stride: 2}\n"
               "  - {kind: convtranspose, name: same, filters: 4, kernel: 3, padding: 1}\n"
               "  - {kind: convtranspose, name: dcgan, filters: 4, kernel: 3, stride: 2, padding: 1,"
               " output_padding: 1}\n")
    # conv: r 3, j 1, s 1. U-Net's 2 x 2 up-conv: every output from one input, neighbours 1/2 apart, output 0
    # at 1 - 1/4 (as upsampling by 2: s + (1/(2·2) - 1/2)·j)
    assert (f["up"].size, f["up"].jump, f["up"].start) == rf(3, Fraction(1, 2), Fraction(3, 4))
    # a 3 x 3, stride 1, padding 1 transposed conv is a 3 x 3 same conv: r + 2j (j = 1/2 here)
    assert (f["same"].size, f["same"].jump, f["same"].start) == rf(4, Fraction(1, 2), Fraction(3, 4))
    # stride 2, kernel 3: an output reads one or two inputs: r + (ceil(3/2) - 1)·j; output 0 = input 0 (+ p - 1)
    assert (f["dcgan"].size, f["dcgan"].jump, f["dcgan"].start) == rf(4 + Fraction(1, 2), Fraction(1, 4),
                                                                       Fraction(3, 4))


def test_receptive_field_of_adaptive_pooling_and_gates() -> None:
    f = fields("input: 6x5x4\nlayers:\n  - {kind: adaptiveavgpool, name: even, size: [3, 3], from: input}\n"
               "  - {kind: conv, name: x, filters: 4, kernel: 3, padding: 1, from: input}\n"
               "  - {kind: globalavgpool, name: g, keepdims: true}\n  - {kind: conv, name: fc, filters: 4, kernel: 1}\n"
               "  - {kind: sigmoid, name: gate}\n  - {kind: multiply, name: se, from: [x, gate]}\n")
    # 6 -> 3: windows of 2, 2 apart (a 2 x 2 pool); 5 -> 3: windows [0, 2), [1, 4), [3, 5), at most 3, 5/3 apart
    e = f["even"]
    assert (e.size, e.jump, e.start) == ((2, 3), (2, Fraction(5, 3)), (Fraction(1, 2), Fraction(1, 2)))
    # the gate depends on every pixel: the hull covers the image, [-1, 6] along H; the jump stays the map's
    se = f["se"]
    assert (se.size, se.jump, se.start) == ((8, 7), (1, 1), (Fraction(5, 2), 2)) and se.spatial


# --- archcalc kinds, schema -----------------------------------------------------------------------

@pytest.mark.parametrize("name,words", [
    ("convtranspose", ["H' = (H - 1)·s", "output_padding", "MACs   = H·W·n_c·(f_h·f_w·n_c'/g)", "same"]),
    ("layernorm", ["over the last axis", "affine", "bias", "eps"]),
    ("adaptiveavgpool", ["[floor(i·H/H'), ceil((i+1)·H/H'))", "size"]),
    ("multiply", ["broadcast", "inputs: 2 or more"]),
    ("gelu", ["approximate", "none | tanh"]),
])
def test_kinds_command_describes_them(name: str, words: list[str]) -> None:
    out = run("kinds", name)
    assert out.exit_code == 0
    for w in words:
        assert w in out.output, w
