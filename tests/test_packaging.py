"""The project's own files install what it needs: the CI lower-bound constraints follow pyproject."""

from __future__ import annotations

import re
import tomllib

import pytest
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


def test_the_version_has_one_source() -> None:
    """archcalc.__version__ is the version: pyproject reads it, CHANGELOG's first entry names it."""
    import archcalc
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "archcalc.__version__"}
    first = re.search(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert first and first.group(1) == archcalc.__version__
    from importlib.metadata import version
    assert version("archcalc") == archcalc.__version__  # what this (editable) install's metadata says


# `pip install archcalc`, `pip install 'archcalc[plot]'`: the package index has no archcalc
_FROM_INDEX = re.compile(r"pip install\s+(?:-\S+\s+)*['\"]?archcalc(?:\[[^\]]*\])?['\"]?(?!\s*@)(?=[\s`'\"]|$)")


def test_no_install_instruction_needs_the_package_index() -> None:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / ".pre-commit-hooks.yaml",
             *(ROOT / "docs").glob("*.md"), *(ROOT / "archcalc").rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in files
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if _FROM_INDEX.search(line)]
    assert found == [], "install from a checkout or the git URL instead"
    for ok in ("pip install .", "pip install -e '.[test]'", 'pip install "archcalc[plot] @ git+URL"',
               "pip install matplotlib", "pip install '/path/to/archcalc[plot]'"):
        assert not _FROM_INDEX.search(ok), ok
    for bad in ("pip install archcalc", "pip install 'archcalc[plot]'", "pip install -U archcalc\n"):
        assert _FROM_INDEX.search(bad), bad


def test_readme_installs_into_a_virtual_environment() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8").split("```sh", 1)[0]
    assert "python3 -m venv .venv && . .venv/bin/activate" in head and "externally-managed-environment" in head


@pytest.mark.slow
def test_the_wheel_ships_the_zoo(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A wheel built from this checkout (as pip builds one: isolated, from pyproject.toml and
    setup.py) holds every spec under specs/ as archcalc/specs/, byte for byte, and py.typed."""
    import subprocess
    import sys
    import zipfile
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    (wheel,) = tmp_path.glob("archcalc-*.whl")
    specs = ROOT / "specs"
    with zipfile.ZipFile(wheel) as z:
        shipped = {n.removeprefix("archcalc/specs/"): z.read(n) for n in z.namelist()
                   if n.startswith("archcalc/specs/")}
        assert "archcalc/py.typed" in z.namelist()
        assert not any(n.startswith(("specs/", "tests/")) for n in z.namelist())
    assert shipped == {f.relative_to(specs).as_posix(): f.read_bytes() for f in specs.rglob("*.y*ml")}
