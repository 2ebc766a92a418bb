"""`in.c`, `in.h`, `in.w` (`in.l` for a sequence): the scope input's shape inside expressions.

Inside a block `in` is the block's input; for a top-level layer it is the network's input (what
`from: input` names in the same scope). Expansion then reads shapes, so a sweep re-expands such a
spec per input shape, and keeps reshaping the others.
"""

from __future__ import annotations

import pytest
from conftest import SPECS, analyze_text

import archcalc
from archcalc import SpecError
from archcalc.calc import CalcError, compile_expr
from archcalc.graph import build
from archcalc.sweep import sweep

TRANSITION = """
input: 16x16x6
blocks:
  transition:
    layers:
      - {kind: conv, name: conv, filters: in.c // 2, kernel: 1}
      - {kind: avgpool, name: pool, size: 2}
  grow:
    args: {k: null}
    layers:
      - {kind: conv, name: conv, filters: k, kernel: 3, padding: 1}
      - {kind: concat, name: cat, from: [input, conv]}
layers:
  - {kind: grow, name: g1, k: 10}          # 16 x 16 x 16
  - {kind: transition, name: t1}            # 8 x 8 x 8
  - {kind: grow, name: g2, k: 12}           # 8 x 8 x 20
  - {kind: transition, name: t2}            # 4 x 4 x 10
"""


def test_block_input_channels() -> None:
    rows = {r.name: r for r in analyze_text(TRANSITION).rows}
    assert rows["t1/conv"].output_shape == (16, 16, (6 + 10) // 2)
    assert rows["t2/conv"].output_shape == (8, 8, (8 + 12) // 2)
    # the two transitions are one item with different inputs: the kind cache tells them apart
    assert rows["t1/conv"].node.kind is not rows["t2/conv"].node.kind


def test_top_level_in_is_the_network_input() -> None:
    an = analyze_text("input: 12x10x3\nlayers:\n  - {kind: conv, filters: in.h * in.w + in.c, kernel: 1}\n"
                      "  - {kind: maxpool, size: in.h // 6, stride: 2}\n")
    assert an.rows[1].output_shape == (12, 10, 12 * 10 + 3)
    assert an.rows[2].output_shape == (6, 5, 123)  # size 12 // 6 = 2, from the network input, not the conv


def test_in_reads_in_repeat_when_and_block_arguments() -> None:
    text = """
input: 8x8x4
blocks:
  b:
    args: {f: null}
    layers:
      - {kind: conv, name: c, filters: f, kernel: 1, repeat: "in.c // 2"}
      - {kind: relu, name: r, when: in.h > 4}
layers:
  - {kind: b, name: x, f: in.c * 3}
"""
    names = [r.name for r in analyze_text(text).rows]
    assert names == ["input", "x/c1", "x/c2", "x/r"]  # repeat 4 // 2 = 2; 8 > 4
    assert analyze_text(text, input_shape=(4, 4, 6)).rows[-1].name == "x/c3"  # 3 copies, relu skipped
    assert analyze_text(text).rows[1].output_shape == (8, 8, 12)


def test_vector_and_sequence_attributes() -> None:
    assert analyze_text("input: 7\nlayers:\n  - {kind: dense, units: in.c * 2}\n").rows[1].output_shape == (14,)
    with pytest.raises(SpecError) as e:
        analyze_text("input: 7\nlayers:\n  - {kind: dense, units: in.h}\n")
    assert "'in.h': the input here is 7, which has no height" in e.value.message
    assert "in.c a flat vector" in e.value.hint


def test_in_is_not_a_variable() -> None:
    with pytest.raises(SpecError) as e:
        analyze_text("input: 8x8x3\nvars: {w: in.c}\nlayers:\n  - {kind: relu}\n")
    assert "'in.c' cannot be read here" in e.value.message and "vars: cannot" in e.value.hint
    with pytest.raises(SpecError) as e:
        analyze_text("input: 8x8x3\nlayers:\n  - {kind: conv, filters: in.channels, kernel: 1}\n")
    assert "'in.channels' is not a property of the input" in e.value.message
    with pytest.raises(SpecError) as e:
        analyze_text("input: 8x8x3\nlayers:\n  - {kind: conv, filters: input.c, kernel: 1}\n")
    assert "only the input's shape is read with a dot" in e.value.hint


def test_the_rewrite_leaves_other_words_alone() -> None:
    expr = compile_expr("in.c + min(in .h, 2) if index else 1")
    assert expr.names == {"__in_c", "__in_h", "index"}
    assert compile_expr("min(4, 2)").names == frozenset()
    with pytest.raises(CalcError, match="only ==, !="):
        compile_expr("1 if x in y else 2")  # `in` as an operator is still not allowed


def test_a_shape_error_met_while_expanding_is_located() -> None:
    text = """
input: 4x4x3
blocks:
  half:
    layers:
      - {kind: conv, name: c, filters: in.c, kernel: 5}
  reader:
    layers:
      - {kind: conv, name: r, filters: in.c, kernel: 1}
layers:
  - {kind: half, name: h}
  - {kind: reader, name: x}
"""
    with pytest.raises(SpecError) as e:
        analyze_text(text)
    d = e.value.diagnostics[0]
    assert d.loc.line == 6 and "kernel 5 is larger" in d.message and d.message.startswith("layer 'h/c'")
    assert d.notes == ("in block 'half' used at test.yaml:11:5 as h",)  # not the reader's instance


def test_graph_records_that_it_read_shapes() -> None:
    assert build(archcalc.load(text=TRANSITION)).reads_shapes
    assert not build(archcalc.load(SPECS / "resnet50.yaml")).reads_shapes


def test_sweep_reexpands_a_spec_that_reads_shapes() -> None:
    spec = archcalc.load(text=TRANSITION)
    s = sweep(spec, inputs=[(16, 16, 6), (16, 16, 10), (8, 8, 2)], batches=[1, 2])
    fresh = [archcalc.analyze(spec, input_shape=p.input_shape, batch=p.batch).totals for p in s.points]
    assert [(p.params, p.macs) for p in s.points] == [(t.params, t.macs) for t in fresh]
    assert s.points[0].params != s.points[2].params  # the transition's width follows the input


def test_mobilenet_v2_reads_its_input_channels_and_sweeps_right() -> None:
    spec = archcalc.load(SPECS / "mobilenet_v2.yaml")
    s = sweep(spec, {"width": ["0.5", "1"]}, inputs=[(224, 224, 3), (160, 160, 3)])
    for p in s.points:
        t = archcalc.analyze(spec, overrides={"width": p.values["width"]}, input_shape=p.input_shape).totals
        assert (p.params, p.macs) == (t.params, t.macs)


def test_reshaping_keeps_the_expansion_when_the_values_read_are_the_same() -> None:
    g = build(archcalc.load(SPECS / "mobilenet_v2.yaml"))
    assert g.shape_reads[0] == (3, (("c", 32),))  # stage1/block1 reads the stem's 32 channels (node 3)
    same = g.reshaped((160, 160, 3))                      # in.c is what it was everywhere: kept
    assert same.nodes[1:] == g.nodes[1:] and same.nodes[5] is g.nodes[5] and same.input_shape == (160, 160, 3)
    t = build(archcalc.load(text=TRANSITION))
    other = t.reshaped((16, 16, 10))                      # the transitions read other channels: rebuilt
    assert other.nodes[3] is not t.nodes[3]
    assert [n.kind.filters for n in other.nodes if n.path == "t1/conv"] == [(10 + 10) // 2]
