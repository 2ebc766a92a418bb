"""`summarize --convention/--rf/--memory` and the JSON fields of the analyses."""

import json
from pathlib import Path

from conftest import SPECS, run

DATA = Path(__file__).parent / "data"


def test_table_columns_and_totals() -> None:
    r = run("summarize", str(DATA / "resnet50_tv.yaml"), "-d", "1", "--rf", "--memory", "--convention", "thop")
    assert r.exit_code == 0, r.stderr
    assert "receptive field" in r.stdout and "thop ops" in r.stdout and "act. bytes" in r.stdout
    assert "427 x 427, j 32, s 0" in r.stdout
    assert "thop total            4,133,742,592" in r.stdout
    assert "Forward pass size     9,633,792 B" in r.stdout


def test_json_fields() -> None:
    r = run("summarize", str(DATA / "vgg16_tv.yaml"), "-f", "json", "--convention", "ptflops",
            "--torch-op", "avgpool=AdaptiveAvgPool2d")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["convention"]["total"] == 15_523_225_576
    assert d["convention"]["torch_ops"] == {"avgpool": "AdaptiveAvgPool2d"}
    assert sum(x["convention_ops"] for x in d["layers"]) == 15_523_225_576
    assert d["totals"]["peak_activation_bytes"] == 2 * 224 * 224 * 64 * 4
    assert d["totals"]["peak_activation_at"] == "block1/conv1/relu"
    pool5 = next(x for x in d["layers"] if x["name"] == "block5/pool")
    assert pool5["receptive_field"] == {"size": [212, 212], "jump": [32, 32], "start": [15.5, 15.5], "spatial": True}
    assert pool5["activation_bytes"] == 7 * 7 * 512 * 4
    fc6 = next(x for x in d["layers"] if x["name"] == "fc6")
    assert fc6["param_bytes"] == (25088 * 4096 + 4096) * 4


def test_json_folded_rows() -> None:
    d = json.loads(run("summarize", str(SPECS / "vgg16.yaml"), "-f", "json", "-d", "1").stdout)
    block5 = next(x for x in d["layers"] if x["name"] == "block5")
    assert block5["receptive_field"]["size"] == [212, 212]
    assert "convention_ops" not in block5 and "convention" not in d


def test_explain_and_markdown() -> None:
    r = run("summarize", str(DATA / "resnet50_tv.yaml"), "--explain", "--convention", "torchinfo")
    assert "convention torchinfo" in r.stdout and "= archcalc MACs 4,089,184,256 + 54,120" in r.stdout
    r = run("summarize", str(SPECS / "lenet5.yaml"), "-f", "markdown", "--rf", "--convention", "textbook")
    assert "| receptive field | textbook ops |" in r.stdout
    assert "32 x 32, j 20, s 15.5" in r.stdout


def test_bad_torch_op() -> None:
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--convention", "thop", "--torch-op", "conv1")
    assert r.exit_code == 1 and "LAYER=OP" in r.stderr
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--convention", "thop", "--torch-op", "conv1=F.relu")
    assert r.exit_code == 1 and "a conv layer is one of" in r.stderr
    # without a profile --torch-op would change nothing: a usage error, not silence
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--torch-op", "nope=X")
    assert r.exit_code == 2 and "add --convention NAME" in r.stderr
