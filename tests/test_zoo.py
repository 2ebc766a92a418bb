"""Every shipped spec holds its published figures: `archcalc check` over specs/, one test per spec.

Specs are discovered by glob, so a spec added by anyone is held to its `expect:` block.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, SPECS, run

from archcalc.check import PASS, check_spec, parse_expect
from archcalc.spec import load

ZOO = sorted(p for p in SPECS.rglob("*") if p.suffix in (".yaml", ".yml"))


def _id(p: Path) -> str:
    return str(p.relative_to(SPECS))


@pytest.mark.parametrize("path", ZOO, ids=_id)
def test_spec_holds_its_figures(path: Path) -> None:
    r = check_spec(path)
    assert r.status == PASS, "\n".join(f.describe() for f in r.failures)


@pytest.mark.parametrize("path", ZOO, ids=_id)
def test_spec_declares_sourced_figures(path: Path) -> None:
    spec = load(path)
    expected = parse_expect(spec.root)  # raises when an entry has no source
    assert expected, f"{_id(path)} has no `expect:` block"
    assert all(e.source for e in expected)


def test_check_command_over_the_zoo() -> None:
    res = run("check", str(SPECS))
    assert res.exit_code == 0, res.output
    assert f"{len(ZOO)} specs: {len(ZOO)} passed" in res.output


def test_pre_commit_hook_is_declared() -> None:
    import yaml
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "archcalc-check")
    assert hook["entry"].startswith("archcalc check")
