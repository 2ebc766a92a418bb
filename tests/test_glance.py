"""Output people read at a glance (issue 13 items 3 and 6, issue 15's finding 33).

Figures of other tools are measured, with the tool, its version, the model and the batch named
beside them; the rest is arithmetic written out, or archcalc's own figures checked against each
other (lines that must add up).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, SPECS, run, run_on_terminal, runner

import archcalc
from archcalc import render, report, textable
from archcalc.cli import cli

ALL_SPECS = sorted(p for p in SPECS.rglob("*.yaml") if not p.is_relative_to(SPECS / "lib"))  # libraries: blocks only
RESNET50 = SPECS / "resnet50.yaml"


def totals(an: archcalc.Analysis) -> dict[str, str]:
    return dict(render.totals_lines(an))


def number(text: str) -> int:
    """The first figure of a totals line: '25,557,032 (25.56 M)' -> 25557032."""
    return int(re.match(r"[\d,]+", text).group(0).replace(",", ""))  # type: ignore[union-attr]


# --- the totals in torch's and Keras's words ----------------------------------------------------

def test_resnet50_totals_are_what_torch_and_keras_users_see() -> None:
    an = archcalc.analyze(RESNET50)
    t = totals(an)
    # torchvision 0.29.1, models/resnet.py, ResNet50_Weights.IMAGENET1K_V1 meta: "num_params": 25557032.
    # torchinfo 1.8.0 (torch 2.13.0+cpu) on the plain-torch ResNet-50 of benchmarks/bench_peers.py,
    # input_size (1, 3, 224, 224), printed: Total params: 25,557,032 / Trainable params: 25,557,032 /
    # Non-trainable params: 0 / Input size (MB): 0.60 / Params size (MB): 102.23
    assert number(t["Total params"]) == 25_557_032
    assert number(t["Trainable params"]) == 25_557_032
    assert t["Non-trainable params"] == "0"
    assert t["Input size"] == f"{224 * 224 * 3 * 4:,} B (0.60 MB)"          # 602,112 B
    assert t["Params size"] == f"{25_557_032 * 4:,} B (102.23 MB)"          # 102,228,128 B
    # BatchNorm running mean and variance: 2 per channel of its 53 BatchNorm layers, 26,560 channels;
    # Keras counts them as non-trainable params: 25,557,032 + 53,120 = 25,610,152
    assert number(t["Buffers"]) == 2 * 26_560 == 53_120
    assert "25,610,152" in t["Buffers"] and "Keras" in t["Buffers"] and "buffers in PyTorch" in t["Buffers"]
    assert t["Buffers size"] == f"{53_120 * 4:,} B (0.21 MB)"
    assert number(t["Total mult-adds"]) == 4_089_184_256                     # torchvision _ops 4.089
    # torchinfo's own memory lines for that model (same run): Forward/backward pass size (MB): 177.83,
    # Estimated Total Size (MB): 280.66
    conv = dict(render.totals_lines(an, "torchinfo"))
    assert "Forward/backward pass size (MB): 177.83" in conv["torchinfo sizes"]
    assert "Estimated Total Size (MB): 280.66" in conv["torchinfo sizes"]
    assert number(conv["torchinfo total"]) == 4_089_238_376                  # torchinfo's Total mult-adds


@pytest.mark.parametrize("path", ALL_SPECS, ids=[str(p.relative_to(SPECS)) for p in ALL_SPECS])
def test_totals_add_up(path) -> None:  # type: ignore[no-untyped-def]
    """A reader adding the lines gets the figure the lines say they add up to."""
    an = archcalc.analyze(path)
    t = totals(an)
    total = number(t["Total params"])
    assert total == number(t["Trainable params"]) + number(t["Non-trainable params"])
    buffers = number(t["Buffers"]) if "Buffers" in t else 0
    assert total + buffers == an.totals.params  # the Keras figure the Buffers line names
    parts = [number(t["Params size"]), number(t["Forward pass size"])]
    parts += [number(t["Buffers size"])] if buffers else []
    assert number(t["Estimated total size"]) == sum(parts)
    assert ("buffers" in t["Estimated total size"]) == bool(buffers)
    assert number(t["FLOPs"]) == 2 * number(t["Total mult-adds"])
    # the table's params column adds up to Total params at every depth, each folded row to its layers
    for depth in (None, 1, 2):
        rows = an.folded(depth)
        assert sum(render.torch_params(r) for r in rows) == total
        for r in rows:
            if r.node is None:
                inner = [x for x in an.rows if x.name.startswith(r.name + "/")]
                assert r.layers == len(inner)
                assert (r.macs, r.params) == (sum(x.macs for x in inner), sum(x.params for x in inner))
    body = [line for line, _ in render.table(an)]
    assert next(line for line in body if line.startswith("total ")).split()[1] == f"{total:,}"


def test_json_keeps_its_fields_and_adds_the_torch_words() -> None:
    d = json.loads(run("summarize", str(RESNET50), "-f", "json").stdout)
    assert d["schema_version"] == 1
    t = d["totals"]
    assert (t["params"], t["trainable_params"], t["non_trainable_params"]) == (25_610_152, 25_557_032, 53_120)
    assert (t["torch_params"], t["buffers"], t["buffer_bytes"]) == (25_557_032, 53_120, 53_120 * 4)
    assert t["input_bytes"] == 602_112
    assert t["estimated_total_bytes"] == t["param_bytes"] + t["peak_activation_bytes"]
    assert d["input_layout"] == "HWC"
    bn1 = next(x for x in d["layers"] if x["name"] == "bn1")
    assert (bn1["params"], bn1["trainable_params"], bn1["non_trainable_params"]) == (256, 128, 128)


# --- --depth 0, folded rows ---------------------------------------------------------------------

def test_depth_zero_prints_the_totals_alone() -> None:
    out = run("summarize", str(RESNET50), "--depth", "0").stdout
    assert "layer" not in out.split("\n")[2] and "conv1" not in out
    assert out.split("\n")[2].startswith("Total params          25,557,032")
    assert json.loads(run("summarize", str(RESNET50), "-f", "json", "-d", "0").stdout)["layers"] == []
    assert run("summarize", str(RESNET50), "-f", "csv", "-d", "0").stdout.count("\n") == 1  # the header
    md = run("summarize", str(RESNET50), "-f", "markdown", "-d", "0").stdout
    assert "| layer |" not in md and "| Total params | 25,557,032 (25.56 M) |" in md
    cmp = run("compare", str(RESNET50), str(SPECS / "resnet34.yaml"), "-d", "0").stdout
    assert "\nMACs " in cmp and not re.search(r"^(layer|conv1) ", cmp, re.M)  # totals, no layer table
    assert run("graph", str(RESNET50), "-d", "0").exit_code == 2  # a graph of nothing: refused


def test_folded_rows_show_subtotals() -> None:
    out = run("summarize", str(RESNET50), "-d", "1", "--other", "--memory").stdout
    row = next(line for line in out.splitlines() if line.startswith("layer1 "))
    an = archcalc.analyze(RESNET50)
    inner = [r for r in an.rows if r.name.startswith("layer1/")]
    # 32 layers; params without buffers, MACs, the other-op categories, bytes: all sums of the layers'
    assert "stage (32 layers)" in row and len(inner) == 32
    for figure in (sum(render.torch_params(r) for r in inner), sum(r.macs for r in inner),
                   sum(r.other.get("normalization", 0) for r in inner), sum(r.params for r in inner) * 4):
        assert f" {figure:,} " in f"{row} "


# --- channels-first input, layouts, the batch in shapes -----------------------------------------

CHW_TEXT = "input: 3x32x32\nlayers:\n  - {kind: conv, filters: 8, kernel: 3}\n"


def test_channels_first_input_is_warned_with_the_likely_shape(write) -> None:  # type: ignore[no-untyped-def]
    r = run("summarize", str(write(CHW_TEXT)), "-d", "0")
    assert r.exit_code == 0
    assert re.search(r"warning: .*spec\.yaml:1:8: input 3 x 32 x 32 is read as H x W x C .* which would be "
                     r"32 x 32 x 3", r.stderr)
    assert "add `layout: CHW`" in r.stderr and " 1 | input: 3x32x32" in r.stderr
    # the warning comes before an error the shape then causes (1 x 28 x 28 cannot take a 5 x 5 kernel)
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--input", "1x32x32")
    assert r.exit_code == 1 and r.stderr.index("warning: --input 1 x 32 x 32") < r.stderr.index("error:")
    assert "--input 1x32x32:CHW" in r.stderr


def test_a_layout_said_reads_the_input_as_written(write) -> None:  # type: ignore[no-untyped-def]
    chw = archcalc.analyze(archcalc.load(text="layout: CHW\n" + CHW_TEXT))
    hwc = archcalc.analyze(archcalc.load(text=CHW_TEXT.replace("3x32x32", "32x32x3")))
    assert chw.input_shape == hwc.input_shape == (32, 32, 3) and chw.totals == hwc.totals
    assert chw.warnings == [] and hwc.warnings == []
    assert archcalc.analyze(archcalc.load(text="layout: hwc\n" + CHW_TEXT)).warnings == []  # meant: silenced
    r = run("summarize", str(write("layout: CHW\n" + CHW_TEXT)), "--bars", "none")
    assert r.stderr == "" and "input 3 x 32 x 32 (shapes C x H x W)" in r.stdout
    assert "conv1  conv   8 x 30 x 30" in r.stdout  # C x H x W, as written
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--input", "1x32x32:CHW", "-d", "0")
    assert r.exit_code == 0 and r.stderr == "" and "input 1 x 32 x 32 (shapes C x H x W)" in r.stdout
    r = run("summarize", str(write("layout: NCHW\n" + CHW_TEXT)))
    assert r.exit_code == 1 and "layout: expected HWC or CHW, received 'NCHW' (text)" in r.stderr
    assert ":2:9:" not in r.stderr and "spec.yaml:1:9" in r.stderr
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--input", "32x32x1:WHC")
    assert r.exit_code == 1 and "expected HWC or CHW" in r.stderr and "Traceback" not in r.stderr


def test_shapes_with_the_batch_as_torchinfo_writes_them() -> None:
    # torchinfo 1.8.0 prints ResNet-50's conv1 as [1, 64, 112, 112] and the fc as [1, 1000] (run above)
    out = run("summarize", str(RESNET50), "--shapes", "nchw", "--bars", "none").stdout
    assert re.search(r"^conv1 +conv +1 x 64 x 112 x 112 ", out, re.M)
    assert re.search(r"^fc +dense +1 x 1000 ", out, re.M)
    assert "input 1 x 3 x 224 x 224 (shapes N x C x H x W), batch 1" in out
    out = run("summarize", str(RESNET50), "--shapes", "nhwc", "--batch", "8").stdout
    assert re.search(r"^conv1 +conv +8 x 112 x 112 x 64 ", out, re.M)
    out = run("compare", str(RESNET50), str(SPECS / "resnet34.yaml"), "--shapes", "chw").stdout
    assert re.search(r"^conv1 +64 x 112 x 112 ", out, re.M)


# --- 80 and 120 columns ---------------------------------------------------------------------------

def _fake_execute(graph, **_):  # type: ignore[no-untyped-def]
    """The executor's result as the analysis predicts it, each layer taking 1 ms: the layout
    golden of run and verify, without running ResNet-50 (the slow test below runs it)."""
    from archcalc.execute import Execution, LayerRun
    from archcalc.walk import walk
    rows = walk(graph).rows
    return Execution([LayerRun(r.name, r.kind, tuple(r.output_shape), r.trainable, r.non_trainable, r.macs, 0,
                               0.001) for r in rows], graph.batch, "float32", {}, 0, 0, 0.001 * len(rows))


COMMANDS = {
    "summarize": ["summarize", str(RESNET50)],
    "compare": ["compare", str(SPECS / "resnet34.yaml"), str(RESNET50)],
    "run": ["run", str(RESNET50)],
    "verify": ["verify", str(RESNET50), "--all"],
}


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_resnet50_fits_the_terminal(command: str, width: int, golden, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("archcalc.execute.execute", _fake_execute)
    args = [a.replace(str(ROOT) + "/", "") for a in COMMANDS[command]]
    r = runner().invoke(cli, args, env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= width, [line for line in lines if len(line) > width]
    golden(f"resnet50.{command}.{width}.txt", r.stdout)
    # nothing silently lost: every layer is a row, once (names shortened stay unique)
    start = next(i for i, line in enumerate(lines) if line.startswith("layer "))
    names = [line.split()[0] for line in lines[start + 1:] if line.strip() and not line.startswith("total")]
    names = names[:names.index("fc") + 1]
    assert len(set(names)) == len(names) == 175  # ResNet-34's names are all among ResNet-50's


@pytest.mark.slow
def test_resnet50_run_and_verify_at_80_columns() -> None:
    for command in ("run", "verify"):
        r = runner().invoke(cli, [*COMMANDS[command]], env={"COLUMNS": "80"}, catch_exceptions=False)
        assert r.exit_code == 0, r.stderr
        assert max(map(len, r.stdout.splitlines())) <= 80
    assert "4,089,184,256 multiplications" in r.stdout  # verify's verdict keeps the exact figure


def test_names_shortened_in_the_middle_stay_unique() -> None:
    names = [r.name for r in archcalc.analyze(SPECS / "resnet152.yaml").rows]
    for w in (24, 18, 16):
        short = textable.shorten_names(names, w)
        assert short is not None and len(set(short)) == len(names) and max(map(len, short)) <= w
        for full, s in zip(names, short, strict=True):
            if s != full:
                head, _, tail = s.partition(textable.ELLIPSIS)
                assert full.startswith(head) and full.endswith(tail)
    assert textable.shorten_names(["abcd", "abce"], 3) == ["a…d", "a…e"]
    assert textable.shorten_names(["abcd", "abce"], 2) is None  # too narrow to tell them apart


@pytest.mark.parametrize("n,text", [(0, "0"), (999, "999"), (1000, "1.00K"), (9408, "9.41K"), (9995, "10.0K"),
                                    (999_499, "999K"), (999_500, "1.00M"), (25_557_032, "25.6M"),
                                    (118_013_952, "118M"), (4_089_184_256, "4.09G"), (10**21, "1.0E+21")])
def test_compact_figures(n: int, text: str) -> None:
    # three significant digits, half up, on the exact integer: 9,995 / 1,000 = 9.995 -> 10.0
    assert textable.compact(n) == text


# --- TERM=dumb, NO_COLOR, kinds -------------------------------------------------------------------

def test_term_dumb_gets_no_escape_codes() -> None:
    env = {"NO_COLOR": "", "COLUMNS": "100"}
    _, styled = run_on_terminal("summarize", "specs/lenet5.yaml", env={**env, "TERM": "xterm"})
    assert b"\x1b[1m" in styled  # the header row, bold
    _, dumb = run_on_terminal("summarize", "specs/lenet5.yaml", env={**env, "TERM": "dumb"})
    assert b"\x1b" not in dumb and b"61,706" in dumb


def test_kinds_conv_aligns_its_rows() -> None:
    for cols in (None, "80"):
        r = runner().invoke(cli, ["kinds", "conv"], env={"COLUMNS": cols})
        lines = r.stdout.split("fields:\n")[1].splitlines()
        rows = [line for line in lines if not line.startswith("   ")]  # each field's first line
        assert [row.split()[0] for row in rows] == ["filters", "kernel", "stride", "padding", "dilation", "groups",
                                                    "bias"]
        # cells are two or more spaces apart: name, type, default and meaning each start in one column
        starts = [[m.start() for m in re.finditer(r"\S+(?: \S+)*", row)][:4] for row in rows]
        assert all(len(x) == 4 for x in starts) and len({tuple(x) for x in starts}) == 1, starts
        if cols:
            assert max(map(len, lines)) <= 80


# --- in a notebook ---------------------------------------------------------------------------------

def test_an_analysis_prints_as_a_short_summary() -> None:
    an = archcalc.analyze(RESNET50)
    text = repr(an)
    assert len(text) < 200 and text.startswith("<Analysis ResNet-50: input 224 x 224 x 3")
    assert "25,557,032 params (+ 53,120 buffers), 4,089,184,256 MACs" in text
    assert repr(an.rows[1]) == ("Row(name='conv1', kind='conv', output_shape=(112, 112, 64), params=9408, "
                                "macs=118013952)")


def test_an_analysis_renders_as_a_table_in_jupyter_and_rich() -> None:
    an = archcalc.analyze(RESNET50, depth=1)
    html = an._repr_html_()
    assert html.count("<tr>") == 1 + 11 + 1 + len(render.totals_lines(an))  # header, rows, total, totals
    assert "<td>layer1</td><td>bottleneck_stage (32 layers)</td>" in html and "25,557,032" in html
    assert "&lt;" not in archcalc.analyze(SPECS / "lenet5.yaml")._repr_html_()
    import io

    from rich.console import Console
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(an)
    drawn = console.export_text()
    assert "layer1" in drawn and "bottleneck_stage (32 layers)" in drawn and "Total params" in drawn
    assert max(map(len, drawn.splitlines())) <= 80


def test_analyze_depth_records_and_dataframe(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    an = archcalc.analyze(RESNET50, depth=1)
    assert len(an.rows) == 175  # rows keep every layer
    records = an.records()
    assert [r["name"] for r in records] == [r.name for r in an.folded(1)]
    assert sum(r["macs"] for r in records) == an.totals.macs
    assert sum(r["torch_params"] for r in records) == an.totals.torch_params
    assert sum(r["normalization"] for r in records) == an.totals.other_ops["normalization"]
    assert len({tuple(r) for r in records}) == 1  # every record has the same keys
    with pytest.raises(archcalc.SpecError, match="depth must be a whole number >= 0"):
        archcalc.analyze(RESNET50, depth=-1)
    monkeypatch.setitem(sys.modules, "pandas", None)  # as where pandas is not installed
    with pytest.raises(archcalc.ArchcalcError, match="needs pandas, which is not installed"):
        an.to_dataframe()


def test_dataframe_with_pandas() -> None:
    pd = pytest.importorskip("pandas")
    df = archcalc.analyze(RESNET50).to_dataframe(depth=1)
    assert isinstance(df, pd.DataFrame) and df.index.name == "name"
    assert int(df["macs"].sum()) == 4_089_184_256 and df.loc["layer1", "layers"] == 32


def test_explain_honours_depth_and_wraps_its_sums() -> None:
    out = run("summarize", str(RESNET50), "--explain", "--depth", "1").stdout
    assert "layer1 (bottleneck_stage, 32 layers): 56 x 56 x 64 -> 56 x 56 x 256" in out
    assert "layer1/block1/conv1" not in out
    assert "  MACs    sum of its layers = 12,845,056 + " in out
    an = archcalc.analyze(RESNET50)
    assert f"total params {an.totals.torch_params:,} = 9,408 + 128 + " in out
    r = runner().invoke(cli, ["summarize", str(RESNET50), "--explain"], env={"COLUMNS": "80"})
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    at = next(i for i, line in enumerate(lines) if line.startswith("total MACs 4,089,184,256 = "))
    assert lines[at + 1].startswith(" " * len("total MACs 4,089,184,256 = ")) and lines[at + 1].strip()[0].isdigit()


# --- the report layer, and JSON that is linear and lean (finding 33) --------------------------------

def test_analysis_does_not_import_the_report_layer() -> None:
    code = ("import sys, archcalc.analysis, archcalc.walk\n"
            "print(sorted(m for m in ('archcalc.render', 'archcalc.report', 'archcalc.memory', "
            "'archcalc.profiles', 'archcalc.receptive') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.strip() == "[]"
    an = archcalc.analyze(SPECS / "lenet5.yaml")
    assert an.to_dict(depth=1, formulas=True) == report.to_dict(an, 1, True)
    assert json.loads(report.to_json(an, convention="thop")) == report.to_dict(an, convention="thop")


def test_json_is_written_a_layer_at_a_time(write) -> None:  # type: ignore[no-untyped-def]
    """Finding 33: `-f json` of 99,999 layers took 3.6 x the table's time and 5 x its memory, built
    as one indented dump. The document is now written a layer per piece, and what the writer holds
    stays far below the text it writes (measured with tracemalloc, no clock)."""
    import tracemalloc
    n = 20_000
    an = archcalc.analyze(archcalc.load(text=f"input: 8x8x3\nlayers:\n  - {{kind: relu, repeat: {n}}}\n"))
    an.totals  # noqa: B018 - computed once, as the table would
    pieces = 0
    size = 0
    tracemalloc.start()
    try:
        for piece in report.iter_json(an):
            pieces += 1
            size += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pieces == n + 1 + 2  # the head, one per row (the input and n layers), the tail
    # the text is about 370 bytes a layer; what the writer holds at its peak is the schedule of the
    # peak activation (a few ints a layer, about 130 bytes), not the document
    assert peak < size / 2, (peak, size)
    d = json.loads("".join(report.iter_json(an)))
    assert len(d["layers"]) == n + 1 and d["layers"][-1]["name"] == f"relu{n}"


def test_json_layers_are_one_a_line() -> None:
    out = run("summarize", str(SPECS / "lenet5.yaml"), "-f", "json").stdout
    layer_lines = [line for line in out.splitlines() if line.startswith('    {"name": ')]
    assert len(layer_lines) == 13 and all(json.loads(line.rstrip(",")) for line in layer_lines)  # input + 12 layers
    assert math.prod(json.loads(out)["input_shape"]) == 32 * 32
