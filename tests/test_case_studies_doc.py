"""docs/case-studies.md cannot go stale: every `$ archcalc ...` block is run and its output compared."""

from __future__ import annotations

import re
import shlex
from fractions import Fraction

import pytest
from conftest import ROOT, run

DOC = ROOT / "docs" / "case-studies.md"
BLOCK = re.compile(r"^```console\n\$ (archcalc [^\n]*)\n(.*?)^```$", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def test_doc_has_commands() -> None:
    cmds = [c for c, _ in blocks()]
    assert len(cmds) >= 8
    assert any(c.startswith("archcalc compare") for c in cmds) and any(c.startswith("archcalc sweep") for c in cmds)


@pytest.mark.parametrize("command,expected", blocks(), ids=[c for c, _ in blocks()])
def test_doc_output_is_current(command: str, expected: str, monkeypatch: pytest.MonkeyPatch,
                               request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(ROOT)
    r = run(*shlex.split(command)[1:])
    assert r.exit_code == 0, r.stderr
    if request.config.getoption("--update-golden"):  # rewrite this block's output; review the diff
        fresh = "\n".join(_lines(r.stdout)) + "\n"
        text = DOC.read_text(encoding="utf-8")
        DOC.write_text(text.replace(f"$ {command}\n{expected}", f"$ {command}\n{fresh}", 1), encoding="utf-8")
        return
    assert _lines(r.stdout) == _lines(expected), f"docs/case-studies.md is stale for `{command}`"


def test_notes_identities() -> None:
    # the arithmetic the document states beside the outputs
    assert Fraction(672, 2160) == Fraction(14, 45) == Fraction(1, 5) + Fraction(1, 9)
    assert 28 * 28 * 32 * (5 * 5 * 192) == 120_422_400
    assert 28 * 28 * 16 * 192 + 28 * 28 * 32 * (5 * 5 * 16) == 2_408_448 + 10_035_200 == 12_443_648
    assert Fraction(12_443_648, 120_422_400) == Fraction(31, 300)
    assert round(1 / 512 + 1 / 9, 3) == 0.113
    # ResNet-34 against plain-34, layer2: the projection shortcut (1x1, 64 -> 128, stride 2) and its BatchNorm
    assert 1 * 1 * 64 * 128 + 2 * 128 + 2 * 128 == 8_704 == 1_118_720 - 1_110_016
    assert 28 * 28 * 128 * (1 * 1 * 64) == 6_422_528 == 873_463_808 - 867_041_280
    assert round(1 / 64 + 1 / 9, 3) == 0.127 and round(1 / 1024 + 1 / 9, 3) == 0.112
