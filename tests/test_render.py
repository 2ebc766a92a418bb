"""Rendered outputs: golden files pin the format; invariants pin the arithmetic."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import ROOT, SPEC_PATHS, SPECS, run

import archcalc

ALL_SPECS = SPEC_PATHS


@pytest.fixture(autouse=True)
def _at_root(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Golden outputs name specs by their path relative to the repository, wherever it is cloned."""
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("fmt,ext", [("table", "txt"), ("json", "json"), ("csv", "csv"), ("markdown", "md")])
def test_lenet5_golden(fmt: str, ext: str, golden) -> None:  # type: ignore[no-untyped-def]
    r = run("summarize", "specs/lenet5.yaml", "--format", fmt)
    assert r.exit_code == 0, r.stderr
    golden(f"lenet5.{ext}", r.stdout)


def test_explain_golden(golden) -> None:  # type: ignore[no-untyped-def]
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--explain")
    assert r.exit_code == 0
    golden("lenet5.explain.txt", r.stdout)


def test_folded_table_golden(golden) -> None:  # type: ignore[no-untyped-def]
    r = run("summarize", str(SPECS / "vgg16.yaml"), "--depth", "1", "--other")
    assert r.exit_code == 0
    golden("vgg16.depth1.txt", r.stdout)


@pytest.mark.parametrize("path", ALL_SPECS, ids=[str(p.relative_to(SPECS)) for p in ALL_SPECS])
def test_rows_sum_to_totals(path) -> None:  # type: ignore[no-untyped-def]
    an = archcalc.analyze(path)
    t = an.totals
    for depth in (None, 1, 2):
        rows = an.folded(depth)
        assert sum(r.params for r in rows) == t.params
        assert sum(r.trainable for r in rows) == t.trainable_params
        assert sum(r.macs for r in rows) == t.macs
        for k, v in t.other_ops.items():
            assert sum(r.other.get(k, 0) for r in rows) == v
    # every row's MACs and params are the values of the formulas --explain prints
    for r in an.rows:
        assert r.macs_formula.value == r.macs
        assert r.params_formula.value == r.params


def test_json_schema_fields() -> None:
    d = json.loads(run("summarize", str(SPECS / "vgg16.yaml"), "-f", "json").stdout)
    assert d["schema_version"] == 1
    assert {"macs", "flops", "params", "shapes", "batch", "dtype"} <= set(d["conventions"])
    assert d["input_shape"] == [224, 224, 3]
    t = d["totals"]
    assert (t["params"], t["macs"], t["flops"]) == (138_357_544, 15_470_264_320, 2 * 15_470_264_320)
    assert t["trainable_params"] + t["non_trainable_params"] == t["params"]
    assert all(isinstance(t[k], int) for k in ("params", "macs", "flops", "param_bytes", "activation_bytes"))
    layer = d["layers"][1]
    assert {"name", "kind", "output_shape", "params", "macs"} <= set(layer)
    assert layer["name"] == "block1/conv1/conv" and layer["output_shape"] == [224, 224, 64]
    assert sum(x["macs"] for x in d["layers"]) == t["macs"]


def test_json_explain_carries_formulas() -> None:
    d = json.loads(run("summarize", str(SPECS / "examples/inception_naive.yaml"), "-f", "json", "--explain").stdout)
    assert d["layers"][1]["macs_formula"] == "H'·W'·n_c'·(f·f·n_c) = 28·28·32·(5·5·192) = 120,422,400"


def test_csv_parses_and_sums() -> None:
    rows = list(csv.DictReader(io.StringIO(run("summarize", str(SPECS / "lenet5.yaml"), "-f", "csv").stdout)))
    assert sum(int(r["params"]) for r in rows) == 61_706
    assert rows[1]["name"] == "conv1" and rows[1]["output_shape"] == "28x28x6"


def test_markdown_is_a_pipe_table() -> None:
    md = run("summarize", str(SPECS / "lenet5.yaml"), "-f", "markdown").stdout
    assert "| layer | kind | output | params | MACs | % MACs |" in md
    assert "| **total** |  |  | **61,706** | **416,520** | 100.0% |" in md


def test_memory_totals() -> None:
    t = archcalc.analyze(SPECS / "lenet5.yaml", dtype="float16").totals
    assert t.param_bytes == 61_706 * 2
    # outputs held: 32·32·1 + 2·(28·28·6) + 14·14·6 + 2·(10·10·16) + 5·5·16 + 400 + 2·120 + 2·84 + 10
    elems = 32 * 32 + 2 * 28 * 28 * 6 + 14 * 14 * 6 + 2 * 10 * 10 * 16 + 5 * 5 * 16 + 400 + 2 * 120 + 2 * 84 + 10
    assert t.activation_bytes == elems * 2


def test_astronomical_figures_render_exactly(write) -> None:  # type: ignore[no-untyped-def]
    # H = W = 2**62 (each size within the bound, 2**63 - 1): MACs 2**124 · 3 · 1000, exact integers
    path = write("input: 4611686018427387904x4611686018427387904x3\nlayers:\n"
                 "  - {kind: conv, filters: 1000, kernel: 1, bias: false}\n")
    r = run("summarize", str(path))
    assert r.exit_code == 0, r.stderr
    assert f"{2**124 * 3 * 1000:,}" in r.stdout
    d = json.loads(run("summarize", str(path), "-f", "json").stdout)
    assert d["output_shape"] == [2**62, 2**62, 1000] and d["totals"]["macs"] == 2**124 * 3 * 1000


def test_computed_dimensions_are_bounded_too(write) -> None:  # type: ignore[no-untyped-def]
    # 20 upsamples by 2**62 per side made H = W = 4·2**1240, past the 4,300 digits str() prints
    # (issue 15); every computed size now has the bound a written one has, at the layer passing it
    path = write("input: 4x4x1\nlayers:\n  - {kind: upsample, scale: 4611686018427387904, repeat: 20}\n")
    r = run("summarize", str(path))
    assert r.exit_code == 1 and f"{path}:3:5: layer 'upsample1' (upsample) on input 4 x 4 x 1: its output has a " \
        f"dimension of {4 * 2**62}, more than the largest size archcalc accepts, 2^63 - 1" in r.stderr


def test_huge_fractional_variable_in_json(write) -> None:  # type: ignore[no-untyped-def]
    path = write('input: 4x4x1\nvars: {a: "2**2000 + 0.5"}\nlayers:\n  - {kind: relu}\n')
    d = json.loads(run("summarize", str(path), "-f", "json").stdout)
    assert d["variables"]["a"] == f"{2 * 2**2000 + 1}/2"  # exact, as text


def test_walk_error_inside_a_block_names_the_instance(write) -> None:  # type: ignore[no-untyped-def]
    path = write("input: 4x4x1\nblocks:\n  b:\n    layers:\n      - {kind: conv, filters: 2, kernel: 7}\n"
                 "layers:\n  - {kind: b, name: bad}\n")
    err = run("summarize", str(path)).stderr
    assert f"error: {path}:5:42: layer 'bad/conv1' (conv)" in err
    assert f"note: in block 'b' used at {path}:7:5 as bad" in err
