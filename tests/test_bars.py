"""The share bars of the `summarize` table: exact, deterministic, and only in the table."""

from __future__ import annotations

from conftest import SPECS, run
from hypothesis import given
from hypothesis import strategies as st

from archcalc.render import BAR_WIDTH, bar

BLOCKS = set("█▏▎▍▌▋▊▉")


def eighths(s: str) -> int:
    return 8 * s.count("█") + sum(" ▏▎▍▌▋▊▉".index(c) for c in s if c != "█")


def test_bar_values() -> None:
    assert bar(0, 100) == "" and bar(5, 0) == ""
    assert bar(100, 100) == "█" * BAR_WIDTH
    assert bar(50, 100) == "████"
    assert bar(1, 64) == "▏"                       # one eighth of a character per 1/64
    assert bar(1, 10**9) == "▏"                    # a non-zero share stays visible
    assert bar(3, 8, width=2) == "▊"               # 3/8 of 16 eighths = 6 eighths


@given(st.integers(0, 10**12), st.integers(1, 10**12), st.integers(1, 40))
def test_bar_is_the_rounded_share(part: int, whole: int, width: int) -> None:
    part = min(part, whole)
    s = bar(part, whole, width)
    assert set(s) <= BLOCKS and len(s) <= width
    n = eighths(s)
    if part == 0:
        assert s == ""
    else:
        exact = part * width * 8 / whole
        assert abs(n - exact) <= 0.5 + 1e-9 or (n == 1 and exact < 1)
    assert bar(part, whole, width) == s            # deterministic


def test_summarize_table_has_macs_bars_by_default() -> None:
    r = run("summarize", str(SPECS / "lenet5.yaml"))
    assert r.exit_code == 0
    lines = r.output.splitlines()
    head = next(line for line in lines if line.startswith("layer"))
    assert head.rstrip().endswith("MACs share") and "params share" not in head
    conv2 = next(line for line in lines if line.startswith("conv2"))
    assert conv2.rstrip().endswith("████▋")        # 57.6% of 8 characters
    relu = next(line for line in lines if line.startswith("tanh1"))
    assert not BLOCKS & set(relu)


def test_summarize_bars_flag() -> None:
    out = run("summarize", str(SPECS / "lenet5.yaml"), "--bars", "params").output
    assert "params share" in out and "MACs share" not in out
    fc1 = next(line for line in out.splitlines() if line.startswith("fc1"))
    assert fc1.rstrip().endswith("██████▎")        # 48,120 / 61,706 of 8 characters
    both = run("summarize", str(SPECS / "lenet5.yaml"), "--bars", "both").output
    assert "MACs share" in both and "params share" in both
    none = run("summarize", str(SPECS / "lenet5.yaml"), "--bars", "none").output
    assert "share" not in none and not BLOCKS & set(none)


def test_no_bars_outside_the_table() -> None:
    for fmt in ("json", "csv", "markdown"):
        for bars in ("macs", "both"):
            r = run("summarize", str(SPECS / "vgg16.yaml"), "-f", fmt, "--bars", bars)
            assert r.exit_code == 0 and not BLOCKS & set(r.output) and "share" not in r.output
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--explain")
    assert not BLOCKS & set(r.output)
