"""Every shipped spec holds its published figures: `archcalc check` over specs/, one test per spec
and variant.

Specs are discovered by glob, so a spec added by anyone is held to its `expect:` blocks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LIBRARIES, ROOT, SPEC_PATHS, SPECS, run, setting_id, zoo_settings

from archcalc.check import PASS, check_spec, parse_expect
from archcalc.spec import load

ZOO = zoo_settings()


@pytest.mark.parametrize(("path", "variant"), ZOO, ids=[setting_id(p, v) for p, v in ZOO])
def test_spec_holds_its_figures(path: Path, variant: str | None) -> None:
    r = check_spec(path, variant=variant)
    assert r.status == PASS, "\n".join(f.describe() for f in r.failures)


@pytest.mark.parametrize(("path", "variant"), ZOO, ids=[setting_id(p, v) for p, v in ZOO])
def test_spec_declares_sourced_figures(path: Path, variant: str | None) -> None:
    spec = load(path)
    root = spec.root if variant is None else spec.variants[variant].root
    expected = parse_expect(root)  # raises when an entry has no source
    assert expected, f"{setting_id(path, variant)} has no `expect:` block"
    assert all(e.source for e in expected)


def test_every_spec_file_is_checked() -> None:
    assert {p for p, _ in ZOO} == set(SPEC_PATHS)
    assert LIBRARIES and all(load(p).is_library for p in LIBRARIES)


def test_check_command_over_the_zoo() -> None:
    res = run("check", str(SPECS))
    assert res.exit_code == 0, res.output
    n = len(LIBRARIES)
    assert f"{len(ZOO)} specs: {len(ZOO)} passed, 0 failed, 0 invalid, 0 without checks; {n} block librar" in res.output


def test_pre_commit_hook_is_declared() -> None:
    import yaml
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "archcalc-check")
    assert hook["entry"].startswith("archcalc check")


def test_variants_reachable_by_variables() -> None:
    import archcalc
    # AlexNet as in the 2012 paper / the notes (no GPU grouping), arithmetic in specs/alexnet.yaml:
    # convs 34,944 + 614,656 + 885,120 + 1,327,488 + 884,992 = 3,747,200; fc 58,631,144 -> 62,378,344
    paper = archcalc.analyze(SPECS / "alexnet.yaml", overrides={"paper": True})
    assert paper.totals.params == 62_378_344
    assert paper.input_shape == (227, 227, 3) and "lrn" in {r.kind for r in paper.rows}
    # ResNet-50 V1 (stride on the first 1x1): same parameters, fewer MACs than V1.5
    v1 = archcalc.analyze(SPECS / "resnet50.yaml", overrides={"stride_on_3x3": False})
    assert v1.totals.trainable_params == 25_557_032  # torchvision num_params
    assert v1.totals.macs < 4_089_184_256
    # plain-34 without BatchNorm: each BN of C channels holds 2C trainable + 2C running statistics;
    # 4·(64 + 6·64 + 8·128 + 12·256 + 6·512) = 4·7,616 = 30,464 parameters disappear
    with_bn = archcalc.analyze(SPECS / "plain34.yaml")
    no_bn = archcalc.analyze(SPECS / "plain34.yaml", overrides={"bn": False})
    assert with_bn.totals.params - no_bn.totals.params == 2 * 2 * (64 + 6 * 64 + 8 * 128 + 12 * 256 + 6 * 512)
