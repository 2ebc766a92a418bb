"""The project's own files install what it needs: the CI lower-bound constraints follow pyproject."""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT


def _lower_bounds() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    out: dict[str, str] = {}
    for r in reqs:
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)", r)
        assert m, f"{r!r}: every dependency declares a lower bound (name>=version)"
        out[m.group(1).lower()] = m.group(2)
    return out


def test_ci_lower_bounds_are_pyprojects() -> None:
    pins = {}
    for line in (ROOT / ".ci" / "lower-bounds.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    bounds = _lower_bounds()
    # every declared bound is pinned, as written or with trailing .0s (pip: 8.1 == 8.1.0)
    for name, version in bounds.items():
        assert name in pins, f".ci/lower-bounds.txt does not pin {name} (pyproject: >={version})"
        assert pins[name].split(".")[: len(version.split("."))] == version.split(".") and \
            all(x == "0" for x in pins[name].split(".")[len(version.split(".")):]), \
            f"{name}: .ci/lower-bounds.txt pins {pins[name]}, pyproject's lower bound is {version}"
    assert set(pins) <= set(bounds), f"pinned but not declared: {sorted(set(pins) - set(bounds))}"
