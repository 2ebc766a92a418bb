"""The zoo tables of README.md and docs/check.md list exactly the specs under specs/, and the
README's figures are the ones archcalc computes for them.

Other branches add specs: when one is missing from a table, the failure names it, so whoever
merges adds its row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, SPECS

import archcalc
from archcalc.render import si

SHIPPED = {str(p.relative_to(SPECS)) for p in SPECS.rglob("*.yaml")
           if not p.is_relative_to(SPECS / "lib")}  # block libraries: blocks only, no figures


def table(doc: Path, heading: str) -> list[list[str]]:
    """The cells of the first pipe table after `heading`."""
    text = doc.read_text(encoding="utf-8")
    rest = text[text.index(heading):]
    lines = re.search(r"^\|.*?(?=^[^|]|\Z)", rest, re.M | re.S).group(0).strip().split("\n")  # type: ignore[union-attr]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


def names(cell: str) -> list[str]:
    """The spec files a first cell names: `vgg16.yaml`, `resnet18/34/50.yaml`, `examples/*.yaml`."""
    out = []
    for token in re.findall(r"`([^`]+\.yaml)`", cell):
        m = re.fullmatch(r"([a-z_]+?)(\d+(?:/\d+)+)\.yaml", token)
        if "*" in token:
            out += sorted(str(p.relative_to(SPECS)) for p in SPECS.glob(token))
        elif m:
            out += [f"{m.group(1)}{n}.yaml" for n in m.group(2).split("/")]
        else:
            out.append(token)
    return out


@pytest.mark.parametrize("doc,heading", [(ROOT / "README.md", "## The model zoo"),
                                         (ROOT / "docs" / "check.md", "## The shipped zoo")])
def test_zoo_table_lists_every_spec(doc: Path, heading: str) -> None:
    rows = table(doc, heading)
    listed = [n for row in rows for n in names(row[0])]
    once = [n for row in rows if "@" not in row[0] for n in names(row[0])]  # a family's variant rows repeat it
    missing = sorted(SHIPPED - set(listed))
    unknown = sorted(set(listed) - SHIPPED)
    assert not missing, f"{doc.name}: the zoo table leaves out {', '.join(missing)}: add a row for each"
    assert not unknown, f"{doc.name}: the zoo table names specs that do not exist: {', '.join(unknown)}"
    assert len(once) == len(set(once)), f"{doc.name}: a spec is listed twice"


def _figures(path: str) -> set[str]:
    """How the README may write a spec's figures, in its default setting or any variant: exact
    (61,706), rounded (1.81 G) or to torchvision's three decimals (2.834 G)."""
    spec = archcalc.load(SPECS / path)
    out: set[str] = set()
    for variant in (None, *spec.variants):
        t = archcalc.analyze(spec, variant=variant).totals
        for v in (t.torch_params, t.macs):
            out |= {f"{v:,}", si(v), f"{v / 1e9:.3f} G"}
    return out


def test_readme_zoo_figures_are_computed() -> None:
    rows = table(ROOT / "README.md", "## The model zoo")
    assert len(rows) >= 9
    for row in rows:
        specs = names(row[0])
        allowed = set().union(*(_figures(s) for s in specs))
        for cell in row[1:3]:
            for figure in re.findall(r"\d[\d,]*(?:\.\d+ [kMGT])?", cell):
                assert figure in allowed, f"README zoo table, {row[0]}: {figure} is no figure of {', '.join(specs)}"


def test_names_expand() -> None:
    assert names("`resnet18/34/50.yaml`") == ["resnet18.yaml", "resnet34.yaml", "resnet50.yaml"]
    assert names("`vgg16.yaml`, `vgg19.yaml`") == ["vgg16.yaml", "vgg19.yaml"]
    assert "examples/conv_standard.yaml" in names("`examples/*.yaml`")
