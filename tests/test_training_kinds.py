"""What autograd saves for every kind, held to PyTorch's measured figures (tests/data/saved_kinds.json).

tests/measured/saved_kinds.py ran each small network below in torch 2.13 (CPU), training mode, at batch
1 and 3, and recorded the bytes of the distinct storages passing through saved_tensors_hooks (the
model's parameters and buffers left out) and how many storages those are. Here each network is the
archcalc spec of the same layers, with the same torch ops (`torch_ops:`), and archcalc.training must give
the same bytes and the same number of storages. Most networks start with a layer that has parameters
(a 1x1 conv or a Linear), so the op's input needs a gradient as it does inside a network; networks on
tokens start from a map (`tokens`: x.flatten(2).transpose(1, 2)), as specs and torchvision's ViT do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import analyze_text

from archcalc import SpecError, training
from archcalc.kinds import REGISTRY

MEASURED = json.loads((Path(__file__).parent / "data" / "saved_kinds.json").read_text(encoding="utf-8"))
STEM = "{kind: conv, name: stem, filters: 4, kernel: 1}"
LIN = "{kind: linear, name: lin, units: 8}"
TOKENS = "{kind: tokens, name: toks}"  # a 1 x 5 x 8 map as 5 tokens of 8, as torchvision's ViT makes them
Q, K = "{kind: linear, name: q, units: 8}", "{kind: linear, name: k, from: toks, units: 8}"

#: case -> (input, layers, torch_ops); the torch side of each is tests/measured/saved_kinds.py's CASES
CASES: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "conv_first": ("6x6x4", ["{kind: conv, filters: 8, kernel: 3, padding: 1}"], {}),
    "conv": ("6x6x4", [STEM, "{kind: conv, filters: 8, kernel: 3, stride: 2, padding: 1, bias: false}"], {}),
    "depthwise": ("6x6x4", [STEM, "{kind: depthwise, kernel: 3, padding: 1}"], {}),
    "convtranspose": ("6x6x4", [STEM, "{kind: convtranspose, filters: 2, kernel: 2, stride: 2}"], {}),
    "dense_first": ("12", ["{kind: dense, units: 5}"], {}),
    "dense": ("12", ["{kind: dense, units: 6}", "{kind: dense, units: 5}"], {}),
    "batchnorm": ("6x6x4", [STEM, "{kind: batchnorm}"], {}),
    "batchnorm_first": ("6x6x4", ["{kind: batchnorm}"], {}),
    "batchnorm_vector": ("12", ["{kind: dense, units: 6}", "{kind: batchnorm}"], {}),
    "lrn": ("6x6x4", [STEM, "{kind: lrn, size: 3}"], {}),
    "relu": ("6x6x4", [STEM, "{kind: relu, name: act}"], {}),
    "relu_inplace": ("6x6x4", [STEM, "{kind: relu, name: act}"], {"act": "ReLU(inplace=True)"}),
    "relu_functional_inplace": ("6x6x4", [STEM, "{kind: relu, name: act}"], {"act": "F.relu(inplace=True)"}),
    "relu_first": ("6x6x4", ["{kind: relu}"], {}),
    "relu6": ("6x6x4", [STEM, "{kind: relu6, name: act}"], {}),
    "relu6_inplace": ("6x6x4", [STEM, "{kind: relu6, name: act}"], {"act": "ReLU6(inplace=True)"}),
    "sigmoid": ("6x6x4", [STEM, "{kind: sigmoid}"], {}),
    "tanh": ("6x6x4", [STEM, "{kind: tanh}"], {}),
    "hardswish": ("6x6x4", [STEM, "{kind: hardswish, name: act}"], {}),
    "hardswish_inplace": ("6x6x4", [STEM, "{kind: hardswish, name: act}"], {"act": "Hardswish(inplace=True)"}),
    "softmax": ("12", ["{kind: dense, units: 6}", "{kind: softmax}"], {}),
    "softmax_tokens": ("1x5x8", [TOKENS, LIN, "{kind: softmax}"], {}),
    "silu": ("6x6x4", [STEM, "{kind: silu, name: act}"], {}),
    "silu_inplace": ("6x6x4", [STEM, "{kind: silu, name: act}"], {"act": "SiLU(inplace=True)"}),
    "gelu": ("6x6x4", [STEM, "{kind: gelu}"], {}),
    "gelu_tanh": ("1x5x8", [TOKENS, LIN, "{kind: gelu, approximate: tanh}"], {}),
    "hardsigmoid": ("6x6x4", [STEM, "{kind: hardsigmoid, name: act}"], {}),
    "hardsigmoid_inplace": ("6x6x4", [STEM, "{kind: hardsigmoid, name: act}"], {"act": "Hardsigmoid(inplace=True)"}),
    "leakyrelu": ("6x6x4", [STEM, "{kind: leakyrelu, name: act, slope: 0.1}"], {}),
    "leakyrelu_inplace": ("6x6x4", [STEM, "{kind: leakyrelu, name: act, slope: 0.1}"],
                          {"act": "LeakyReLU(inplace=True)"}),
    "prelu": ("6x6x4", [STEM, "{kind: prelu}"], {}),
    "prelu_channels": ("6x6x4", [STEM, "{kind: prelu, per_channel: true}"], {}),
    "layernorm": ("1x5x8", [TOKENS, LIN, "{kind: layernorm}"], {}),
    "layernorm_nobias": ("1x5x8", [TOKENS, LIN, "{kind: layernorm, bias: false}"], {}),
    "layernorm2d": ("6x6x4", [STEM, "{kind: layernorm, name: norm}"], {"norm": "LayerNorm2d"}),
    "layernorm_vector": ("12", ["{kind: dense, units: 6}", "{kind: layernorm}"], {}),
    "groupnorm": ("6x6x4", [STEM, "{kind: groupnorm, groups: 2}"], {}),
    "groupnorm_noaffine": ("6x6x4", [STEM, "{kind: groupnorm, groups: 2, affine: false}"], {}),
    "scale": ("6x6x4", [STEM, "{kind: scale}"], {}),
    "maxpool": ("6x6x4", [STEM, "{kind: maxpool, size: 3, stride: 2, padding: 1}"], {}),
    "maxpool_ceil": ("6x6x4", [STEM, "{kind: maxpool, size: 2, stride: 2, ceil: true}",
                               "{kind: maxpool, size: 2, ceil: true}"], {}),
    "maxpool_functional": ("6x6x4", [STEM, "{kind: maxpool, name: pool, size: 2}"], {"pool": "F.max_pool2d"}),
    "avgpool": ("6x6x4", [STEM, "{kind: avgpool, size: 2}"], {}),
    "avgpool_adaptive_module": ("6x6x4", [STEM, "{kind: avgpool, name: pool, size: 1}"], {"pool": "AdaptiveAvgPool2d"}),
    "avgpool_first": ("6x6x4", ["{kind: avgpool, size: 2}"], {}),
    "globalavgpool": ("6x6x4", [STEM, "{kind: globalavgpool, keepdims: true}"], {}),
    "globalavgpool_functional": ("6x6x4", [STEM, "{kind: globalavgpool, name: pool, keepdims: true}"],
                                 {"pool": "F.adaptive_avg_pool2d"}),
    "globalavgpool_mean": ("6x6x4", [STEM, "{kind: globalavgpool, name: pool}"], {"pool": "torch.mean"}),
    "globalmaxpool": ("6x6x4", [STEM, "{kind: globalmaxpool, keepdims: true}"], {}),
    "adaptiveavgpool": ("6x6x4", [STEM, "{kind: adaptiveavgpool, size: 4}"], {}),
    "adaptiveavgpool_1": ("6x6x4", [STEM, "{kind: adaptiveavgpool, size: 1}"], {}),
    "adaptivemaxpool": ("6x6x4", [STEM, "{kind: adaptivemaxpool, size: [4, 3]}"], {}),
    "add_inplace": ("6x6x4", ["{kind: conv, name: a, filters: 4, kernel: 1}",
                              "{kind: conv, name: b, filters: 4, kernel: 3, padding: 1}",
                              "{kind: add, name: join, from: [b, a]}"], {}),
    "add": ("6x6x4", ["{kind: conv, name: a, filters: 4, kernel: 1}", "{kind: conv, name: b, filters: 4, kernel: 3, "
                      "padding: 1}", "{kind: add, name: join, from: [b, a]}"], {"join": "+"}),
    "add_torch": ("6x6x4", ["{kind: conv, name: a, filters: 4, kernel: 1}", "{kind: conv, name: b, filters: 4, "
                            "kernel: 3, padding: 1}", "{kind: add, name: join, from: [b, a]}"], {"join": "torch.add"}),
    "multiply": ("6x6x4", ["{kind: conv, name: x, filters: 4, kernel: 1}",
                           "{kind: globalavgpool, name: pool, keepdims: true}",
                           "{kind: conv, name: s, filters: 4, kernel: 1}", "{kind: sigmoid, name: gate}",
                           "{kind: multiply, from: [x, gate]}"], {"pool": "F.adaptive_avg_pool2d"}),
    "multiply_three": ("6x6x4", ["{kind: conv, name: x, filters: 4, kernel: 1}",
                                 "{kind: globalavgpool, name: pool, keepdims: true}",
                                 "{kind: conv, name: s, filters: 4, kernel: 1}", "{kind: sigmoid, name: gate}",
                                 "{kind: conv, name: t, from: x, filters: 1, kernel: 1}",
                                 "{kind: sigmoid, name: tgate}", "{kind: multiply, from: [x, gate, tgate]}"],
                       {"pool": "F.adaptive_avg_pool2d"}),
    "multiply_gate_without_grad": ("6x6x4", ["{kind: conv, name: x, filters: 4, kernel: 1}",
                                             "{kind: globalavgpool, name: pool, from: input, keepdims: true}",
                                             "{kind: multiply, from: [x, pool]}"], {"pool": "F.adaptive_avg_pool2d"}),
    "concat": ("6x6x4", ["{kind: conv, name: a, filters: 4, kernel: 1}",
                         "{kind: conv, name: b, from: input, filters: 2, kernel: 1}", "{kind: concat, from: [a, b]}"],
               {}),
    "flatten": ("6x6x4", [STEM, "{kind: flatten}", "{kind: dense, units: 3}"], {}),
    "dropout": ("12", ["{kind: dense, units: 6}", "{kind: dropout, rate: 0.5}"], {}),
    "dropout_inplace": ("12", ["{kind: dense, units: 6}", "{kind: dropout, name: drop, rate: 0.5}"],
                        {"drop": "Dropout(inplace=True)"}),
    "dropout_zero": ("12", ["{kind: dense, units: 6}", "{kind: dropout, rate: 0}", "{kind: dense, units: 2}"], {}),
    "crop": ("6x6x4", [STEM, "{kind: crop, size: [3, 4]}", "{kind: conv, filters: 2, kernel: 1}"], {}),
    "crop_like": ("6x6x4", ["{kind: conv, name: a, filters: 4, kernel: 1}",
                            "{kind: conv, name: b, filters: 4, kernel: 3}", "{kind: crop, name: c, from: [a, b]}",
                            "{kind: concat, from: [c, b]}", "{kind: conv, filters: 2, kernel: 1}"], {}),
    "zeropad": ("6x6x4", [STEM, "{kind: zeropad, padding: 1}"], {}),
    "upsample": ("6x6x4", [STEM, "{kind: upsample, scale: 2}"], {}),
    "upsample_bilinear": ("6x6x4", [STEM, "{kind: upsample, scale: 2, mode: bilinear}"], {}),
    "identity": ("6x6x4", [STEM, "{kind: identity}", "{kind: relu}"], {}),
    "droppath": ("6x6x4", [STEM, "{kind: droppath, rate: 0.2}"], {}),
    "droppath_zero": ("6x6x4", [STEM, "{kind: droppath, rate: 0}", "{kind: relu}"], {}),
    "linear_tokens": ("1x5x8", [TOKENS, LIN, "{kind: linear, units: 6}"], {}),
    "linear_map": ("6x6x4", ["{kind: conv, filters: 8, kernel: 1}", "{kind: linear, units: 6}"], {}),
    "linear_after_tokens": ("6x6x4", ["{kind: conv, filters: 8, kernel: 1}", "{kind: tokens}",
                                      "{kind: linear, units: 6}"], {}),
    "tokens": ("6x6x4", ["{kind: conv, filters: 8, kernel: 1}", "{kind: tokens}", "{kind: layernorm}"], {}),
    "tokenmap": ("6x6x8", [TOKENS, LIN, "{kind: tokenmap}", "{kind: layernorm}"], {}),
    "classtoken": ("1x5x8", [TOKENS, LIN, "{kind: classtoken}"], {}),
    "posembed": ("1x5x8", [TOKENS, LIN, "{kind: posembed}"], {}),
    "tokenselect": ("1x5x8", [TOKENS, LIN, "{kind: tokenselect}", "{kind: dense, units: 3}"], {}),
    "slice": ("6x6x4", ["{kind: conv, filters: 4, kernel: 1}", "{kind: slice, chunks: 2, chunk: 1}",
                        "{kind: conv, filters: 2, kernel: 1}"], {}),
    "shuffle": ("6x6x4", [STEM, "{kind: shuffle, groups: 2}", "{kind: relu}"], {}),
    "patchmerge": ("6x6x4", ["{kind: conv, filters: 8, kernel: 1}", "{kind: patchmerge}"], {}),
    "patchmerge_odd": ("5x7x4", ["{kind: conv, filters: 8, kernel: 1}", "{kind: patchmerge}"], {}),
    "attention": ("1x5x8", [TOKENS, LIN, "{kind: attention, heads: 2}"], {}),
    "attention_first": ("1x5x8", [TOKENS, "{kind: attention, heads: 2}"], {}),
    "attention_weights": ("1x5x8", [TOKENS, LIN, "{kind: attention, name: attn, heads: 2}"],
                          {"attn": "MultiheadAttention(need_weights=True)"}),
    "matmul": ("1x5x8", [TOKENS, Q, K, "{kind: matmul, from: [q, k], transpose_b: true}"], {}),
    "matmul_at": ("1x5x8", [TOKENS, Q, K, "{kind: matmul, name: mm, from: [q, k], transpose_b: true}"],
                  {"mm": "\"@\""}),
    "matmul_chain": ("1x5x8", [TOKENS, Q, K, "{kind: matmul, name: s, from: [q, k], transpose_b: true}",
                               "{kind: matmul, from: [s, k]}"], {}),
}


def _window(shape: str, window: int, shift: int, heads: int = 2) -> tuple[str, list[str], dict[str, str]]:
    """torchvision's ShiftedWindowAttention on a LayerNorm's output, after a 1x1 conv (as in Swin)."""
    return (shape, ["{kind: conv, filters: 8, kernel: 1}", "{kind: layernorm}",
                    f"{{kind: windowattention, heads: {heads}, window: {window}, shift: {shift}}}"], {})


CASES.update({
    "windowattention": _window("6x6x4", 3, 0), "windowattention_shifted": _window("6x6x4", 3, 1),
    "windowattention_padded": _window("5x7x4", 3, 1), "windowattention_one_window": _window("3x3x4", 3, 1),
    "windowattention_one_column": _window("6x3x4", 3, 1), "windowattention_one_head": _window("6x6x4", 3, 1, 1),
})


def spec(name: str) -> str:
    if name == "tiny_train":  # docs/training.md's worked example
        return (Path(__file__).parent.parent / "docs" / "examples" / "tiny_train.yaml").read_text(encoding="utf-8")
    shape, layers, ops = CASES[name]
    text = f"input: {shape}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)
    if ops:
        text += "torch_ops: {" + ", ".join(f"{k}: {v}" for k, v in ops.items()) + "}\n"
    return text


def test_every_measured_case_is_described() -> None:
    assert set(CASES) | {"tiny_train"} == set(MEASURED["cases"])
    assert MEASURED["torch"].startswith("2.13.0")


def test_every_kind_is_measured() -> None:
    # each kind a spec may use appears in some measured network (the input is every network's)
    used = {line.split("kind: ")[1].split(",")[0].rstrip("}") for _, layers, _ in CASES.values() for line in layers}
    assert used == {k for k, c in REGISTRY.items() if not c.internal} - {"unmapped"}


@pytest.mark.parametrize("name", [*CASES, "tiny_train"])
@pytest.mark.parametrize("batch", [1, 3])
def test_saved_is_what_torch_saved(name: str, batch: int) -> None:
    measured = MEASURED["cases"][name][str(batch)]
    an = analyze_text(spec(name), batch=batch, training=True)
    if "error" in measured:  # BatchNorm in training over one value per channel: torch refuses it, so do we
        with pytest.raises(SpecError, match="more than 1 value per channel"):
            training.step(an)
        return
    s = training.step(an)
    assert (s.saved_bytes, s.saved_storages) == (measured["saved"], measured["storages"])
    assert sum(x.saved_bytes for x in s.layers) == s.saved_bytes  # each storage counted at its first saver


def test_every_kind_says_what_it_keeps_and_what_its_backward_costs() -> None:
    from archcalc.kinds.base import Kind
    for name, cls in REGISTRY.items():
        assert cls.saved is not Kind.saved and cls.saved.__doc__, name  # `archcalc kinds NAME` shows it
        if cls.macs is not Kind.macs:  # a kind with MACs gives its backward's (the base refuses to guess)
            assert cls.backward_macs is not Kind.backward_macs, name


def test_kinds_command_shows_the_rule() -> None:
    from conftest import run
    out = run("kinds", "maxpool").stdout
    assert "torch ops: MaxPool2d, F.max_pool2d" in out
    assert "training (docs/training.md): The input and the int64 index of every output's maximum" in out


def test_crop_sends_no_gradient_to_the_input_it_takes_its_size_from() -> None:
    # U-Net's crop(skip, up) reads up's H x W alone (tests/measured/saved_kinds.py's `crop`): autograd records
    # the slice with skip as its only input, so the crop's backward makes skip's gradient (a zero map of
    # 6 x 6 x 4 with the 4 x 4 x 4 centre filled) and none for up, whose gradient comes from the concat alone
    s = training.step(analyze_text(spec("crop_like"), training=True))
    by_name = {r.name: x for r, x in zip(s.an.rows, s.layers, strict=True)}
    assert by_name["c"].call.grads == (True, False)
    assert by_name["c"].recorded and by_name["c"].kept == ()
    # peak: the crop's backward holds the concatenation's gradient (8 x 4 x 4 x 4 B = 512, of which b's half
    # is a view) and skip's new one (6·6·4 x 4 B = 576) at once; no third buffer for up
    at = next(e for e in s.events if e.phase == "backward" and e.at == "c")
    assert dict(at.parts)["activation gradients"] == 512 + 576
