"""Issue 15: every reproducer of the fuzz campaign (../shared/reliability/findings/NN-*.yaml) as a
regression test. Each test names its finding; its input is copied here (or generated here, for the
large ones, as the finding's file was), so nothing depends on files outside the repository.

The hangs are checked by what made them hang (how many did-you-mean hints are worked out, how the
work grows with the input's size in CPU time, which code runs before the executor refuses), not by
a wall-clock target: speed targets live in benchmarks/bench_scale.py.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import Result
from conftest import run

import archcalc


def cli(*args: str) -> Result:
    """Run the CLI in-process; never an internal error or a traceback, whatever the outcome."""
    r = run(*args)
    assert "internal error" not in r.stderr and "Traceback" not in r.output, r.output
    assert r.exit_code in (0, 1, 2, 3), (r.exit_code, r.output)
    return r


def fails(r: Result, path: Path | str, line: int | None, match: str, code: int = 1) -> str:
    """An error of exit `code`, located at `path:line:` (when given), whose text matches `match`."""
    assert r.exit_code == code, (r.exit_code, r.output)
    err = r.stderr
    if line is not None:
        assert f"{path}:{line}:" in err, err
    assert re.search(match, err), err
    return err


def cpu_growth(make: Callable[[int], Any], n: int, factor: int = 8) -> float:
    """CPU seconds of `make(factor * n)` over those of `make(n)` (best of two each): about
    `factor` when the work is linear, `factor`² when quadratic. CPU time, not wall time, so a
    busy machine does not change it much."""
    def cpu(size: int) -> float:
        best = float("inf")
        for _ in range(2):
            t = time.process_time()
            make(size)
            best = min(best, time.process_time() - t)
        return max(best, 1e-3)
    return cpu(factor * n) / cpu(n)


# --- F. YAML tags on scalars ----------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("!!float", r"an empty value is tagged !!float but is not a number"),          # finding 26
    ("!!int", r"an empty value is tagged !!int but is not an integer"),            # finding 26
    ("!!bool maybe", r"'maybe' is tagged !!bool but is not true or false"),        # finding 35
    ("!!float abc", r"'abc' is tagged !!float but is not a number"),               # finding 39
    ("!!int 0x_", r"'0x_' is tagged !!int but is not an integer"),                 # finding 39
    ("!!null abc", r"'abc' is tagged !!null but is not null"),                     # same class: was null
    ("1.0e+999", r"the number 1.0e\+999 is too large for a decimal number"),       # same class: was inf
])
def test_findings_26_35_39_tagged_scalars(value: str, message: str, write) -> None:  # type: ignore[no-untyped-def]
    """26: an empty `!!float`/`!!int` crashed (IndexError); 35: `!!bool maybe` crashed (KeyError);
    39: `!!float abc` was reported as 'received nothing (null)'. Each is now refused at its place."""
    p = write(f"input: 8x8x3\nlayers:\n  - {{kind: conv, filters: {value}, kernel: 1}}\n")
    fails(cli("summarize", str(p)), p, 3, message)


def test_finding_26_tagged_document(write) -> None:  # type: ignore[no-untyped-def]
    """26 as found: the whole document is an empty `!!float`, run through `check`."""
    p = write("!!float\n")
    fails(cli("check", str(p)), p, 1, r"an empty value is tagged !!float but is not a number")


# --- G. non-string block-argument keys in did-you-mean ------------------------------------------------

def test_finding_21_null_argument_name(write) -> None:  # type: ignore[no-untyped-def]
    """`args: {null}` (and a layer with an unknown argument `s`) crashed the did-you-mean."""
    p = write("blocks:\n  t:\n   layers:\n   - {kind: convrelu,s}\n  convrelu:\n   args: {null}\n")
    err = fails(cli("summarize", str(p)), p, 1, r"the spec has no `input:`")
    assert "argument name nothing (null) is not usable" in err


# --- B. did-you-mean over every name, for every diagnostic ------------------------------------------

def _wide_block() -> str:
    """Finding 02's document: a block of 2,000 arguments a0..a1999, used by one layer that passes
    1,985 arguments it does not have (z3, z16 ... z1999); no `input:`."""
    args = ", ".join(f"a{i}: 1" for i in range(2000))
    bad = ", ".join(f"z{i}: 1" for i in [3, *range(16, 2000)])
    return f"blocks:\n  wide:\n    args: {{{args}}}\n    layers: [{{kind: relu}}]\nlayers:\n- {{kind: wide, {bad}}}\n"


def _misspelt(n: int) -> str:
    """Finding 06's document at n layers (the file has 40,000): two misspelt fields on each."""
    return "input: 8x8x3\nlayers:\n" + "- {kind: conv, filtres: 1, kernal: 3}\n" * n


def _unknown_kinds(n: int) -> str:
    """Finding 30's document at n blocks (the file has 3,000), each with a layer of an unknown kind."""
    blocks = "".join(f"  blk{i}:\n    layers:\n      - {{kind: nosuchkind{i}}}\n" for i in range(n))
    return f"input: 8x8x3\nblocks:\n{blocks}layers:\n  - {{kind: relu}}\n"


@pytest.mark.parametrize("finding, text, line, message", [
    ("02", _wide_block(), 1, r"the spec has no `input:`"),
    ("06", _misspelt(40_000), 3, r"'conv' has no field 'filtres'"),
    ("30", _unknown_kinds(3000), 5, r"unknown layer kind 'nosuchkind0'"),
])
def test_findings_02_06_30_hints_only_for_what_is_shown(finding: str, text: str, line: int, message: str,
                                                         write) -> None:  # type: ignore[no-untyped-def]
    """A did-you-mean hint compares a word with every option (difflib): one per diagnostic was
    quadratic (02: 1,985 words x 2,000 arguments, 10 s; 30: 3,000 kinds x 3,000 block names, 29 s)
    or costly (06: 80,000 hints, 11 s). Now at most spec.HINTED hints are worked out, and the
    check stops at spec.MAX_DIAGNOSTICS problems."""
    from archcalc import spec
    p = write(text)
    with mock.patch("difflib.get_close_matches", wraps=difflib.get_close_matches) as close:
        r = cli("summarize", str(p))
    err = fails(r, p, line, message)
    assert close.call_count <= spec.HINTED + 5, close.call_count  # + a few hints not from the collector
    if finding != "02":
        assert "more errors (the check stopped there; fix these first)" in err


def test_finding_30_hint_lists_some_names(write) -> None:  # type: ignore[no-untyped-def]
    """With nothing close, the hint listed all 3,000 block names (a 25 kB line built per error)."""
    p = write(_unknown_kinds(3000).replace("nosuchkind0}", "qqqqqqqqqqqqqqqqqqqq}"))
    err = fails(cli("summarize", str(p)), p, 5, r"unknown layer kind 'qqqqqqqqqqqqqqqqqqqq'")
    hint = next(x for x in err.splitlines() if x.startswith("  hint: known kinds and blocks:"))
    assert len(hint) <= 200


def test_finding_06_checking_is_linear() -> None:
    """Checking the structure of n misspelt layers costs about n (the file's 40,000 took 11 s)."""
    def check(n: int) -> None:
        with pytest.raises(archcalc.SpecError):
            archcalc.load(text=_misspelt(n))
    assert cpu_growth(check, 2000) < 20


def test_block_arguments_checked_once_per_block() -> None:
    """Same class as 02: a block's allowed and required arguments were listed once per layer that
    uses it (a block of 2,000 arguments used by n layers: n x 2,000)."""
    def load(n: int) -> None:
        args = ", ".join(f"a{i}: 1" for i in range(2000))
        archcalc.load(text=f"input: 8x8x3\nblocks:\n  wide:\n    args: {{{args}}}\n    layers: [{{kind: relu}}]\n"
                      "layers:\n" + "- {kind: wide}\n" * n)
    assert cpu_growth(load, 250) < 20


# --- D. `outputs: []` ---------------------------------------------------------------------------------

@pytest.mark.parametrize("finding, command, text", [
    ("17", ("check",), "input: 6x6x3\nlayers:\n- {kind: conv, filters: 5, kernel: 1}\nexpect:\n  output_shape:\n"
                       "    value: [5]\n    source: 'notes: same 4 x 4 x '\noutputs: []\n"),
    ("24", ("sweep",), "input: 32x32x1\nlayers:\n- {kind: flatten}\noutputs: []\n"),
    ("28", ("compare", "SPEC", "-f", "json"), "input: [resolution, resolution, 3]\nvars: {resolution: 224}\n"
                                              "layers:\n- {kind: flatten}\noutputs: []\n"),
    ("36", ("summarize", "-f", "json"), "input: 8x8x3\nlayers:\n  - {kind: relu}\noutputs: []\n"),
])
def test_findings_17_24_28_36_empty_outputs(finding: str, command: tuple[str, ...], text: str,
                                            write) -> None:  # type: ignore[no-untyped-def]
    """`outputs: []` was accepted, then every report took outputs[-1] of an empty list."""
    p = write(text)
    args = [command[0], str(p), *(str(p) if a == "SPEC" else a for a in command[1:])]
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("outputs"))) + 1
    fails(cli(*args), p, line, r"`outputs` is an empty list")
