"""Every YAML example in docs/spec.md must parse and analyse, so the document cannot go stale.

The examples are read as if they stood in specs/, so an `include:` finds specs/lib/.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from conftest import ROOT, SPECS

import archcalc
from archcalc.check import PASS, check_spec

DOC = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def analyze_text(text: str, **kw: Any) -> archcalc.Analysis:
    return archcalc.analyze(archcalc.load(text=text, path=str(SPECS / "doc-example.yaml")), **kw)


def test_examples_found() -> None:
    assert len(EXAMPLES) == 15


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_analyses(text: str) -> None:
    an = analyze_text(text)
    assert an.totals.layers == len(an.rows) > 1
    spec = archcalc.load(text=text, path=str(SPECS / "doc-example.yaml"))
    for v in spec.variants:  # every variant an example declares builds, and holds its figures
        assert check_spec(spec, variant=v).status in (PASS, "unchecked")


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


def test_input_shape_example_figures() -> None:
    rows = {r.name: r for r in analyze_text(EXAMPLES[11]).rows}
    assert rows["denselayer6/concat"].output_shape == (56, 56, 64 + 6 * 32)
    assert rows["transition1/conv"].output_shape == (56, 56, (64 + 6 * 32) // 2)
    assert rows["transition1/pool"].output_shape == (28, 28, 128)


@pytest.mark.parametrize(("variant", "width", "depth", "resolution"),
                         [(None, 1.0, 1.0, 224), ("b1", 1.0, 1.1, 240), ("b2", 1.1, 1.2, 260), ("b3", 1.2, 1.4, 300)])
def test_table_example_scales_as_torchvision(variant: str | None, width: float, depth: float, resolution: int) -> None:
    an = analyze_text(EXAMPLES[12], variant=variant)
    assert an.input_shape == (resolution, resolution, 3)
    # torchvision efficientnet.py: adjust_channels = _make_divisible(c * width_mult, 8),
    # adjust_depth = int(math.ceil(n * depth_mult)); B0's table (c, n) per stage
    for i, (c, n) in enumerate([(16, 1), (24, 2), (40, 2), (80, 3), (112, 3), (192, 4), (320, 1)], start=1):
        blocks = {r.name.split("/")[1] for r in an.rows if r.name.startswith(f"stage{i}/")}
        assert len(blocks) == int(math.ceil(n * depth))
        channels = max(8, int(c * width + 4) // 8 * 8)
        channels += 8 if channels < 0.9 * c * width else 0
        assert [r for r in an.rows if r.name.startswith(f"stage{i}/")][-1].output_shape[2] == channels


def test_training_only_example_figures() -> None:
    inf, train = analyze_text(EXAMPLES[13]), analyze_text(EXAMPLES[13], training=True)
    aux_params = 768 * 128 + 5 * 5 * 128 * 768 + (768 * 1000 + 1000)
    aux_macs = 5 * 5 * 128 * 768 + 1 * 1 * 768 * (5 * 5 * 128) + 768 * 1000
    assert inf.totals.params == train.totals.params
    assert train.totals.macs - inf.totals.macs == aux_macs
    assert sum(r.params for r in inf.rows if r.training_only) == aux_params
    assert [r.name for r in inf.outputs] == ["fc"] and [r.name for r in train.outputs] == ["AuxLogits/fc", "fc"]


def test_variants_example_is_torchvision() -> None:
    # torchvision num_params: resnet50 25,557,032; resnext50_32x4d 25,028,904
    assert analyze_text(EXAMPLES[14]).totals.trainable_params == 25_557_032
    assert analyze_text(EXAMPLES[14], variant="resnext50_32x4d").totals.trainable_params == 25_028_904


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
