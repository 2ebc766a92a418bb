"""The spec language: plain lists, named inputs (DAGs), blocks, repeat, when, variables, outputs."""

from __future__ import annotations

import pytest
from conftest import analyze_text

import archcalc
from archcalc import SpecError

RESNETISH = """
input: 16x16x8
vars: {width: 8, blocks: 3}
blocks:
  basic:
    args: {filters: null, stride: 1}
    layers:
      - {kind: conv, name: conv1, filters: filters, kernel: 3, stride: stride, padding: same, bias: false}
      - {kind: batchnorm, name: bn1}
      - {kind: relu, name: relu1}
      - {kind: conv, name: conv2, filters: filters, kernel: 3, padding: same, bias: false}
      - {kind: batchnorm, name: bn2}
      - {kind: conv, name: down, from: input, filters: filters, kernel: 1, stride: stride, bias: false,
         when: stride != 1}
      - {kind: add, name: add, from: [bn2, down]}
      - {kind: relu, name: out}
  stage:
    args: {filters: null, n: null, stride: 1}
    layers:
      - {kind: basic, name: block, repeat: n, filters: filters, stride: "stride if index == 1 else 1"}
layers:
  - {kind: stage, name: stage1, filters: width, n: blocks}
  - {kind: stage, name: stage2, filters: 2 * width, n: 2, stride: 2}
"""


def test_hierarchical_names_and_repeat() -> None:
    names = [r.name for r in analyze_text(RESNETISH).rows]
    assert "stage1/block1/conv1" in names and "stage1/block3/out" in names
    assert "stage1/block4/conv1" not in names            # repeat: blocks = 3
    assert "stage2/block1/down" in names                 # stride 2 -> projection
    assert "stage2/block2/down" not in names             # index 2 -> stride 1 -> skipped


def test_when_skipped_layer_aliases_its_input() -> None:
    rows = {r.name: r for r in analyze_text(RESNETISH).rows}
    # block with stride 1: `down` is skipped, so add's second input is the block input
    assert rows["stage1/block1/add"].inputs == ("stage1/block1/bn2", "input")
    assert rows["stage2/block1/add"].inputs == ("stage2/block1/bn2", "stage2/block1/down")
    assert rows["stage2/block1/down"].output_shape == (8, 8, 16)  # 1x1 stride 2: 16 -> 8


def test_depth_folding_keeps_totals() -> None:
    a = analyze_text(RESNETISH)
    for depth in (1, 2, 3):
        rows = a.folded(depth)
        assert sum(r.params for r in rows) == a.totals.params
        assert sum(r.macs for r in rows) == a.totals.macs
        # a folded block holds its layers' outputs, no more (it once added its own output again)
        assert sum(r.activation_elems for r in rows) == sum(r.activation_elems for r in a.rows)
        assert sum(r.layers for r in rows) == len(a.rows)
    top = {r.name: r for r in a.folded(1)}
    assert list(top) == ["input", "stage1", "stage2"]
    assert top["stage2"].kind == "stage" and top["stage2"].output_shape == (8, 8, 16)
    assert [r.name for r in a.folded(2)][1:4] == ["stage1/block1", "stage1/block2", "stage1/block3"]


def test_set_overrides_variables() -> None:
    base = analyze_text(RESNETISH)
    short = analyze_text(RESNETISH, overrides={"blocks": 1})
    assert short.rows[-1].output_shape == (8, 8, 16)
    assert len(short.rows) == len(base.rows) - 2 * 7  # two fewer stride-1 blocks of 7 layers (no `down`)
    assert not any(r.name.startswith("stage1/block2") for r in short.rows)


def test_expressions_are_exact() -> None:
    spec = ("input: 8x8x3\nvars: {alpha: 0.75}\nlayers:\n"
            "  - {kind: conv, filters: 64 * alpha, kernel: 1}\n"
            "  - {kind: conv, filters: 'make_divisible(32 * 0.35, 8)', kernel: 1}\n"
            "  - {kind: conv, filters: 'round(2.5) + floor(7 / 2) + ceil(1 / 3) + max(1, 2) + min(3, 4)', kernel: 1}\n")
    out = [r.output_shape[2] for r in analyze_text(spec).rows[1:]]
    # 64·0.75 = 48 exactly; make_divisible(11.2, 8): int(11.2 + 4) // 8 · 8 = 8 < 0.9·11.2 = 10.08, so 8 + 8 = 16;
    # round(2.5) = 3 (halves away from zero), floor(3.5) = 3, ceil(1/3) = 1, max 2, min 3: 12
    assert out == [48, 16, 3 + 3 + 1 + 2 + 3]


def test_fractional_filters_are_an_error_not_a_rounding() -> None:
    spec = "input: 8x8x3\nvars: {alpha: 0.3}\nlayers:\n  - {kind: conv, filters: 10 * alpha + 0.5, kernel: 1}\n"
    with pytest.raises(SpecError) as e:
        analyze_text(spec)
    assert e.value.loc.line == 4 and "expected an integer" in e.value.message and "round" in e.value.hint


def test_input_from_variables_and_batch() -> None:
    a = analyze_text("input: [r, r, 3]\nbatch: 2\nvars: {r: 32}\nlayers:\n  - {kind: flatten}\n")
    assert a.input_shape == (32, 32, 3) and a.batch == 2
    assert analyze_text("input: [r, r, 3]\nvars: {r: 32}\nlayers:\n  - {kind: flatten}\n",
                        input_shape=(8, 8, 1)).rows[-1].output_shape == (64,)


def test_multiple_outputs() -> None:
    spec = ("input: 8x8x3\nlayers:\n  - {kind: conv, name: trunk, filters: 4, kernel: 3}\n"
            "  - {kind: globalavgpool, name: aux_pool}\n  - {kind: dense, name: aux, units: 10}\n"
            "  - {kind: flatten, name: flat, from: trunk}\n  - {kind: dense, name: main, units: 10}\n")
    a = analyze_text(spec)
    assert [r.name for r in a.outputs] == ["aux", "main"]  # sinks, in graph order
    b = analyze_text(spec + "outputs: [main, aux]\n")
    assert [r.name for r in b.outputs] == ["main", "aux"]


def test_autonames_avoid_explicit_names() -> None:
    a = analyze_text("input: 8\nlayers:\n  - {kind: relu, name: relu1}\n  - {kind: relu}\n  - {kind: relu}\n")
    assert [r.name for r in a.rows] == ["input", "relu1", "relu2", "relu3"]


def test_block_output_and_paths() -> None:
    spec = ("input: 8x8x3\nblocks:\n  b:\n    output: mid\n    layers:\n"
            "      - {kind: conv, name: mid, filters: 4, kernel: 1}\n      - {kind: relu, name: side}\n"
            "layers:\n  - {kind: b, name: one}\n  - {kind: flatten, from: one/side}\n  - {kind: flatten, from: one}\n")
    rows = {r.name: r for r in analyze_text(spec).rows}
    assert rows["flatten1"].inputs == ("one/side",)
    assert rows["flatten2"].inputs == ("one/mid",)


@pytest.mark.parametrize("spec,line,fragment", [
    ("input: 8x8x3\nlayers:\n  - {kind: covn}\n", 3, "unknown layer kind 'covn'"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filtres: 3, kernel: 1}\n", 3, "no field 'filtres'"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, kernel: 1}\n", 3, "needs `filters`"),
    ("input: 8x8x3\nlayers:\n  - {kind: relu, from: nope}\n", 3, "no layer named 'nope'"),
    ("input: 8x8x3\nlayers:\n  - {kind: relu, name: a, from: b}\n  - {kind: relu, name: b}\n", 3,
     "not defined above"),
    ("input: 8x8x3\nlayers:\n  - {kind: relu, name: a}\n  - {kind: relu, name: a}\n", 4, "two layers are named"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: 4, kernel: 3x3}\n", 3, "kernel"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: true, kernel: 3}\n", 3, "boolean"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: 4.5, kernel: 3}\n", 3, "integer"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: 0, kernel: 3}\n", 3, "at least 1"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: 4, kernel: 3, groups: 2}\n", 3, "groups"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: 4, kernel: 9}\n", 3, "larger than its padded input"),
    ("input: 8x8x3\nlayers:\n  - {kind: dense, units: 4}\n", 3, "flat vector"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, name: a, filters: 4, kernel: 3}\n"
     "  - {kind: concat, from: [a, input]}\n", 4, "equal H x W"),
    ("input: 8x8x3\nlayers:\n  - {kind: add}\n", 3, "at least 2 inputs"),
    ("input: 8x8x3\nvars: {a: b + 1}\nlayers:\n  - {kind: relu}\n", 2, "unknown variable 'b'"),
    ("input: 8x8x3\nlayer:\n  - {kind: relu}\n", 2, "did you mean 'layers'"),
    ("input: 8x8x3\nblocks:\n  x:\n    layers: [{kind: x}]\nlayers:\n  - {kind: x}\n", 4, "instantiates itself"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: __import__('os'), kernel: 1}\n", 3, "unknown function"),
    ("input: 8x8x3\nlayers:\n  - {kind: conv, filters: x.y, kernel: 1}\n", 3, "not allowed"),
])
def test_errors_name_the_line(spec: str, line: int, fragment: str) -> None:
    with pytest.raises(SpecError) as e:
        analyze_text(spec)
    text = str(e.value) + " ".join(f"{d.message} {d.hint}" for d in e.value.diagnostics)
    assert fragment in text
    assert e.value.loc is not None and e.value.loc.line == line and e.value.loc.path == "test.yaml"


def test_all_structural_errors_are_reported_together() -> None:
    with pytest.raises(SpecError) as e:
        archcalc.load(text="input: 8x8x3\nlayers:\n  - {kind: covn}\n  - {kind: conv, filtres: 1}\n")
    # unknown kind (line 3); unknown field, missing filters, missing kernel (line 4)
    assert [d.loc.line for d in e.value.diagnostics] == [3, 4, 4, 4]


def test_flow_mapping_comma_gets_a_hint() -> None:
    with pytest.raises(SpecError) as e:
        archcalc.load(text="input: 8x8x3\nlayers:\n  - {kind: conv, filters: max(8, 4), kernel: 1}\n")
    assert "quote an expression" in e.value.hint


def test_duplicate_keys_rejected() -> None:
    with pytest.raises(SpecError) as e:
        archcalc.load(text="input: 8x8x3\nlayers:\n  - kind: conv\n    kernel: 3\n    kernel: 5\n")
    assert e.value.loc.line == 5 and "duplicate key 'kernel'" in e.value.message


def test_load_accepts_text_path_and_stdin_forms(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = "input: 4\nlayers:\n  - {kind: relu}\n"
    p = tmp_path / "s.yaml"
    p.write_text(text)
    assert archcalc.load(p).layers == archcalc.load(str(p)).layers
    assert archcalc.load(text).name == "<text>"
    with pytest.raises(SpecError, match="no such file"):
        archcalc.load(tmp_path / "missing.yaml")


def test_input_text_is_the_command_line_notation() -> None:
    # the spec's `input:` and `--input` share one parser: HxWxC, H,W,C or a flat length
    for text in ("32x32x3", "32 x 32 x 3", "'32,32,3'"):
        assert analyze_text(f"input: {text}\nlayers:\n  - {{kind: relu}}\n").input_shape == (32, 32, 3)
    assert analyze_text("input: '784'\nlayers:\n  - {kind: relu}\n").input_shape == (784,)
