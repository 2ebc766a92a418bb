"""Every YAML example in docs/spec.md must parse and analyse, so the document cannot go stale."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, analyze_text

import archcalc

DOC = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def test_examples_found() -> None:
    assert len(EXAMPLES) == 7


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


def test_gates_norms_decoders_examples() -> None:
    def example(marker: str) -> archcalc.Analysis:  # by content: other sections may come before
        return analyze_text(next(e for e in EXAMPLES if marker in e))
    mbconv, convnext, unet = example("name: se_fc1"), example("name: pwconv1"), example("name: head_pool")
    rows = {r.name: r for r in mbconv.rows}
    assert rows["se"].output_shape == (56, 56, 144) and rows["se_fc1"].output_shape == (1, 1, 6)
    assert rows["se_fc1"].params + rows["se_fc2"].params == 144 * 6 + 6 + 6 * 144 + 144
    assert convnext.totals.params == 79_296  # torchvision convnext_tiny's features[1][0], measured
    rows = {r.name: r for r in unet.rows}
    assert [rows[n].output_shape for n in ("up", "skip", "up2", "head_pool")] == [
        (64, 64, 32), (64, 64, 64), (128, 128, 16), (7, 7, 16)]  # up2: (64 - 1)·2 - 2 + 2 + 1 + 1 = 128
