"""`archcalc graph`: the diagram's nodes and edges are the graph's, in Mermaid and in DOT."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SPEC_PATHS, SPECS, analyze_text, run

import archcalc
from archcalc import diagram

ALL_SPECS = SPEC_PATHS

_M_NODE = re.compile(r'^\s*(n\d+)(\(\[|\[\[|\[)"([^"]*)"(\]\)|\]\]|\])$')
_M_EDGE = re.compile(r"^\s*(n\d+) --> (n\d+)$")
_D_NODE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
_D_EDGE = re.compile(r"^\s*(n\d+) -> (n\d+);$")
_D_ATTR = re.compile(r'^\s*(rankdir=\w+|(graph|node|edge) \[.*\]|label="(?:[^"\\]|\\.)*"|style=\w+);$')


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Node id -> label and the edges; fails on any line that is not understood."""
    lines = text.splitlines()
    assert lines[0].startswith("flowchart ") and lines[1].startswith("  %% ")
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    depth = 0
    for line in lines[2:]:
        if m := _M_NODE.match(line):
            assert m.group(1) not in nodes
            nodes[m.group(1)] = m.group(3)
        elif m := _M_EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        elif re.match(r'^\s*subgraph c\d+\["[^"]*"\]$', line):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0
        elif not line.startswith("  %% "):  # a comment: what was folded to fit Mermaid's limit
            raise AssertionError(f"unexpected Mermaid line: {line!r}")
    assert depth == 0
    return nodes, edges


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    lines = text.splitlines()
    assert lines[0].startswith("digraph ") and lines[-1] == "}"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    depth = 0
    for line in lines[1:-1]:
        if m := _D_NODE.match(line):
            assert m.group(1) not in nodes
            nodes[m.group(1)] = m.group(2)
        elif m := _D_EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        elif re.match(r"^\s*subgraph cluster_c\d+ \{$", line):
            depth += 1
        elif line.strip() == "}":
            depth -= 1
            assert depth >= 0
        elif not _D_ATTR.match(line):
            raise AssertionError(f"unexpected DOT line: {line!r}")
    assert depth == 0
    return nodes, edges


PARSERS = {"mermaid": parse_mermaid, "dot": parse_dot}


def graph_edges(g: archcalc.Graph) -> set[tuple[str, str]]:
    return {(f"n{i}", f"n{j}") for j, n in enumerate(g.nodes) for i in n.inputs}


@pytest.mark.parametrize("fmt", diagram.FORMATS)
@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: str(p.relative_to(SPECS)))
def test_every_shipped_spec_unfolded(path: Path, fmt: str) -> None:
    an = archcalc.analyze(path)
    nodes, edges = PARSERS[fmt](diagram.render(an, fmt, max_edges=0))  # never folded to fit Mermaid's limit
    assert len(nodes) == len(an.graph.nodes)
    assert len(edges) == len(set(edges)) == len(graph_edges(an.graph))
    assert set(edges) == graph_edges(an.graph)
    for i, r in enumerate(an.rows):  # every label holds the layer's name (last part) and output shape
        assert r.name.split("/")[-1] in nodes[f"n{i}"]
        assert " x ".join(map(str, r.output_shape)) in nodes[f"n{i}"]


def test_every_from_edge_present() -> None:
    an = archcalc.analyze(SPECS / "examples" / "inception_module.yaml")
    nodes, edges = parse_mermaid(diagram.render(an, "mermaid"))
    idx = {r.name: f"n{r.index}" for r in an.rows}
    concat = idx["inception3a/concat"]
    for branch in ("b1_relu", "b2_relu", "b3_relu", "b4_relu"):
        assert (idx[f"inception3a/{branch}"], concat) in edges
    for first in ("b1", "b2_reduce", "b3_reduce", "b4_pool"):  # `from: input` inside the block
        assert (idx["input"], idx[f"inception3a/{first}"]) in edges


def _owners(an: archcalc.Analysis, depth: int) -> list[str]:
    out = []
    for r in an.rows:
        parts = r.name.split("/")
        out.append("/".join(parts[:depth]) if len(parts) > depth else r.name)
    return out


@pytest.mark.parametrize("fmt", diagram.FORMATS)
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: str(p.relative_to(SPECS)))
def test_folded_edges_cross_block_boundaries(path: Path, depth: int, fmt: str) -> None:
    an = archcalc.analyze(path)
    folded = an.folded(depth)
    nodes, edges = PARSERS[fmt](diagram.render(an, fmt, depth, max_edges=0))
    assert len(nodes) == len(folded)
    ids = {r.name: f"n{k}" for k, r in enumerate(folded)}
    own = _owners(an, depth)
    expected = {(ids[own[i]], ids[own[j]]) for j, n in enumerate(an.graph.nodes) for i in n.inputs
                if own[i] != own[j]}
    assert set(edges) == expected and len(edges) == len(expected)
    assert all(a != b for a, b in edges)


RESIDUAL = """
name: residual
input: 8x8x4
blocks:
  res:
    args: {c: null}
    layers:
      - {kind: conv, name: a, filters: c, kernel: 3, padding: same}
      - {kind: relu}
      - {kind: conv, name: b, filters: c, kernel: 3, padding: same}
      - {kind: add, name: sum, from: [input, b]}
layers:
  - {kind: conv, name: stem.1, filters: 4, kernel: 1}
  - {kind: res, name: stage-1, c: 4, repeat: 2}
  - {kind: add, name: skip, from: [stem.1, stage-1]}
"""


def test_skip_connections_and_folding() -> None:
    an = analyze_text(RESIDUAL)
    nodes, edges = parse_mermaid(diagram.render(an, "mermaid"))
    idx = {r.name: f"n{r.index}" for r in an.rows}
    assert (idx["stage-11/sum"], idx["stage-12/a"]) in edges
    assert (idx["stage-11/sum"], idx["stage-12/sum"]) in edges  # the residual edge of block 2
    assert (idx["stage-12/b"], idx["stage-12/sum"]) in edges
    assert (idx["stem.1"], idx["skip"]) in edges                # the long skip
    nodes, edges = parse_mermaid(diagram.render(an, "mermaid", depth=1))
    assert edges == [("n0", "n1"), ("n1", "n2"), ("n2", "n3"), ("n1", "n4"), ("n3", "n4")]
    assert nodes["n2"].startswith("stage-11<br/>res block, 4 layers<br/>8 x 8 x 4<br/>params")
    assert "[[" in diagram.render(an, "mermaid", depth=1)       # folded blocks have their own shape
    assert "shape=box3d" in diagram.render(an, "dot", depth=1)


def test_labels_are_escaped() -> None:
    text = 'name: "a \\"quoted\\" <b>name</b> #1 `x` & \\\\ back"\ninput: 4x4x1\nlayers:\n  - {kind: relu}\n'
    an = analyze_text(text)
    m = diagram.render(an, "mermaid")
    assert m.splitlines()[1].startswith("  %% a #quot;quoted#quot; #lt;b#gt;name#lt;/b#gt; #35;1 #96;x#96; #amp; \\")
    parse_mermaid(m)
    d = diagram.render(an, "dot")
    assert d.splitlines()[0] == 'digraph "a \\"quoted\\" <b>name</b> #1 `x` & \\\\ back" {'
    parse_dot(d)
    assert diagram.mermaid_escape('x"y\nz') == "x#quot;y z"
    assert diagram.dot_escape('x"y\nz\\') == 'x\\"y\\nz\\\\'


def test_cli_graph(tmp_path: Path) -> None:
    r = run("graph", str(SPECS / "vgg16.yaml"), "--depth", "1")
    assert r.exit_code == 0 and r.output.splitlines()[0] == "flowchart TD"
    r = run("graph", str(SPECS / "vgg16.yaml"), "-f", "dot", "--set", "resolution=32")
    assert r.exit_code == 0 and r.output.startswith('digraph "VGG-16"') and "1 x 1 x 512" in r.output
    out = tmp_path / "g.md"
    r = run("graph", str(SPECS / "lenet5.yaml"), "-o", str(out))
    assert r.exit_code == 0
    text = out.read_text()
    assert text.startswith("```mermaid\nflowchart TD\n  %% LeNet-5") and text.endswith("```\n")
    out = tmp_path / "g.dot"
    assert run("graph", str(SPECS / "lenet5.yaml"), "-f", "dot", "-o", str(out)).exit_code == 0
    parse_dot(out.read_text())
    assert run("graph", str(SPECS / "lenet5.yaml"), "-f", "jpeg").exit_code == 2
    r = run("graph", "-", input="input: 4x4x1\nlayers:\n  - {kind: conv, filters: 2, kernel: 9}\n")
    assert r.exit_code == 1 and "kernel 9" in r.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: str(p.relative_to(SPECS)))
def test_graphviz_accepts_dot(path: Path) -> None:
    an = archcalc.analyze(path)
    for depth in (None, 1):
        p = subprocess.run(["dot", "-Tsvg"], input=diagram.render(an, "dot", depth), text=True,
                           capture_output=True, timeout=60)
        assert p.returncode == 0 and not p.stderr, p.stderr


# --- Mermaid's edge limit ---------------------------------------------------------------------


def test_resnet152_folds_to_fit_mermaid() -> None:
    an = archcalc.analyze(SPECS / "resnet152.yaml")
    assert len(diagram.build(an).edges) == 564            # issue 13: above Mermaid's default maxEdges, 500
    assert diagram.MERMAID_MAX_EDGES == 500
    d = diagram.draw(an, "mermaid")
    assert d.depth == 2 and d.edges == len(diagram.build(an, 2).edges) <= 500   # the deepest depth that fits
    nodes, edges = parse_mermaid(d.text)
    assert len(edges) == d.edges and len(nodes) == len(an.folded(2))
    assert d.note and "folded to --depth 2" in d.note and "564 edges" in d.note
    assert d.text.splitlines()[2] == f"  %% {d.note}"          # the diagram says so too
    assert len(parse_dot(diagram.render(an, "dot"))[1]) == 564  # DOT has no such limit
    assert diagram.draw(an, "mermaid", max_edges=0).edges == 564


def test_folding_takes_the_deepest_depth_that_fits() -> None:
    an = archcalc.analyze(SPECS / "mobilenet_v2.yaml")
    full, *by_depth = (len(diagram.build(an, d).edges) for d in (None, 3, 2, 1))
    assert full > by_depth[0] > by_depth[1] > by_depth[2]
    for limit, depth in ((full, None), (full - 1, 3), (by_depth[0], 3), (by_depth[0] - 1, 2), (by_depth[2], 1)):
        d = diagram.draw(an, "mermaid", max_edges=limit)
        assert (d.depth, d.note is None) == (depth, depth is None), limit
        assert d.edges <= limit
    d = diagram.draw(an, "mermaid", depth=3, max_edges=by_depth[0] - 1)  # --depth asked for: folded further
    assert d.depth == 2 and "at --depth 3" in d.note


def test_no_folding_can_fit() -> None:
    flat = "input: 4x4x1\nlayers:\n" + "  - {kind: relu}\n" * 12
    d = diagram.draw(analyze_text(flat), "mermaid", max_edges=5)
    assert d.depth is None and d.edges == 12 and "the spec has no blocks to fold" in d.note
    an = analyze_text(RESIDUAL)
    d = diagram.draw(an, "mermaid", max_edges=2)      # even --depth 1 has 5 edges: drawn in full, said
    assert d.depth is None and d.edges == len(diagram.build(an).edges) and "no folding brings it under" in d.note


def test_cli_folds_and_says_so() -> None:
    r = run("graph", str(SPECS / "resnet152.yaml"))
    assert r.exit_code == 0 and r.stderr.startswith("note: folded to --depth 2")
    assert len(parse_mermaid(r.stdout)[1]) <= 500
    r = run("graph", str(SPECS / "resnet152.yaml"), "--max-edges", "0")
    assert r.exit_code == 0 and r.stderr == "" and len(parse_mermaid(r.stdout)[1]) == 564
    r = run("graph", str(SPECS / "resnet152.yaml"), "-f", "dot")
    assert r.exit_code == 0 and r.stderr == "" and len(parse_dot(r.stdout)[1]) == 564


# --- the output file's suffix decides the format ------------------------------------------------


@pytest.mark.parametrize("name, first", [("g.mmd", "flowchart TD"), ("g.mermaid", "flowchart TD"),
                                         ("g.md", "```mermaid"), ("g.dot", 'digraph "LeNet-5" {'),
                                         ("g.gv", 'digraph "LeNet-5" {'), ("G.DOT", 'digraph "LeNet-5" {')])
def test_output_suffix_decides_the_text_format(tmp_path: Path, name: str, first: str) -> None:
    out = tmp_path / name
    r = run("graph", str(SPECS / "lenet5.yaml"), "-o", str(out))
    assert r.exit_code == 0 and r.stderr == f"wrote {out}\n"
    assert out.read_text().splitlines()[0] == first


def test_output_suffix_and_format_must_agree(tmp_path: Path) -> None:
    spec = str(SPECS / "lenet5.yaml")
    r = run("graph", spec, "-o", str(tmp_path / "g.svg"), "-f", "mermaid")
    assert r.exit_code == 2 and "names a SVG file, but --format is mermaid" in r.stderr
    assert not (tmp_path / "g.svg").exists()
    r = run("graph", spec, "-o", str(tmp_path / "g.txt"))
    assert r.exit_code == 2 and "cannot tell the format from the suffix '.txt'" in r.stderr
    r = run("graph", spec, "-o", str(tmp_path / "graph"))
    assert r.exit_code == 2 and "a name without a suffix" in r.stderr
    assert run("graph", spec, "-o", str(tmp_path / "g.txt"), "-f", "dot").exit_code == 0  # said explicitly
    assert (tmp_path / "g.txt").read_text().startswith("digraph ")
    assert run("graph", spec, "-o", str(tmp_path / "g.dot"), "-f", "dot").exit_code == 0  # agreeing: fine


def fake_dot(folder: Path, body: str) -> None:
    """A `dot` program that records its arguments and input, then runs `body` (sh)."""
    folder.mkdir(exist_ok=True)
    exe = folder / "dot"
    exe.write_text(f'#!/bin/sh\necho "$@" > "{folder}/args"\n/bin/cat > "{folder}/input"\n{body}\n')
    exe.chmod(0o755)


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_images_are_drawn_by_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    bindir = tmp_path / "bin"
    fake_dot(bindir, 'printf "IMAGE"')
    monkeypatch.setenv("PATH", str(bindir))
    out = tmp_path / f"g.{fmt}"
    r = run("graph", str(SPECS / "lenet5.yaml"), "-o", str(out), "--depth", "1")
    assert r.exit_code == 0 and out.read_bytes() == b"IMAGE"
    assert (bindir / "args").read_text().split() == [f"-T{fmt}"]
    an = archcalc.analyze(SPECS / "lenet5.yaml")
    assert (bindir / "input").read_text() == diagram.render(an, "dot", 1)  # the DOT text, as -f dot prints it


def test_graphviz_missing_or_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    r = run("graph", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / "g.png"))
    assert r.exit_code == 1 and "drawing PNG needs Graphviz's `dot` program, which is not on PATH" in r.stderr
    assert "apt install graphviz" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "g.png").exists()
    bindir = tmp_path / "bin"
    fake_dot(bindir, 'echo "Error: syntax error in line 1" >&2; exit 1')
    monkeypatch.setenv("PATH", str(bindir))
    r = run("graph", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / "g.svg"))
    assert r.exit_code == 1 and "dot could not draw the graph: Error: syntax error in line 1" in r.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_real_graphviz_images(tmp_path: Path) -> None:
    spec = str(SPECS / "examples" / "inception_module.yaml")
    for fmt, magic in (("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")):
        out = tmp_path / f"g.{fmt}"
        assert run("graph", spec, "-o", str(out)).exit_code == 0
        assert out.read_bytes().startswith(magic)
    r = run("graph", spec, "-f", "svg")  # text: to standard output as well
    assert r.exit_code == 0 and "<svg" in r.stdout and "b2_reduce" in r.stdout


def test_graph_offers_no_dtype() -> None:
    assert "--dtype" not in run("graph", "--help").output
    r = run("graph", str(SPECS / "lenet5.yaml"), "--dtype", "float16")
    assert r.exit_code == 2 and "No such option" in r.stderr and "--dtype" in r.stderr
