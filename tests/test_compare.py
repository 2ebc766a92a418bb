"""archcalc compare: exact ratios against the case-study notes' figures, alignment, overrides, formats."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import pytest
from conftest import SPECS, analyze_text, run

import archcalc
from archcalc.cli.compare import split_spec
from archcalc.compare import compare, ratio_text, separable_identity

EX = SPECS / "examples"


def _cmp(*names: str):  # type: ignore[no-untyped-def]
    return compare([archcalc.analyze(EX / n) for n in names])


def test_separable_against_standard_notes_figures() -> None:
    # notes: standard (3·3·3)·(4·4)·5 = 2160; separable 432 + 240 = 672; ratio 1/n_c' + 1/f^2
    c = _cmp("conv_standard.yaml", "conv_separable.yaml")
    assert (c.value("macs", 0), c.value("macs", 1)) == (2160, 672)
    assert c.ratio("macs", 1) == Fraction(672, 2160) == Fraction(14, 45)
    assert Fraction(672, 2160) == Fraction(1, 5) + Fraction(1, 9)
    assert c.identity("macs", 1) == "1/5 + 1/9"
    assert c.ratio_text("macs", 1) == "672 / 2,160 = 14/45 = 1/5 + 1/9 = 0.311 (3.21x fewer)"
    assert c.ratio("macs", 0) == 1


def test_bottleneck_against_naive_notes_figures() -> None:
    # notes: 28·28·32·(5·5·192) = 120,422,400 against 2,408,448 + 10,035,200 = 12,443,648
    c = _cmp("inception_naive.yaml", "inception_bottleneck.yaml")
    assert c.ratio("macs", 1) == Fraction(12_443_648, 120_422_400) == Fraction(31, 300)
    assert c.ratio_text("macs", 1) == "12,443,648 / 120,422,400 = 31/300 = 0.103 (9.68x fewer)"
    assert c.identity("macs", 1) is None
    assert c.ratio("flops", 1) == c.ratio("macs", 1)


def test_ratio_text_forms() -> None:
    assert ratio_text(10, 10) == "10 / 10 = 1 (same)"
    assert ratio_text(20, 10) == "20 / 10 = 2 (2x more)"
    assert ratio_text(0, 10) == "0 / 10 = 0 (none)"
    assert ratio_text(0, 0) == "-"
    assert ratio_text(5, 0) == "5 / 0 (first is 0)"
    # a large denominator: no fraction shown, only the decimal
    assert ratio_text(1_000_003, 3_000_017) == "1,000,003 / 3,000,017 = 0.333 (3x fewer)"


def test_identity_requires_same_geometry() -> None:
    std = analyze_text("input: 6x6x3\nlayers:\n  - {kind: conv, filters: 5, kernel: 3, bias: false}\n")
    sep = analyze_text("input: 6x6x3\nlayers:\n  - {kind: depthwise, kernel: 3, bias: false}\n"
                       "  - {kind: conv, filters: 5, kernel: 1, bias: false}\n")
    other = analyze_text("input: 6x6x3\nlayers:\n  - {kind: depthwise, kernel: 3, bias: false}\n"
                         "  - {kind: conv, filters: 6, kernel: 1, bias: false}\n")
    assert separable_identity(std, sep) == "1/5 + 1/9"
    assert separable_identity(std, other) is None     # different n_c'
    assert separable_identity(sep, std) is None


def test_alignment_by_name_and_depth() -> None:
    a = archcalc.analyze(SPECS / "vgg16.yaml")
    b = archcalc.analyze(SPECS / "vgg16.yaml", overrides={"resolution": 160})
    c = compare([a, b])
    rows = c.aligned(1)
    assert [r.name for r in rows][:3] == ["input", "block1", "block2"]
    assert all(x is not None for r in rows for x in r.rows)
    blk5 = next(r for r in rows if r.name == "block5")
    assert blk5.rows[0].output_shape == (7, 7, 512) and blk5.rows[1].output_shape == (5, 5, 512)
    # parameters do not depend on the resolution: the conv stages' by nature, fc6's because torchvision's
    # AdaptiveAvgPool2d((7, 7)) gives it 7 x 7 x 512 = 25,088 inputs at any resolution (5 x 5 here)
    assert blk5.rows[0].params == blk5.rows[1].params
    pool = next(r for r in rows if r.name == "avgpool")
    assert [x.output_shape for x in pool.rows] == [(7, 7, 512), (7, 7, 512)]
    fc6 = next(r for r in rows if r.name == "fc6")
    assert fc6.rows[0].params == fc6.rows[1].params == 25088 * 4096 + 4096


def test_alignment_places_missing_rows_after_their_predecessor() -> None:
    c = _cmp("inception_naive.yaml", "inception_bottleneck.yaml")
    assert [(a.name, [r is not None for r in a.rows]) for a in c.aligned()] == [
        ("input", [True, True]), ("bottleneck", [False, True]), ("conv5x5", [True, True])]


def test_split_spec() -> None:
    assert split_spec("specs/mobilenet_v1.yaml") == ("specs/mobilenet_v1.yaml", [])
    assert split_spec("m.yaml@alpha=0.5,resolution=160") == ("m.yaml", ["alpha=0.5", "resolution=160"])
    assert split_spec("m.yaml@w=make_divisible(32 * 0.5, 8)") == ("m.yaml", ["w=make_divisible(32 * 0.5, 8)"])


def test_cli_same_spec_two_settings() -> None:
    r = run("compare", str(SPECS / "mobilenet_v1.yaml"), str(SPECS / "mobilenet_v1.yaml") + "@alpha=0.5",
            "-f", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["schema_version"] == 1
    assert [s["overrides"] for s in d["specs"]] == [{}, {"alpha": 0.5}]
    assert d["totals"]["macs"]["values"] == [568_740_352, 149_497_088]
    assert d["totals"]["macs"]["ratios"][1]["fraction"] == str(Fraction(149_497_088, 568_740_352))
    assert d["layers"][0]["name"] == "input"


def test_cli_table_and_markdown() -> None:
    args = ("compare", str(EX / "conv_standard.yaml"), str(EX / "conv_separable.yaml"))
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert "672 / 2,160 = 14/45 = 1/5 + 1/9 = 0.311 (3.21x fewer)" in r.stdout
    assert "counts are totals over the batch" in r.stdout
    assert all(line == line.rstrip() for line in r.stdout.splitlines())
    m = run(*args, "-f", "markdown")
    assert "| MACs | 2,160 | 672 | 672 / 2,160 = 14/45 = 1/5 + 1/9 = 0.311 (3.21x fewer) |" in m.stdout


def test_cli_csv() -> None:
    args = ("compare", str(EX / "inception_naive.yaml"), str(EX / "inception_bottleneck.yaml"), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(run(*args).stdout)))
    assert [r["macs"] for r in rows] == ["120422400", "12443648"]
    assert rows[1]["macs_ratio"] == "31/300"
    layers = list(csv.DictReader(io.StringIO(run(*args, "--layers").stdout)))
    assert {(r["layer"], r["label"]) for r in layers} >= {("bottleneck", "B"), ("conv5x5", "A"), ("conv5x5", "B")}


def test_cli_shared_set_and_errors() -> None:
    r = run("compare", str(SPECS / "vgg16.yaml"), str(SPECS / "mobilenet_v1.yaml"), "--set", "resolution=160",
            "-f", "json")
    assert r.exit_code == 0, r.output
    assert [s["input_shape"] for s in json.loads(r.stdout)["specs"]] == [[160, 160, 3], [160, 160, 3]]
    one = run("compare", str(SPECS / "vgg16.yaml"))
    assert one.exit_code == 2
    bad = run("compare", str(SPECS / "vgg16.yaml"), str(SPECS / "vgg16.yaml") + "@alhpa=1")
    assert bad.exit_code == 1 and "no variable 'alhpa'" in bad.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_cli_every_format(fmt: str) -> None:
    r = run("compare", str(SPECS / "lenet5.yaml"), str(SPECS / "lenet5.yaml"), "-f", fmt, "--depth", "1")
    assert r.exit_code == 0, r.output
    assert r.stdout


def test_cli_totals_only() -> None:
    args = ("compare", str(SPECS / "vgg16.yaml"), str(SPECS / "mobilenet_v1.yaml"), "--totals")
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert "[A] output" not in r.stdout and "15,470,264,320" in r.stdout
    assert "layers" not in json.loads(run(*args, "-f", "json").stdout)
    assert "| layer |" not in run(*args, "-f", "markdown").stdout


def test_bool_override_label() -> None:
    r = run("compare", str(SPECS / "mobilenet_v1.yaml") + "@separable=false", str(SPECS / "mobilenet_v1.yaml"),
            "--totals")
    assert "[A] MobileNet-v1 (separable=false)" in r.stdout


# --- peak activation memory ---------------------------------------------------------------------

def test_peak_activation_in_every_format() -> None:
    # conv_standard: the input 6·6·3 = 108 values and the conv output 4·4·5 = 80 are held together:
    # (108 + 80)·4 B = 752. conv_separable peaks at the depthwise step, input 108 + depthwise 4·4·3 = 48:
    # (108 + 48)·4 = 624 (then the input is freed: pointwise holds 48 + 80 = 128 values, 512 B).
    args = ("compare", str(EX / "conv_standard.yaml"), str(EX / "conv_separable.yaml"))
    d = json.loads(run(*args, "-f", "json").stdout)
    assert d["totals"]["peak_activation_bytes"]["values"] == [752, 624]
    assert d["totals"]["peak_activation_bytes"]["ratios"][1]["fraction"] == "39/47"  # 624/752
    assert [s["totals"]["peak_activation_at"] for s in d["specs"]] == ["conv", "depthwise"]
    assert "peak_activation_bytes" in d["conventions"]
    table = run(*args).stdout
    assert "peak activation (B)      752    624  624 / 752 = 39/47 = 0.83 (1.21x fewer)" in table
    assert "Peak activation is reached at conv in [A], depthwise in [B]" in table
    assert "| peak activation (B) | 752 | 624 |" in run(*args, "-f", "markdown").stdout
    rows = list(csv.DictReader(io.StringIO(run(*args, "-f", "csv").stdout)))
    assert [(r["peak_activation_bytes"], r["peak_activation_at"]) for r in rows] == [("752", "conv"),
                                                                                    ("624", "depthwise")]
    assert rows[1]["peak_activation_bytes_ratio"] == "39/47"


# --- convention profiles ------------------------------------------------------------------------

DATA = SPECS.parent / "tests" / "data"
TV = (str(DATA / "vgg16_tv.yaml"), str(DATA / "resnet50_tv.yaml"))
# torchvision VGG-16's AdaptiveAvgPool2d((7, 7)); ResNet-50's avgpool is that module already
VGG_POOL = ("--torch-op", "avgpool=AdaptiveAvgPool2d")
PRINTED = {  # what the tools printed for torchvision's VGG-16 and ResNet-50 (issue 8, torch 2.13 CPU)
    "torchinfo": (15_483_821_032, 4_089_238_376),
    "ptflops": (15_523_225_576, 4_132_436_968),
    "fvcore": (15_470_289_408, 4_111_512_576),
    "thop": (15_470_314_496, 4_133_742_592),
}


@pytest.mark.parametrize("tool", list(PRINTED))
def test_convention_totals_side_by_side(tool: str) -> None:
    vgg, resnet = PRINTED[tool]
    r = run("compare", *TV, "--convention", tool, *VGG_POOL, "-f", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    t = d["totals"]["convention_total"]
    assert t["values"] == [vgg, resnet]
    assert t["ratios"][1]["fraction"] == str(Fraction(resnet, vgg))
    assert [s["convention"]["total"] for s in d["specs"]] == [vgg, resnet]
    assert [sum(s["convention"]["breakdown"].values()) for s in d["specs"]] == [vgg, resnet]
    assert d["convention"]["name"] == tool and d["convention"]["torch_ops"] == {"avgpool": "AdaptiveAvgPool2d"}
    # the per-layer counts add up to each total
    for i, want in enumerate((vgg, resnet)):
        assert sum(row["specs"][i]["convention_ops"] for row in d["layers"] if row["specs"][i]) == want
    text = run("compare", *TV, "--convention", tool, *VGG_POOL, "--totals").stdout
    line = next(x for x in text.splitlines() if x.startswith(f"{tool} total  "))  # the row, not the header
    assert line.split()[2:6] == [f"{vgg:,}", f"{resnet:,}", f"{resnet:,}", "/"]


def test_convention_explain_category_by_category() -> None:
    r = run("compare", *TV, "--convention", "torchinfo", "--explain", "--totals")
    assert r.exit_code == 0, r.stderr
    # VGG-16: bias adds = every conv and dense output element (13 convs, fc6, fc7, fc8);
    # ResNet-50: 2C per BatchNorm layer (C summed over the stem and stages) and fc's 1,000 bias adds
    conv_out = 224 * 224 * 64 * 2 + 112 * 112 * 128 * 2 + 56 * 56 * 256 * 3 + 28 * 28 * 512 * 3 + 14 * 14 * 512 * 3
    vgg_bias = conv_out + 4096 + 4096 + 1000
    bn_c = 64 + sum(n * 6 * w + 4 * w for w, n in ((64, 3), (128, 4), (256, 6), (512, 3)))
    assert (vgg_bias, 2 * bn_c) == (13_556_712, 53_120)
    lines = {line.split()[0]: line.split()[1:4] for line in r.stdout.splitlines() if line[:1].isalpha()}
    assert lines["bias_adds"] == [f"{vgg_bias:,}", "1,000", f"{1000 - vgg_bias:+,}"]
    assert lines["batchnorm"] == ["0", f"{2 * bn_c:,}", f"{2 * bn_c:+,}"]
    assert "total - MACs" in r.stdout and "what torchinfo 1.8 counts" in r.stdout
    md = run("compare", *TV, "--convention", "torchinfo", "--explain", "-f", "markdown", "--totals").stdout
    assert f"| bias_adds | {vgg_bias:,} | 1,000 | {1000 - vgg_bias:+,} |" in md


def test_convention_per_layer_columns_folded() -> None:
    r = run("compare", *TV, "--convention", "fvcore", "-d", "1")
    # each spec's columns under its label: [A] over VGG-16's, [B] over ResNet-50's
    assert any(line.split() == ["[A]", "[B]"] for line in r.stdout.splitlines())
    assert r.stdout.count("fvcore ops") == 2
    # ResNet-50's bn1: fvcore counts 2 per element of its 112 x 112 x 64 output
    bn1 = next(line for line in r.stdout.splitlines() if line.startswith("bn1 "))
    assert bn1.split()[-1] == f"{2 * 112 * 112 * 64:,}"
    rows = list(csv.DictReader(io.StringIO(run("compare", *TV, "--convention", "fvcore", "-f", "csv",
                                               "--layers").stdout)))
    assert {r["convention"] for r in rows} == {"fvcore"}
    assert sum(int(r["convention_ops"]) for r in rows if r["label"] == "B") == PRINTED["fvcore"][1]
    per_spec = list(csv.DictReader(io.StringIO(run("compare", *TV, "--convention", "fvcore", "-f", "csv").stdout)))
    assert per_spec[1]["convention_total"] == str(PRINTED["fvcore"][1])


def test_convention_errors() -> None:
    r = run("compare", *TV, "--explain")
    assert r.exit_code == 2 and "add --convention NAME" in r.stderr
    r = run("compare", *TV, *VGG_POOL)
    assert r.exit_code == 2 and "add --convention NAME" in r.stderr
    r = run("compare", *TV, "--convention", "thop", "--torch-op", "avgpol=AdaptiveAvgPool2d")
    assert r.exit_code == 1 and "no spec has a layer named 'avgpol'" in r.stderr and "'avgpool'" in r.stderr
    # conv1 exists only in ResNet-50 ([B]); a conv cannot be computed by F.relu
    r = run("compare", *TV, "--convention", "thop", "--torch-op", "conv1=F.relu")
    assert r.exit_code == 1 and "[B] " in r.stderr and "a conv layer is one of Conv2d" in r.stderr
    r = run("compare", *TV, "--convention", "keras")
    assert r.exit_code == 2
    r = run("compare", *TV, "--convention", "thop", "--explain", "-f", "csv")
    assert r.exit_code == 2 and "table and markdown" in r.stderr
