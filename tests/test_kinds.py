"""Each kind's figures on small inputs, with the expected values written as arithmetic."""

from __future__ import annotations

import inspect
import pkgutil

import pytest
from conftest import analyze_text

import archcalc
import archcalc.kinds as kinds_pkg
from archcalc.kinds import REGISTRY


def one(layer: str, input: str = "8x8x4") -> archcalc.Row:
    return analyze_text(f"input: {input}\nlayers:\n  - {layer}\n").rows[-1]


CASES = [
    # (layer, input, output shape, params, MACs)
    ("{kind: conv, filters: 6, kernel: 3}", "8x8x4", (6, 6, 6), 3 * 3 * 4 * 6 + 6, 6 * 6 * 6 * (3 * 3 * 4)),
    ("{kind: conv, filters: 6, kernel: 3, padding: same, bias: false}", "8x8x4", (8, 8, 6), 3 * 3 * 4 * 6,
     8 * 8 * 6 * (3 * 3 * 4)),
    ("{kind: conv, filters: 6, kernel: 3, stride: 2, padding: same}", "7x7x4", (4, 4, 6), 3 * 3 * 4 * 6 + 6,
     4 * 4 * 6 * (3 * 3 * 4)),  # same: ceil(7/2) = 4
    ("{kind: conv, filters: 6, kernel: [1, 3]}", "8x8x4", (8, 6, 6), 1 * 3 * 4 * 6 + 6, 8 * 6 * 6 * (1 * 3 * 4)),
    ("{kind: conv, filters: 8, kernel: 3, groups: 2}", "8x8x4", (6, 6, 8), 3 * 3 * (4 // 2) * 8 + 8,
     6 * 6 * 8 * (3 * 3 * (4 // 2))),
    ("{kind: conv, filters: 2, kernel: 3, dilation: 2}", "8x8x4", (4, 4, 2), 3 * 3 * 4 * 2 + 2,
     4 * 4 * 2 * (3 * 3 * 4)),  # effective 5x5: 8 - 5 + 1 = 4
    ("{kind: conv, filters: 2, kernel: 3, padding: 1, stride: 2}", "8x8x4", (4, 4, 2), 3 * 3 * 4 * 2 + 2,
     4 * 4 * 2 * (3 * 3 * 4)),  # floor((8 + 2 - 3)/2) + 1 = 4
    ("{kind: conv, filters: 2, kernel: 3, padding: [0, 1, 2, 0]}", "8x8x4", (7, 8, 2), 3 * 3 * 4 * 2 + 2,
     7 * 8 * 2 * (3 * 3 * 4)),  # H: 8 + 1 - 3 + 1 = 7; W: 8 + 2 - 3 + 1 = 8
    ("{kind: depthwise, kernel: 3}", "8x8x4", (6, 6, 4), 3 * 3 * 4 + 4, 6 * 6 * 4 * (3 * 3)),
    ("{kind: depthwise, kernel: 3, multiplier: 2, bias: false}", "8x8x4", (6, 6, 8), 3 * 3 * 8,
     6 * 6 * 8 * (3 * 3)),
    ("{kind: dense, units: 10}", "20", (10,), 20 * 10 + 10, 20 * 10),
    ("{kind: dense, units: 10, bias: false}", "20", (10,), 20 * 10, 20 * 10),
    ("{kind: maxpool, size: 2}", "8x8x4", (4, 4, 4), 0, 0),
    ("{kind: maxpool, size: 3, stride: 2}", "8x8x4", (3, 3, 4), 0, 0),  # floor((8 - 3)/2) + 1 = 3
    ("{kind: maxpool, size: 3, stride: 2, ceil: true}", "8x8x4", (4, 4, 4), 0, 0),  # ceil(5/2) + 1 = 4
    ("{kind: maxpool, size: 3, stride: 1, padding: same}", "8x8x4", (8, 8, 4), 0, 0),
    ("{kind: avgpool, size: 2, stride: 2}", "8x8x4", (4, 4, 4), 0, 0),
    ("{kind: globalavgpool}", "8x8x4", (4,), 0, 0),
    ("{kind: globalavgpool, keepdims: true}", "8x8x4", (1, 1, 4), 0, 0),
    ("{kind: globalmaxpool}", "8x8x4", (4,), 0, 0),
    ("{kind: flatten}", "8x8x4", (8 * 8 * 4,), 0, 0),
    ("{kind: batchnorm}", "8x8x4", (8, 8, 4), 4 * 4, 0),  # gamma, beta, mean, var
    ("{kind: lrn}", "8x8x4", (8, 8, 4), 0, 0),
    ("{kind: dropout, rate: 0.3}", "8x8x4", (8, 8, 4), 0, 0),
    ("{kind: zeropad, padding: 1}", "8x8x4", (10, 10, 4), 0, 0),
    ("{kind: zeropad, padding: [1, 2, 3, 4]}", "8x8x4", (11, 15, 4), 0, 0),
    ("{kind: upsample, scale: 2}", "8x8x4", (16, 16, 4), 0, 0),
    ("{kind: upsample, scale: [2, 3], mode: bilinear}", "8x8x4", (16, 24, 4), 0, 0),
    *[(f"{{kind: {k}}}", "8x8x4", (8, 8, 4), 0, 0) for k in ("relu", "relu6", "sigmoid", "tanh", "hardswish")],
    ("{kind: softmax}", "10", (10,), 0, 0),
]


@pytest.mark.parametrize("layer,input,shape,params,macs", CASES, ids=[c[0] for c in CASES])
def test_kind_figures(layer: str, input: str, shape: tuple, params: int, macs: int) -> None:
    r = one(layer, input)
    assert (r.output_shape, r.params, r.macs) == (shape, params, macs)
    assert r.macs_formula.value == r.macs  # the explained formula is the counted number


def test_batchnorm_split() -> None:
    r = one("{kind: batchnorm}")
    assert (r.trainable, r.non_trainable) == (2 * 4, 2 * 4)  # gamma, beta | running mean, variance


@pytest.mark.parametrize("layer,category,count", [
    ("{kind: conv, filters: 6, kernel: 3}", "bias_adds", 6 * 6 * 6),
    ("{kind: relu}", "comparisons", 8 * 8 * 4),
    ("{kind: relu6}", "comparisons", 2 * 8 * 8 * 4),
    ("{kind: maxpool, size: 2}", "comparisons", 4 * 4 * 4 * (2 * 2 - 1)),
    ("{kind: avgpool, size: 2}", "elementwise_adds", 4 * 4 * 4 * (2 * 2 - 1)),
    ("{kind: globalavgpool}", "elementwise_adds", 4 * (8 * 8 - 1)),
    ("{kind: batchnorm}", "normalization", 2 * 8 * 8 * 4),
    ("{kind: sigmoid}", "activations", 8 * 8 * 4),
    ("{kind: lrn, size: 5}", "normalization", (2 * 5 + 3) * 8 * 8 * 4),
])
def test_other_ops(layer: str, category: str, count: int) -> None:
    assert one(layer).other[category] == count


def test_add_and_concat() -> None:
    a = analyze_text("input: 8x8x4\nlayers:\n  - {kind: conv, name: a, filters: 4, kernel: 3, padding: same}\n"
                     "  - {kind: add, name: s, from: [a, input]}\n  - {kind: concat, from: [s, a, input]}\n")
    rows = {r.name: r for r in a.rows}
    assert rows["s"].output_shape == (8, 8, 4)
    assert rows["s"].other["elementwise_adds"] == 8 * 8 * 4  # (2 - 1) adds per element
    assert rows["concat1"].output_shape == (8, 8, 4 + 4 + 4)


def test_batch_multiplies_counts_not_params() -> None:
    spec = "input: 8x8x4\nlayers:\n  - {kind: conv, filters: 6, kernel: 3}\n"
    one_, four = analyze_text(spec), analyze_text(spec, batch=4)
    assert four.totals.macs == 4 * one_.totals.macs
    assert four.totals.params == one_.totals.params
    assert four.totals.activation_bytes == 4 * one_.totals.activation_bytes
    assert four.rows[-1].macs_formula.explain().startswith("N·H'")


def test_every_kind_is_documented_and_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(kinds_pkg.__path__)} - {"base"}
    seen = {cls.__module__.rsplit(".", 1)[1] for cls in REGISTRY.values()}
    assert seen == modules  # every kinds module defines at least one registered kind
    for name, cls in REGISTRY.items():
        assert cls.name == name
        assert inspect.getdoc(cls), f"{name} has no docstring"
        for fname, f in cls.fields.items():
            assert f.doc, f"{name}.{fname} has no doc"
    assert "input" not in archcalc.KINDS  # internal


def test_required_kinds_exist() -> None:
    # issue 2's list of layer kinds
    need = {"conv", "depthwise", "maxpool", "avgpool", "globalavgpool", "flatten", "dense", "relu", "relu6",
            "sigmoid", "tanh", "softmax", "hardswish", "batchnorm", "dropout", "lrn", "zeropad", "add",
            "concat", "upsample"}
    assert need <= set(archcalc.KINDS)


def test_maxpool_padding_must_leave_every_window_an_input_pixel() -> None:
    # 2 x 2 windows, stride 2, padding 1: each window holds at least one input pixel
    assert one("{kind: maxpool, size: 2, padding: 1}").output_shape == (5, 5, 4)  # floor((8 + 2 - 2)/2) + 1
    # padding 2 >= the window: the first window covers padding rows 0-1 only, and has no maximum
    with pytest.raises(archcalc.SpecError, match="padding 2 on the top is not smaller than the 2-wide window"):
        one("{kind: maxpool, size: 2, padding: 2}")
    # average pooling of padding alone is defined (0, with count_pad), so it stays accepted
    assert one("{kind: avgpool, size: 2, padding: 2}").output_shape == (6, 6, 4)  # floor((8 + 4 - 2)/2) + 1
