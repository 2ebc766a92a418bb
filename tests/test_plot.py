"""`archcalc plot` (optional matplotlib) and the analytic path's freedom from it."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import ROOT, SPECS, run

import archcalc


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)          # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    r = run("plot", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / "x.png"))
    assert r.exit_code == 1
    assert "matplotlib" in r.stderr and "pip install 'matplotlib>=3.7'" in r.stderr  # works without a package index
    assert "Traceback" not in r.stderr and not (tmp_path / "x.png").exists()
    from archcalc import plot
    with pytest.raises(plot.MissingExtraError, match="matplotlib"):
        plot.plot_sweep([(1, 2, 3)], "alpha", tmp_path / "s.png")


def test_analytic_commands_never_import_matplotlib_or_numpy() -> None:
    code = ("import sys\nfrom archcalc.cli import cli\n"
            "for args in (['summarize', 'specs/vgg16.yaml'], ['graph', 'specs/vgg16.yaml', '-d', '1'], ['schema']):\n"
            "    cli.main(args, standalone_mode=False)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy'))\n"
            "print('IMPORTED', bad, file=sys.stderr)\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert "IMPORTED []" in p.stderr


def test_bad_suffix_is_refused(tmp_path: Path) -> None:
    r = run("plot", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / "x.jpeg"))
    assert r.exit_code == 1 and ".png" in r.stderr




@pytest.mark.parametrize("suffix,magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_plot_writes_images(tmp_path: Path, suffix: str, magic: bytes) -> None:
    import matplotlib  # noqa: F401  (in the test extra: this test always runs)
    out = tmp_path / f"cost.{suffix}"
    r = run("plot", str(SPECS / "vgg16.yaml"), "--depth", "1", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes().startswith(magic) and f"wrote {out}" in r.stderr


def test_plot_svg_is_deterministic_and_labelled(tmp_path: Path) -> None:
    import matplotlib  # noqa: F401  (in the test extra: this test always runs)

    from archcalc.plot import plot_costs
    an = archcalc.analyze(SPECS / "lenet5.yaml")
    a = plot_costs(an, tmp_path / "a.svg").read_text()
    b = plot_costs(an, tmp_path / "b.svg").read_text()
    assert a == b
    for name in ("conv1 (conv)", "conv2 (conv)", "fc1 (dense)", "fc3 (dense)"):
        assert name in a                      # svg.fonttype none: labels stay text
    assert "tanh1" not in a                   # no parameters, no MACs: left out by default
    assert "tanh1" in plot_costs(an, tmp_path / "c.svg", all_layers=True).read_text()


def test_plot_sweep(tmp_path: Path) -> None:
    import matplotlib  # noqa: F401  (in the test extra: this test always runs)

    from archcalc.plot import plot_sweep
    rows = []
    for res in (32, 64, 96):
        t = archcalc.analyze(SPECS / "vgg16.yaml", overrides={"resolution": res}).totals
        rows.append((res, t.params, t.macs))
    svg = plot_sweep(rows, "resolution", tmp_path / "s.svg", title="VGG-16").read_text()
    assert "cost against resolution" in svg and "VGG-16" in svg
    svg = plot_sweep([(Fraction(1, 2), 1, 2), (1, 3, 4)], "alpha", tmp_path / "f.svg").read_text()
    assert "alpha" in svg
    svg = plot_sweep([("nearest", 1, 2), ("bilinear", 1, 3)], "mode", tmp_path / "w.svg").read_text()
    assert "bilinear" in svg
