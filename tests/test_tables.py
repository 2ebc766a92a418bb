"""Stage tables (`table:`) and compound scaling: a block repeated over rows of named columns.

Each row makes one copy, named `<name>1`, `<name>2`, ... and chained like `repeat:`; in that copy
the columns are variables of the item's expressions, and a column named as an argument of the
block (or a field of the kind) that the item does not write fills it.
"""

from __future__ import annotations

import math

import pytest
from conftest import SPECS, analyze_text

import archcalc
from archcalc import SpecError
from archcalc.calc import make_divisible

STAGES = """
input: [r, r, 3]
vars: {r: 32, width: 1.0, depth: 1.0}
blocks:
  stage:
    args: {c: null, n: null, s: 1}
    layers:
      - {kind: conv, name: conv, repeat: "ceil(n * depth)", filters: "make_divisible(c * width, 8)",
         kernel: 3, padding: 1, stride: "s if index == 1 else 1"}
layers:
  - kind: stage
    name: stage
    table:
      - [c,  n, s]
      - [16, 1, 1]
      - [24, 2, 2]
      - [40, 2, 2]
"""


def torchvision_scaled(width: float, depth: float) -> list[tuple[int, int]]:
    """(channels, repeats) per row, as torchvision's efficientnet.py scales them:
    _MBConvConfig.adjust_channels = _make_divisible(c * width_mult, 8) and
    adjust_depth = int(math.ceil(num_layers * depth_mult))."""
    def tv_make_divisible(v: float, divisor: int = 8) -> int:  # torchvision.models._utils._make_divisible
        new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
        return new_v + divisor if new_v < 0.9 * v else new_v
    return [(tv_make_divisible(c * width), int(math.ceil(n * depth))) for c, n in ((16, 1), (24, 2), (40, 2))]


def test_rows_name_and_chain_the_copies() -> None:
    an = analyze_text(STAGES)
    names = [r.name for r in an.rows]
    assert names == ["input", "stage1/conv1", "stage2/conv1", "stage2/conv2", "stage3/conv1", "stage3/conv2"]
    assert [r.output_shape for r in an.rows[1:]] == [(32, 32, 16), (16, 16, 24), (16, 16, 24), (8, 8, 40), (8, 8, 40)]
    assert an.rows[2].inputs == ("stage1/conv1",)
    assert {r.name: r.kind for r in an.folded(1)}["stage3"] == "stage"


# EfficientNet B0 ... B7's (width, depth) multipliers, torchvision efficientnet.py
@pytest.mark.parametrize(("width", "depth"), [(1.0, 1.0), (1.0, 1.1), (1.1, 1.2), (1.2, 1.4), (1.4, 1.8),
                                              (1.6, 2.2), (1.8, 2.6), (2.0, 3.1)])
def test_compound_scaling_as_torchvision(width: float, depth: float) -> None:
    an = analyze_text(STAGES, overrides={"width": str(width), "depth": str(depth)})
    got = []
    for i in (1, 2, 3):
        rows = [r for r in an.rows if r.name.startswith(f"stage{i}/")]
        got.append((rows[0].output_shape[2], len(rows)))
    assert got == torchvision_scaled(width, depth)
    assert make_divisible(16 * 1.1) == 16 and make_divisible(40 * 1.8) == 72  # the same rounding, exactly


def test_columns_are_variables_and_fill_fields_of_a_kind() -> None:
    an = analyze_text("input: 8x8x3\nlayers:\n  - kind: conv\n    name: c\n    kernel: k + 0 * extra\n"
                      "    table:\n      - [filters, k, extra]\n      - [4, 3, 9]\n      - [6, 1, 9]\n")
    assert [(r.name, r.output_shape) for r in an.rows[1:]] == [("c1", (6, 6, 4)), ("c2", (6, 6, 6))]


def test_an_explicit_value_wins_over_the_column_of_that_name() -> None:
    an = analyze_text("input: 8x8x3\nlayers:\n  - kind: conv\n    filters: 2 * filters\n    kernel: 1\n"
                      "    table: [[filters], [3], [5]]\n")
    assert [r.output_shape[2] for r in an.rows[1:]] == [6, 10]


def test_index_and_words_in_cells() -> None:
    an = analyze_text("input: 8x8x3\nlayers:\n  - kind: upsample\n    scale: index\n"
                      "    table: [[mode], [nearest], [bilinear]]\n")
    assert [(r.output_shape, r.node.kind.mode) for r in an.rows[1:]] == [((8, 8, 3), "nearest"),
                                                                         ((16, 16, 3), "bilinear")]


BAD = [
    ("table: [[c], [1]]\n    repeat: 2\n", "a layer takes `table:` or `repeat:`, not both"),
    ("table: [c, 1]\n", "`table` is a list of rows"),
    ("table: [[c]]\n", "`table` is a list of rows"),
    ("table: [[c, n], [1]]\n", "table row 1 has 1 values, but the table names 2 columns (c, n)"),
    ("table: [[c, c], [1, 2]]\n", "two table columns are named 'c'"),
    ("table: [[index], [1]]\n", "'index' cannot name a table column"),
    ("table: [[3], [1]]\n", "a table column is named by a word"),
    ("table: [[c, chanels], [1, 2]]\n", "table column 'chanels' is not an argument of block 'b'"),
    ("table: [[c], [{a: 1}]]\n", "a table cell is a number, a word"),
]


@pytest.mark.parametrize(("table", "message"), BAD, ids=[m for _, m in BAD])
def test_malformed_tables_are_located(table: str, message: str) -> None:
    text = ("input: 8x8x3\nblocks:\n  b:\n    args: {c: null, channels: 1}\n    layers:\n"
            "      - {kind: conv, name: x, filters: c, kernel: 1}\nlayers:\n  - kind: b\n    " + table)
    with pytest.raises(SpecError) as e:
        analyze_text(text)
    assert any(message in d.message for d in e.value.diagnostics), [d.message for d in e.value.diagnostics]
    assert all(d.loc is not None and d.loc.line >= 8 for d in e.value.diagnostics)


def test_bad_values_are_located_at_their_cell() -> None:
    text = ("input: 8x8x3\nlayers:\n  - kind: conv\n    kernel: 1\n    table:\n"
            "      - [filters]\n      - [4]\n      - [0]\n")
    with pytest.raises(SpecError) as e:
        analyze_text(text)  # row 2: filters 0, a field the column fills
    assert (e.value.loc.line, e.value.loc.col) == (8, 10) and "must be at least 1" in e.value.message
    with pytest.raises(SpecError) as e:
        analyze_text(text.replace("[0]", "[nope + 1]"))
    assert (e.value.loc.line, e.value.loc.col) == (8, 10)
    assert "table row 2, column filters: unknown variable 'nope'" in e.value.message
    # a block's argument is checked where the block uses it; the note names the row's copy
    block = ("input: 8x8x3\nblocks:\n  b:\n    args: {c: null}\n    layers:\n"
             "      - {kind: conv, name: x, filters: c, kernel: 1}\nlayers:\n  - kind: b\n    name: s\n"
             "    table:\n      - [c]\n      - [4]\n      - [0]\n")
    with pytest.raises(SpecError) as e:
        analyze_text(block)
    assert e.value.loc.line == 6 and e.value.diagnostics[0].notes[0].endswith("as s2")


def test_mobilenet_v2_table_is_table_2() -> None:
    an = archcalc.analyze(SPECS / "mobilenet_v2.yaml")
    # Sandler et al. 2018, Table 2: (t, c, n, s) per row; the stage's output channels and its n blocks
    table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
             (6, 320, 1, 1)]
    side = 112
    for i, (t, c, n, s) in enumerate(table, start=1):
        blocks = {r.name.split("/")[1] for r in an.rows if r.name.startswith(f"stage{i}/")}
        assert blocks == {f"block{j}" for j in range(1, n + 1)}
        side //= s
        last = [r for r in an.rows if r.name.startswith(f"stage{i}/block{n}/")][-1]
        assert last.output_shape == (side, side, c)
        expand = [r for r in an.rows if r.name == f"stage{i}/block1/expand/conv"]
        assert bool(expand) == (t != 1)
