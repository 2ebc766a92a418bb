"""The analytic path at scale (issue 7): generated large graphs, shared layers, plain-text tables.

Speed is measured by benchmarks/ (bench_analytic.py, bench_startup.py), never asserted here;
these tests pin what the fast paths must not change.
"""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, SPECS, analyze_text, run

import archcalc
from archcalc import render, textable
from archcalc.errors import SpecError

sys.path.insert(0, str(ROOT / "benchmarks"))
import gen_specs  # noqa: E402

# One generated unit on 8 x 8 x 16 (padding same keeps 8 x 8):
#   two 3x3 convs, 16 -> 16 filters: 2 · 8·8·16·(3·3·16) = 2 · 147,456 = 294,912 MACs
#   one 3x3 depthwise:                  8·8·16·(3·3)     =               9,216 MACs
UNIT_MACS = 294_912 + 9_216
#   params: 2 · 3·3·16·16 (no bias) + 2 BatchNorm · 4·16 + depthwise 3·3·16 + 16 bias
UNIT_PARAMS = 2 * 2304 + 2 * 64 + 144 + 16


@pytest.mark.parametrize("gen", [gen_specs.nested, gen_specs.flat])
def test_generated_graphs_count_exactly(gen) -> None:  # type: ignore[no-untyped-def]
    an = analyze_text(gen(2_000))
    assert len(an.rows) == 2_000 + 1  # the layers and the input
    t = an.totals
    assert t.macs == 200 * UNIT_MACS
    assert t.params == 200 * UNIT_PARAMS
    assert t.other_ops["elementwise_adds"] == 200 * 8 * 8 * 16  # one residual add per unit


def test_nested_and_flat_agree_layer_by_layer() -> None:
    nested, flat = analyze_text(gen_specs.nested(100)), analyze_text(gen_specs.flat(100))
    assert [(r.kind, r.output_shape, r.params, r.macs, r.other) for r in nested.rows] == \
        [(r.kind, r.output_shape, r.params, r.macs, r.other) for r in flat.rows]


def test_large_graph_stays_readable_with_depth(write) -> None:  # type: ignore[no-untyped-def]
    p = write(gen_specs.nested(20_000))  # 2 stages of 1,000 units of 10 layers
    r = run("summarize", str(p), "--depth", "1", "--bars", "none")
    assert r.exit_code == 0
    body = r.stdout.splitlines()[3:7]
    assert [line.split()[0] for line in body] == ["input", "s1", "s2", "total"]
    assert "stage (10,000 layers)" in body[1] and f"{1_000 * UNIT_MACS:,}" in body[1]
    r = run("summarize", str(p), "--depth", "2", "--format", "csv")
    assert len(r.stdout.splitlines()) == 1 + 1 + 2_000  # header, input, one row per unit


def test_the_limit_counts_layers_not_the_input() -> None:
    spec = archcalc.load(text=gen_specs.nested(1_000), path="g.yaml")
    assert len(archcalc.analyze(spec, limits=archcalc.Limits(max_nodes=1_000)).rows) == 1_001
    with pytest.raises(SpecError, match="expands past 999 layers"):
        archcalc.analyze(spec, limits=archcalc.Limits(max_nodes=999))


def test_equal_layers_share_one_kind_and_their_formulas() -> None:
    an = analyze_text(gen_specs.nested(100))
    convs = [r for r in an.rows if r.name.endswith("/c1")]
    assert len(convs) == 10 and len({id(r.node.kind) for r in convs}) == 1
    assert len({id(r.macs_formula) for r in convs}) == 1
    assert convs[0].macs_formula.explain() == "H'·W'·n_c'·(f·f·n_c) = 8·8·16·(3·3·16) = 147,456"


BLOCK = """\
input: 8x8x3
vars: {k: 3}
blocks:
  b:
    args: {k: 1}
    layers:
      - {kind: conv, name: c, filters: 4, kernel: k}
layers:
"""


def test_shared_kinds_tell_values_of_other_types_apart() -> None:
    # equal text, equal variable values: one Kind; but 1 and true are equal in Python and
    # convert differently, so they must not share
    an = analyze_text(BLOCK + "  - {kind: b, name: x, k: 1}\n  - {kind: b, name: y, k: 1}\n")
    assert an.rows[1].node.kind is an.rows[2].node.kind
    with pytest.raises(SpecError, match=r"y/c.*kernel: expected an integer, received 'k' \(text\), which is true"):
        analyze_text(BLOCK + "  - {kind: b, name: x, k: 1}\n  - {kind: b, name: y, k: true}\n")


def test_shared_kinds_follow_the_variables_they_read() -> None:
    an = analyze_text(BLOCK + "  - {kind: b, name: x, k: 1}\n  - {kind: b, name: y, k: 3}\n"
                      "  - {kind: conv, name: z, filters: 2, kernel: k, repeat: 2}\n")
    shapes = {r.name: r.output_shape for r in an.rows}
    assert shapes == {"input": (8, 8, 3), "x/c": (8, 8, 4), "y/c": (6, 6, 4), "z1": (4, 4, 2), "z2": (2, 2, 2)}


def test_grid_pads_and_justifies() -> None:
    lines = textable.grid(["name", "n"], [["a", "1"], ["long", "1,000"]], ["total", "1,001"], [False, True])
    assert lines == [("name       n", "bold"), ("a          1", ""), ("long   1,000", ""), ("total  1,001", "")]


def test_narrow_terminal_drops_the_bars_first() -> None:
    an = archcalc.analyze(SPECS / "lenet5.yaml")
    wide = render.table(an, bars=("macs",))
    assert any("MACs share" in t for t, _ in wide) and textable.width(wide) > 60
    narrow = render.table(an, bars=("macs",), width=60)
    assert not any("share" in t for t, style in narrow if style != "prose")  # rows and header
    assert [t for t, _ in narrow if t.startswith("conv1")] == [
        "conv1     conv     28 x 28 x 6      156  117,600   28.2%"]
    assert "To fit 60 columns: left out: MACs share." in " ".join(t for t, _ in narrow)


def test_prose_wraps_to_the_terminal_and_tables_do_not() -> None:
    lines = [("a conventions sentence of several words", "dim"), ("params   61,706 (61.71 k): trainable", "prose"),
             ("conv1  conv  28 x 28 x 6  156  117,600", "")]
    assert textable.fit(lines, 20) == [
        ("a conventions", "dim"), ("sentence of several", "dim"), ("words", "dim"),
        ("params   61,706", "prose"), ("         (61.71 k):", "prose"), ("         trainable", "prose"),
        ("conv1  conv  28 x 28 x 6  156  117,600", "")]


def test_terminal_output_is_styled_and_no_color_is_plain(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from archcalc.cli.common import print_lines
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    lines = [("head", "bold"), ("row", ""), ("note", "dim")]
    monkeypatch.delenv("NO_COLOR", raising=False)
    print_lines(lambda width: lines)
    out = capsys.readouterr().out
    assert "\x1b[1mhead" in out and "\x1b[2mnote" in out and "row\n" in out
    monkeypatch.setenv("NO_COLOR", "1")
    print_lines(lambda width: lines)
    assert capsys.readouterr().out == "head\nrow\nnote\n"


def test_analysis_renders_in_rich() -> None:
    from rich.console import Console
    console = Console(width=200, record=True)
    console.print(archcalc.analyze(SPECS / "lenet5.yaml"))
    text = console.export_text()
    assert "conv1     conv     28 x 28 x 6      156  117,600   28.2%" in text
