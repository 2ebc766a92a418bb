"""docs/case-studies.md: the commands it shows (run and compared by tests/test_docs_output.py, with
every other doc) and the arithmetic it states beside them."""

from __future__ import annotations

import re
from fractions import Fraction

from conftest import ROOT

DOC = ROOT / "docs" / "case-studies.md"
BLOCK = re.compile(r"^```console\n\$ (archcalc [^\n]*)\n(.*?)^```$", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_doc_has_commands() -> None:
    cmds = [c for c, _ in blocks()]
    assert len(cmds) >= 8
    assert any(c.startswith("archcalc compare") for c in cmds) and any(c.startswith("archcalc sweep") for c in cmds)


def test_notes_identities() -> None:
    # the arithmetic the document states beside the outputs
    assert Fraction(672, 2160) == Fraction(14, 45) == Fraction(1, 5) + Fraction(1, 9)
    assert 28 * 28 * 32 * (5 * 5 * 192) == 120_422_400
    assert 28 * 28 * 16 * 192 + 28 * 28 * 32 * (5 * 5 * 16) == 2_408_448 + 10_035_200 == 12_443_648
    assert Fraction(12_443_648, 120_422_400) == Fraction(31, 300)
    assert round(1 / 512 + 1 / 9, 3) == 0.113
    # ResNet-34 against plain-34, layer2: the projection shortcut (1x1, 64 -> 128, stride 2) and its
    # BatchNorm's gamma and beta (its running statistics are buffers, outside the params column)
    assert 1 * 1 * 64 * 128 + 2 * 128 == 8_448 == 1_116_416 - 1_107_968
    assert 28 * 28 * 128 * (1 * 1 * 64) == 6_422_528 == 873_463_808 - 867_041_280
    assert round(1 / 64 + 1 / 9, 3) == 0.127 and round(1 / 1024 + 1 / 9, 3) == 0.112
