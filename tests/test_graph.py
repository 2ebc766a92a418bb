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
        else:
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
    nodes, edges = PARSERS[fmt](diagram.render(an, fmt))
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
    nodes, edges = PARSERS[fmt](diagram.render(an, fmt, depth))
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
    assert run("graph", str(SPECS / "lenet5.yaml"), "-f", "png").exit_code == 2
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
