"""`include:` of block libraries: relative paths inside the including file's folder, read once
each, with cycles, escapes and duplicate blocks refused and every error located where it stands
(in the library, with an "included from" note)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SPECS, run

import archcalc
from archcalc import SpecError
from archcalc.errors import render
from archcalc.source import TEXTS

LIB = """description: a block
blocks:
  unit:
    args: {c: null}
    layers:
      - {kind: conv, name: conv, filters: c, kernel: 3, padding: 1}
      - {kind: relu, name: relu}
"""
SPEC = """input: 8x8x3
include: {inc}
layers:
  - {{kind: unit, name: a, c: 4}}
  - {{kind: unit, name: b, c: 8}}
"""


def files(root: Path, **texts: str) -> Path:
    """Write `name=text` files under root (`lib__x` is lib/x.yaml); return root."""
    for name, text in texts.items():
        p = root / (name.replace("__", "/") + ".yaml")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def test_blocks_come_from_the_library(tmp_path: Path) -> None:
    files(tmp_path, lib__unit=LIB, spec=SPEC.format(inc="lib/unit.yaml"))
    an = archcalc.analyze(tmp_path / "spec.yaml")
    assert [r.name for r in an.rows] == ["input", "a/conv", "a/relu", "b/conv", "b/relu"]
    assert an.totals.params == (3 * 3 * 3 * 4 + 4) + (3 * 3 * 4 * 8 + 8)
    spec = archcalc.load(tmp_path / "spec.yaml")
    assert spec.included_from == {str(tmp_path / "lib" / "unit.yaml"): f"{tmp_path / 'spec.yaml'}:2:10"}


def test_nested_and_shared_libraries_are_read_once(tmp_path: Path) -> None:
    base = "blocks:\n  base:\n    layers:\n      - {kind: relu, name: r}\n"
    left = "include: base.yaml\nblocks:\n  left:\n    layers:\n      - {kind: base, name: x}\n"
    right = "include: [base.yaml]\nblocks:\n  right:\n    layers:\n      - {kind: base, name: y}\n"
    spec = "input: 4\ninclude: [lib/left.yaml, lib/right.yaml]\nlayers:\n  - {kind: left}\n  - {kind: right}\n"
    files(tmp_path, lib__base=base, lib__left=left, lib__right=right, spec=spec)
    an = archcalc.analyze(tmp_path / "spec.yaml")
    assert [r.name for r in an.rows] == ["input", "left1/x/r", "right1/y/r"]


@pytest.mark.parametrize(("inc", "message"), [
    ("../outside.yaml", "include: ../outside.yaml is outside this file's folder"),
    ("/etc/passwd", "include: /etc/passwd is an absolute path"),
    ("lib/missing.yaml", "include: no such file: "),
    ("lib", "include: "),
    ("lib/spec_like.yaml", "include: lib/spec_like.yaml is a spec, not a block library"),
    ("[3]", "`include` is a path or a list of paths"),
])
def test_bad_includes_are_located_at_the_entry(tmp_path: Path, inc: str, message: str) -> None:
    files(tmp_path / "sub", lib__unit=LIB, lib__spec_like="input: 4\nlayers:\n  - {kind: relu}\n",
          spec=SPEC.format(inc=inc))
    files(tmp_path, outside=LIB)
    with pytest.raises(SpecError) as e:
        archcalc.load(tmp_path / "sub" / "spec.yaml")
    d = next(d for d in e.value.diagnostics if message in d.message)
    assert d.loc is not None and d.loc.line == 2 and d.loc.path.endswith("spec.yaml")
    # the blocks it would have brought are not reported as unknown kinds besides
    assert not any("unknown layer kind" in x.message for x in e.value.diagnostics)


def test_a_symlink_out_of_the_folder_is_an_escape(tmp_path: Path) -> None:
    files(tmp_path, outside=LIB)
    files(tmp_path / "sub", spec=SPEC.format(inc="link.yaml"))
    os.symlink(tmp_path / "outside.yaml", tmp_path / "sub" / "link.yaml")
    with pytest.raises(SpecError, match="outside this file's folder"):
        archcalc.load(tmp_path / "sub" / "spec.yaml")


def test_cycles_are_refused(tmp_path: Path) -> None:
    files(tmp_path, a="include: b.yaml\nblocks:\n  x:\n    layers: [{kind: relu}]\n",
          b="include: a.yaml\nblocks:\n  y:\n    layers: [{kind: relu}]\n",
          spec="input: 4\ninclude: a.yaml\nlayers:\n  - {kind: x}\n")
    with pytest.raises(SpecError) as e:
        archcalc.load(tmp_path / "spec.yaml")
    assert "include: a.yaml includes itself (a.yaml -> b.yaml -> a.yaml)" in e.value.message
    assert e.value.loc.path.endswith("b.yaml")


def test_errors_inside_a_library_say_where_it_was_included(tmp_path: Path) -> None:
    bad = LIB.replace("kind: relu", "kind: mish")  # a function archcalc does not have
    files(tmp_path, lib__unit=bad, spec=SPEC.format(inc="lib/unit.yaml"))
    with pytest.raises(SpecError) as e:
        archcalc.load(tmp_path / "spec.yaml")
    d = e.value.diagnostics[0]
    assert d.loc.path.endswith(os.path.join("lib", "unit.yaml")) and d.loc.line == 7
    assert d.notes == (f"included from {tmp_path / 'spec.yaml'}:2:10",)
    text = render(e.value, TEXTS)
    assert "kind: mish" in text and "note: included from" in text
    # a YAML error in the library
    files(tmp_path, lib__unit="blocks: [\n")
    with pytest.raises(SpecError) as e:
        archcalc.load(tmp_path / "spec.yaml")
    assert "YAML syntax error" in e.value.message and e.value.diagnostics[0].notes
    # an error met while building, in a library block: located there, noting the include
    files(tmp_path, lib__unit=LIB.replace("kernel: 3, padding: 1", "kernel: 30"))
    with pytest.raises(SpecError) as e:
        archcalc.analyze(tmp_path / "spec.yaml")
    notes = e.value.diagnostics[0].notes
    assert e.value.loc.path.endswith("unit.yaml") and any("is included from" in n for n in notes)


def test_duplicate_blocks_and_library_keys(tmp_path: Path) -> None:
    dup = SPEC.format(inc="lib/unit.yaml") + "blocks:\n  unit:\n    layers: [{kind: relu}]\n"
    files(tmp_path, lib__unit=LIB, spec=dup)
    with pytest.raises(SpecError) as e:
        archcalc.load(tmp_path / "spec.yaml")
    assert "block 'unit' is defined twice: first at" in e.value.message and e.value.loc.line == 7
    files(tmp_path, lib__unit=LIB + "vars: {x: 1}\n")
    with pytest.raises(SpecError) as e:
        archcalc.load(tmp_path / "spec.yaml")
    assert "a block library holds description, source, include, blocks; 'vars' belongs in a spec" in e.value.message


def test_a_library_is_checked_and_reported_as_one(tmp_path: Path) -> None:
    files(tmp_path, lib__unit=LIB, spec=SPEC.format(inc="lib/unit.yaml"))
    r = run("check", str(tmp_path))
    assert r.exit_code == 0, r.stderr
    assert f"LIB   {tmp_path / 'lib' / 'unit.yaml'}: block library of 1 block" in r.stdout
    assert "; 1 block library" in r.stdout
    s = run("summarize", str(tmp_path / "lib" / "unit.yaml"))
    assert s.exit_code == 1 and "is a block library (blocks only), not a network" in s.stderr


def test_text_and_stdin_include_from_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files(tmp_path, lib__unit=LIB)
    monkeypatch.chdir(tmp_path)
    assert archcalc.analyze(archcalc.load(text=SPEC.format(inc="lib/unit.yaml"))).totals.layers == 5
    r = run("summarize", "-", input=SPEC.format(inc="lib/unit.yaml"))
    assert r.exit_code == 0, r.stderr


def test_the_resnet_specs_share_one_library() -> None:
    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
        spec = archcalc.load(SPECS / f"{name}.yaml")
        assert spec.root["include"] == "lib/resnet.yaml"
        assert {"basic", "bottleneck", "basic_stage", "bottleneck_stage"} <= set(spec.blocks)
