"""The zoo by name: `archcalc summarize vgg16` anywhere, `archcalc zoo`, and files before names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SPECS, run

from archcalc import zoo

SHIPPED = sorted(p.relative_to(SPECS).with_suffix("").as_posix() for p in SPECS.rglob("*.yaml")
                 if not p.is_relative_to(SPECS / "lib"))  # block libraries (specs/lib) are not models
TINY = "name: tiny\ninput: 4x4x1\nlayers:\n  - {kind: conv, filters: 2, kernel: 3}\n"  # 2·(3·3·1) + 2 = 20 params


def archcalc_in(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process, started in another folder than the checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "archcalc", *args], text=True, capture_output=True,
                          cwd=cwd, env=env, timeout=120)


def test_the_zoo_is_the_specs_folder() -> None:
    assert zoo.root() == SPECS
    assert sorted(zoo.names()) == SHIPPED  # every spec there, none listed by hand
    assert {"vgg16", "resnet50", "examples/inception_module"} <= set(zoo.names())
    order = zoo.names()
    assert order.index("resnet18") < order.index("resnet50") < order.index("resnet101")  # numbers by value
    assert all("/" not in n for n in order[: order.index("vgg19") + 1])  # top-level models first


def test_find_takes_names_only() -> None:
    assert zoo.find("vgg16") == SPECS / "vgg16.yaml"
    assert zoo.find("examples/inception_naive") == SPECS / "examples" / "inception_naive.yaml"
    # a suffix makes it a path (a mistyped path of one's own must not become the zoo's model)
    for bad in ("../pyproject", "/etc/passwd", "examples/../vgg16", "", "vgg17", "examples", " vgg16",
                "vgg16.yaml", "vgg16.yml"):
        assert zoo.find(bad) is None, bad


def test_summarize_a_zoo_name_from_another_folder(tmp_path: Path) -> None:
    p = archcalc_in(tmp_path, "summarize", "vgg16", "-f", "json")
    assert p.returncode == 0, p.stderr
    totals = json.loads(p.stdout)["totals"]
    # torchvision vgg16 IMAGENET1K_V1 num_params; MACs = convs 15,346,630,656 + FC 123,633,664 (issue 3)
    assert (totals["params"], totals["macs"]) == (138_357_544, 15_470_264_320)


def test_a_file_of_that_name_comes_first(tmp_path: Path) -> None:
    for name in ("vgg16", "vgg16.yaml"):
        (tmp_path / name).write_text(TINY)
        p = archcalc_in(tmp_path, "summarize", name, "-f", "json")
        assert p.returncode == 0 and json.loads(p.stdout)["totals"]["params"] == 2 * 3 * 3 * 1 + 2
        (tmp_path / name).unlink()
    (tmp_path / "vgg16").mkdir()  # a folder of that name is a path too: said, not shadowed
    p = archcalc_in(tmp_path, "summarize", "vgg16")
    assert p.returncode == 1 and "vgg16 is a directory" in p.stderr


def test_a_missing_path_names_the_zoo_model(tmp_path: Path) -> None:
    for path in ("specs/vgg16.yaml", "vgg16.yaml"):  # the README's path outside a checkout; a mistyped path
        p = archcalc_in(tmp_path, "summarize", path)
        assert p.returncode == 1 and f"no such file: {path}" in p.stderr
        assert "archcalc ships 'vgg16'" in p.stderr and "Traceback" not in p.stderr
    p = archcalc_in(tmp_path, "summarize", "vgg17")
    assert p.returncode == 1 and "no such file: vgg17" in p.stderr and "hint: check the path" in p.stderr


def test_every_command_that_takes_a_spec_takes_a_zoo_name(tmp_path: Path) -> None:
    assert run("summarize", "lenet5").exit_code == 0
    r = run("compare", "vgg16", "vgg16@resolution=160", "--totals")
    assert r.exit_code == 0 and "VGG-16" in r.output
    assert run("sweep", "mobilenet_v1", "--set", "alpha=1,0.5").exit_code == 0
    r = run("check", "vgg16", "examples/conv_standard")
    assert r.exit_code == 0 and "2 specs: 2 passed" in r.output and str(SPECS / "vgg16.yaml") in r.output
    assert run("graph", "lenet5").output.startswith("flowchart TD")
    assert run("verify", "examples/conv_standard").exit_code == 0
    assert run("run", "lenet5").exit_code == 0
    assert run("plot", "lenet5", "-o", str(tmp_path / "c.svg")).exit_code == 0


def test_zoo_lists_every_model_with_its_declared_figures() -> None:
    r = run("zoo")
    assert r.exit_code == 0
    models = zoo.models()
    rows = {line.split()[0]: line for line in r.output.splitlines()[2:] if line and line.split()[0] in models}
    assert sorted(rows) == sorted(models)  # each spec, or each variant of a family
    # figures as each spec's expect: block declares them, with its source
    assert "138,357,544" in rows["vgg16"] and "15,470,264,320" in rows["vgg16"]     # torchvision vgg16
    assert "torchvision vgg16 IMAGENET1K_V1 num_params" in rows["vgg16"]
    assert "25,557,032 *" in rows["resnet50"]             # trainable: torchvision's num_params
    assert "~714,188,480" in rows["alexnet"]              # _ops 0.714, declared with a tolerance
    assert "Sandler et al. 2018" in rows["mobilenet_v2"]   # the spec's own `source:`
    assert "120,422,400" in rows["examples/inception_naive"]  # notes: 28·28·32·5·5·192


def test_zoo_json_and_one_model() -> None:
    doc = json.loads(run("zoo", "-f", "json").output)
    models = {m["name"]: m for m in doc["models"]}
    assert sorted(models) == sorted(zoo.models())
    assert models["vgg16"]["figures"]["params"] == {
        "value": 138_357_544, "tolerance": 0, "source": "torchvision vgg16 IMAGENET1K_V1 num_params 138,357,544"}
    assert models["resnet18"]["figures"]["macs"]["tolerance"] == 500_000  # _ops 1.814, 3 decimals
    r = run("zoo", "resnet50")
    assert r.exit_code == 0 and r.output.startswith("resnet50: ResNet-50\nfile: ")
    assert "He et al. 2015" in r.output and "trainable_params  " in r.output
    assert run("zoo", "vgg16", "--yaml").output == (SPECS / "vgg16.yaml").read_text()
    assert run("zoo", "vgg16", "--path").output.strip() == str(SPECS / "vgg16.yaml")
    assert run("zoo", "--path").output.strip() == str(SPECS)


def test_families_list_each_variant() -> None:
    models = zoo.models()
    assert {"densenet@densenet121", "densenet@densenet201", "resnet50", "resnet50@resnext50_32x4d"} <= set(models)
    assert "densenet" not in models  # no figures of its own: its variants are the models
    assert not any(m.startswith("lib/") for m in models)
    e = zoo.entry("densenet@densenet161")
    assert e.model == "DenseNet-161" and e.figures["trainable_params"].value == 28_681_000  # torchvision num_params


def test_zoo_errors() -> None:
    r = run("zoo", "resnet5")
    assert r.exit_code == 1 and "no model named 'resnet5'" in r.stderr and "did you mean 'resnet50'" in r.stderr
    assert run("zoo", "--yaml").exit_code == 2


@pytest.mark.parametrize("name", zoo.models())
def test_every_model_reads(name: str) -> None:
    e = zoo.entry(name)
    assert e.model and e.source and e.figures, name  # each names its source and declares figures


def test_zoo_fits_a_narrow_terminal() -> None:
    from archcalc.cli.zoo import _table
    lines = _table(zoo.entries(), 80)
    rows = [t for t, style in lines if style == ""]
    assert rows and all(len(t) <= 80 for t in rows)
    vgg = next(t for t in rows if t.startswith("vgg16 "))
    assert vgg.split()[1:] == ["138,357,544", "15,470,264,320"]  # the figures whole; titles and sources dropped
    assert len(next(t for t, s in lines if s == "bold")) <= 80
