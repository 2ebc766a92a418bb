"""Every YAML example in docs/spec.md must parse and analyse, so the document cannot go stale."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, analyze_text

DOC = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def test_examples_found() -> None:
    assert len(EXAMPLES) == 8


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_analyses(text: str) -> None:
    an = analyze_text(text)
    assert an.totals.layers == len(an.rows) > 1


def test_dag_example_figures() -> None:
    an = analyze_text(EXAMPLES[1])
    assert [(r.name, r.output_shape) for r in an.outputs] == [("out", (28, 28, 64 + 128 + 32)), ("side", (10,))]


def test_blocks_example_names() -> None:
    names = {r.name for r in analyze_text(EXAMPLES[2]).rows}
    assert {"stage1/block3/relu2", "stage2/block1/downsample", "stage2/block4/add"} <= names
    assert "stage2/block2/downsample" not in names and "stage1/block1/downsample" not in names


def test_variables_example_figures() -> None:
    an = analyze_text(EXAMPLES[3])
    # make_divisible(24, 8) = 24; 64·0.75 = 48; round(75/3) = 25
    assert [r.output_shape[2] for r in an.rows[1:]] == [24, 48, 25]
    assert an.rows[1].output_shape[:2] == (112, 112)  # same, stride 2: ceil(224/2)


def test_tokens_examples_figures() -> None:
    rows = {r.name: r for r in analyze_text(EXAMPLES[4]).rows}
    attn = rows["attn"]  # 17 tokens of 64, 4 heads of 16: 17·64·192 + 2·(4·17·17·16) + 17·64·64
    assert attn.macs == 17 * 64 * 192 + 2 * (4 * 17 * 17 * 16) + 17 * 64 * 64 == 315_520
    assert attn.params == 64 * 192 + 192 + 64 * 64 + 64
    assert (rows["cls"].params, rows["pos"].params) == (64, 17 * 64)
    assert rows["class_out"].output_shape == (64,) and rows["fc1"].output_shape == (17, 256)
    swin = {r.name: r for r in analyze_text(EXAMPLES[5]).rows}
    # 56 x 56 x 96, window 7: 64 windows of 49 tokens, 3 heads of 32
    assert swin["w1"].macs == 56 * 56 * 96 * 288 + 2 * (64 * 3 * 49 * 49 * 32) + 56 * 56 * 96 * 96
    assert swin["w1"].params == 96 * 288 + 288 + 96 * 96 + 96 + 13 * 13 * 3
    assert swin["gather"].output_shape == (28, 28, 384) and swin["reduction"].params == 384 * 192
    custom = {r.name: r for r in analyze_text(EXAMPLES[6]).rows}
    assert (custom["scores"].output_shape, custom["scores"].macs) == ((16, 16), 16 * 16 * 16)
    assert custom["both"].output_shape == (32, 16) and custom["map"].output_shape == (4, 4, 16)
    shuffle = {r.name: r for r in analyze_text(EXAMPLES[7]).rows}
    assert shuffle["keep"].output_shape == shuffle["half"].output_shape == (28, 28, 58)
    assert shuffle["shuffle"].output_shape == (28, 28, 116)
