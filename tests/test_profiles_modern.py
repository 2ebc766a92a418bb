"""The convention profiles of issue 14's new kinds (part A) against what each tool printed.

Every figure is in tests/data/measured_modern.json, printed by tests/data/measure_modern.py
(torch 2.13 CPU, torchinfo 1.8.0, ptflops 0.7.5, fvcore 0.1.5, thop 0.1.1, FlopCounterMode) for
small torch modules (batch 1 and 2; module and functional forms) and for ModernA, the plain-torch
twin of tests/data/modern_a.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import analyze_text

import archcalc
from archcalc import profiles

DATA = Path(__file__).parent / "data"
ROWS = json.loads((DATA / "measured_modern.json").read_text(encoding="utf-8"))
TOOLS = ("torchinfo", "ptflops", "ptflops-nofunc", "fvcore", "thop", "flopcounter")
GATE = "{kind: globalavgpool, name: g, keepdims: true}\n  - {kind: multiply, name: op, from: [input, g]}"

#: the torch code measured -> (the archcalc layer, its torch op)
LAYERS = {
    "SiLU": ("{kind: silu, name: op}", "SiLU"), "F.silu": ("{kind: silu, name: op}", "F.silu"),
    "GELU": ("{kind: gelu, name: op}", "GELU"), "GELU(tanh)": ("{kind: gelu, name: op, approximate: tanh}", "GELU"),
    "F.gelu": ("{kind: gelu, name: op}", "F.gelu"),
    "Hardsigmoid": ("{kind: hardsigmoid, name: op}", "Hardsigmoid"),
    "F.hardsigmoid": ("{kind: hardsigmoid, name: op}", "F.hardsigmoid"),
    "LeakyReLU": ("{kind: leakyrelu, name: op, slope: 0.1}", "LeakyReLU"),
    "F.leaky_relu": ("{kind: leakyrelu, name: op, slope: 0.1}", "F.leaky_relu"),
    # in place (issue 17): the same counts as the op itself, in every tool
    "SiLU(inplace=True)": ("{kind: silu, name: op}", "SiLU(inplace=True)"),
    "F.silu(inplace=True)": ("{kind: silu, name: op}", "F.silu(inplace=True)"),
    "Hardsigmoid(inplace=True)": ("{kind: hardsigmoid, name: op}", "Hardsigmoid(inplace=True)"),
    "F.hardsigmoid(inplace=True)": ("{kind: hardsigmoid, name: op}", "F.hardsigmoid(inplace=True)"),
    "LeakyReLU(inplace=True)": ("{kind: leakyrelu, name: op, slope: 0.1}", "LeakyReLU(inplace=True)"),
    "F.leaky_relu(inplace=True)": ("{kind: leakyrelu, name: op, slope: 0.1}", "F.leaky_relu(inplace=True)"),
    "PReLU(1)": ("{kind: prelu, name: op}", "PReLU"),
    "PReLU(C)": ("{kind: prelu, name: op, per_channel: true}", "PReLU"),
    "F.prelu(C)": ("{kind: prelu, name: op, per_channel: true}", "F.prelu"),
    "LayerNorm2d": ("{kind: layernorm, name: op}", "LayerNorm2d"),
    "LayerNorm": ("{kind: layernorm, name: op}", "LayerNorm"),
    "LayerNorm(affine=False)": ("{kind: layernorm, name: op, affine: false}", "LayerNorm"),
    "LayerNorm(bias=False)": ("{kind: layernorm, name: op, bias: false}", "LayerNorm"),
    "F.layer_norm": ("{kind: layernorm, name: op}", "F.layer_norm"),
    "GroupNorm(2)": ("{kind: groupnorm, name: op, groups: 2}", "GroupNorm"),
    "GroupNorm(2, affine=False)": ("{kind: groupnorm, name: op, groups: 2, affine: false}", "GroupNorm"),
    "F.group_norm(2)": ("{kind: groupnorm, name: op, groups: 2}", "F.group_norm"),
    "x * x.mean((2, 3), keepdim=True)": (GATE, "*"),
    "torch.mul(x, x.mean((2, 3), keepdim=True))": (GATE, "torch.mul"),
    "x.mul(x.mean((2, 3), keepdim=True))": (GATE, "torch.mul"),  # Tensor.mul: patched as torch.mul is
    "x * x": ("{kind: multiply, name: op, from: [input, input]}", "*"),
    "torch.mul(x, x)": ("{kind: multiply, name: op, from: [input, input]}", "torch.mul"),
    "gamma * x": ("{kind: scale, name: op}", "*"), "torch.mul(gamma, x)": ("{kind: scale, name: op}", "torch.mul"),
    "Identity": ("{kind: identity, name: op}", "Identity"),
    "StochasticDepth": ("{kind: droppath, name: op, rate: 0.1}", "StochasticDepth"),
}


def _layer(op: str) -> tuple[str, str]:
    if op in LAYERS:
        return LAYERS[op]
    if op.startswith("ConvTranspose2d"):  # ConvTranspose2d(C_in, C_out, k, s, p, output_padding, groups, bias, d)
        import ast
        _, co, k, s, p, opad, g, b, d = ast.literal_eval(op[len("ConvTranspose2d"):])
        def v(x):  # noqa: E306
            return f"[{x[0]}, {x[1]}]" if isinstance(x, tuple) else x
        return (f"{{kind: convtranspose, name: op, filters: {co}, kernel: {v(k)}, stride: {v(s)}, padding: {v(p)}, "
                f"output_padding: {v(opad)}, groups: {g}, bias: {str(b).lower()}, dilation: {v(d)}}}",
                "ConvTranspose2d")
    fn, size = op.split("(", 1)  # AdaptiveAvgPool2d((3, 2)), F.adaptive_max_pool2d((1, 1)), ...
    kind = "adaptiveavgpool" if "vg" in fn else "adaptivemaxpool"
    h, w = size.strip("()").split(", ")
    return f"{{kind: {kind}, name: op, size: [{h}, {w}]}}", fn


def analysis(row: dict) -> archcalc.Analysis:
    n, c, h, w = row["input"]
    layer, _ = _layer(row["op"])
    return analyze_text(f"input: {h}x{w}x{c}\nlayers:\n  - {layer}\n", batch=n)


def torch_ops(row: dict) -> dict[str, str]:
    ops = {"op": _layer(row["op"])[1]}
    if _layer(row["op"])[0] == GATE:
        ops["g"] = "torch.mean"  # x.mean((2, 3), keepdim=True): counted by none of the tools
    return ops


OPS = [r for r in ROWS if r["op"] != "ModernA"]


@pytest.mark.parametrize("row", OPS, ids=[f"{r['op']}-{'x'.join(map(str, r['input']))}" for r in OPS])
def test_each_op_as_each_tool_printed(row: dict) -> None:
    an = analysis(row)
    got = {t: profiles.total(an, t, torch=torch_ops(row)) for t in TOOLS}
    if row["input"][0] > 1:
        # ptflops divides its module hooks' counts by the batch, but not its patched functionals'
        # (F.silu, torch.mul, ...): it prints one sample's module part (ptflops-nofunc at batch 1) plus
        # the batch's functional part (ptflops less ptflops-nofunc at batch N). The new kinds' rules
        # count so already; written this way, the check holds whether the older kinds' rules (the
        # adaptive pools go through them) count module hooks per sample or over the batch.
        module = profiles.total(analysis({**row, "input": [1, *row["input"][1:]]}), "ptflops-nofunc",
                                torch=torch_ops(row))
        got["ptflops"] = module + got["ptflops"] - got["ptflops-nofunc"]
        got["ptflops-nofunc"] = module
    assert got == {t: row[t] for t in TOOLS}


def test_every_new_kind_and_op_was_measured() -> None:
    kinds = {"multiply", "silu", "gelu", "hardsigmoid", "leakyrelu", "prelu", "layernorm", "groupnorm", "scale",
             "convtranspose", "adaptiveavgpool", "adaptivemaxpool", "identity", "droppath"}
    measured = {(analysis(r).rows[-1].kind, torch_ops(r)["op"]) for r in OPS}
    for k in kinds:
        for op in (profiles.TORCH_DEFAULT[k], *profiles.TORCH_ALTERNATIVES.get(k, ())):
            if (k, op) != ("droppath", "DropPath"):  # timm's DropPath: the same identity at inference
                assert (k, op) in measured, (k, op)


MODERN = [r for r in ROWS if r["op"] == "ModernA"]


@pytest.mark.parametrize("row", MODERN, ids=lambda r: f"batch{r['input'][0]}")
def test_modern_a_as_each_tool_printed(row: dict) -> None:
    """Every new kind in one network: its plain-torch twin measured whole."""
    n = row["input"][0]
    an = archcalc.analyze(DATA / "modern_a.yaml", batch=n)
    assert an.totals.params == row["params"] == 2_794
    for tool in TOOLS:
        if tool.startswith("ptflops") and n > 1:
            continue  # checked below
        assert (tool, profiles.total(an, tool)) == (tool, row[tool])
    # ptflops at batch N: its module hooks per sample (ptflops-nofunc at batch 1), its patched
    # functionals over the batch (ptflops less ptflops-nofunc, at batch N). Written so as to hold
    # whether the profiles of the older kinds count ptflops' module hooks per sample or not.
    module = profiles.total(archcalc.analyze(DATA / "modern_a.yaml"), "ptflops-nofunc")
    assert row["ptflops-nofunc"] == module
    assert row["ptflops"] == module + profiles.total(an, "ptflops") - profiles.total(an, "ptflops-nofunc")


def test_modern_a_breakdowns_by_hand() -> None:
    an = archcalc.analyze(DATA / "modern_a.yaml")
    # torchinfo: up1 (16 -> 8, 2 x 2) weights 16·8·4 = 512 at 16·16 outputs; up2 (8 -> 4, 3 x 3) 8·4·9 = 288 at 32·32
    b = profiles.breakdown(an, "torchinfo")
    assert b["conv_transpose"] == 512 * 16 * 16 + 288 * 32 * 32
    assert (b["groupnorm"], b["prelu"], b["layernorm"]) == (2 * 8, 8, 2 * 16)
    # fvcore: GroupNorm and LayerNorm 5 per element (affine): 16·16·8 and 8·8·16
    f = profiles.breakdown(an, "fvcore")
    assert (f["groupnorm"], f["layernorm"]) == (5 * 16 * 16 * 8, 5 * 8 * 8 * 16)
    # ptflops: nn.SiLU 1 and nn.GELU 2 (both forms) per element; nn.PReLU 2; nn.GroupNorm 2; nn.LayerNorm 1
    p = profiles.breakdown(an, "ptflops")
    assert (p["silu"], p["gelu"]) == (16 * 16 * 8, 2 * 8 * 8 * 16 + 2 * 32 * 32 * 4)
    assert (p["prelu"], p["groupnorm"], p["layernorm"], p["leaky_relu"]) == (2 * 2048, 2 * 2048, 1024, 1024)
    # the products written `*` (the gate, the layer scale) are counted by none of them
    assert "elementwise_mul" not in p
    # thop: ConvTranspose2d at its outputs; nn.LayerNorm 4 per element; GroupNorm, SiLU, GELU: no rule
    t = profiles.breakdown(an, "thop")
    assert (t["conv_transpose"], t["layernorm"]) == (b["conv_transpose"], 4 * 1024)
    assert "groupnorm" not in t and "silu" not in t


def test_torch_op_choices_for_the_new_kinds() -> None:
    an = archcalc.analyze(DATA / "modern_a.yaml")
    assert profiles.torch_op_problem(an, "ln", "LayerNorm2d") is None
    msg, hint = profiles.torch_op_problem(an, "gn", "LayerNorm2d")
    assert msg == "a groupnorm layer is one of GroupNorm, F.group_norm"
    msg, _ = profiles.torch_op_problem(an, "se", "torch.add")
    assert msg == "a multiply layer is one of *, torch.mul"
    # ConvNeXt's stem norm is a LayerNorm2d: ptflops and thop see no rule for that subclass
    assert profiles.total(an, "ptflops", torch={"ln": "LayerNorm2d"}) == profiles.total(an, "ptflops") - 1024
