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
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import Result
from conftest import ROOT, run

import archcalc

sys.path.insert(0, str(ROOT / "benchmarks"))
import gen_specs  # noqa: E402  (the findings' documents, at any size; the benchmarks use them too)


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
    busy machine does not change it much. The garbage of earlier tests is collected first: in
    the whole suite its collection landed in the larger size's time (compare's 16,000 rows
    measured 20.3 times its 2,000 where alone they take 8)."""
    import gc

    def cpu(size: int) -> float:
        best = float("inf")
        for _ in range(2):
            gc.collect()
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
    """`args: {null}` (and a layer with an unknown argument `s`) crashed the did-you-mean. A file of
    blocks alone is a block library (what `include:` names), checked as one."""
    p = write("blocks:\n  t:\n   layers:\n   - {kind: convrelu,s}\n  convrelu:\n   args: {null}\n")
    err = fails(cli("summarize", str(p)), p, 6, r"argument name nothing \(null\) is not usable")
    assert "block 'convrelu' has no argument 's'" in err


# --- B. did-you-mean over every name, for every diagnostic ------------------------------------------

@pytest.mark.parametrize("finding, text, line, message", [
    ("02", gen_specs.unknown_arguments(2000, [3, *range(16, 2000)]), 1, r"the spec has no `input:`"),
    ("06", gen_specs.misspelt(40_000), 3, r"'conv' has no field 'filtres'"),
    ("30", gen_specs.unknown_kinds(3000), 5, r"unknown layer kind 'nosuchkind0'"),
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
    """With nothing close, the hint listed all 3,000 block names (a 25 kB line built per error).
    It lists every kind (kinds.unknown_kind), then the first errors.MAX_LISTED blocks and how many."""
    from archcalc.errors import MAX_LISTED
    from archcalc.kinds.base import unknown_kind
    p = write(gen_specs.unknown_kinds(3000).replace("nosuchkind0}", "qqqqqqqqqqqqqqqqqqqq}"))
    err = fails(cli("summarize", str(p)), p, 5, r"unknown layer kind 'qqqqqqqqqqqqqqqqqqqq'")
    assert re.search(r"\(3,000\s+in all\)", err), err  # the hint is wrapped at spaces
    hint = unknown_kind("qqqqqqqqqqqqqqqqqqqq", tuple(f"blk{i}" for i in range(3000))).hint or ""
    assert hint.count("blk") == MAX_LISTED and len(hint) < 1000


def test_finding_06_checking_is_linear() -> None:
    """Checking the structure of n misspelt layers costs about n (the file's 40,000 took 11 s)."""
    def check(n: int) -> None:
        with pytest.raises(archcalc.SpecError):
            archcalc.load(text=gen_specs.misspelt(n))
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


# --- C. exact huge numbers meet float() or the 4,300-digit str() limit ------------------------------

def test_finding_13_not_whole_and_past_a_float(write) -> None:  # type: ignore[no-untyped-def]
    """--set classes=2**1100/3: the 'expected an integer' message took float() of the value."""
    p = write("input: [resolution, resolution, 3]\nvars: {resolution: 224, classes: 1000}\nlayers:\n"
              "- {kind: dense, units: classes}\n")
    err = fails(cli("run", str(p), "--set", "classes=2**1100/3"), p, 4,
                r"units: expected an integer, but 'classes' is 13582985\.\.\.5376 \(332 digits\)/3 "
                r"\(= 4\.52766e\+330\)")
    assert "--set classes=2**1100/3" in err


def test_finding_20_out_of_range_real(write) -> None:  # type: ignore[no-untyped-def]
    """A dropout rate of 2**1100/3: the range message took float() of it."""
    p = write("input: [resolution, resolution, 3]\nvars: {resolution: 224}\nlayers:\n"
              "- {kind: dropout, rate: 2**1100/3}\n")
    fails(cli("summarize", str(p)), p, 4, r"rate: must be at least 0, at most 1, received 4\.52766e\+330")


@pytest.mark.parametrize("finding, command, text, line", [
    ("22", ("summarize",), "input: [resolution, resolution, 3]\nvars: {resolution: 224, classes: 1000}\n"
                           "layers:\n- {kind: upsample, scale: 4294967296, repeat: 600}\n- {kind: flatten}\n"
                           "- {kind: dense, units: classes}\n", 4),
    ("23", ("check",), "input: 6x6x3\nlayers:\n- {kind: upsample, scale: 4294967296, repeat: 600}\n"
                       "- {kind: conv, filters: 5, kernel: 3}\nexpect:\n"
                       "  macs: {value: 2160, source: 'case-study notes, Fi'}\n", 3),
    ("27", ("compare", "SPEC", "SPEC"), "input: [3, 3, 1000000000000000000]\nlayers:\n- kind: upsample\n"
                                        "  scale: [1, 4611686018427387904]\n  repeat: 600\n", 3),
    ("29", ("sweep",), "input: 28x28x192\nlayers:\n- {kind: upsample, scale: 9223372036854775807, repeat: 240}\n", 3),
    ("37", ("summarize", "--bars", "none"), "input: 1x1x1\nlayers:\n"
                                            "  - {kind: upsample, scale: [9223372036854775807, 1], repeat: 12000}\n",
     3),
])
def test_findings_22_23_27_29_37_dimensions_are_bounded(finding: str, command: tuple[str, ...], text: str,
                                                        line: int, write) -> None:  # type: ignore[no-untyped-def]
    """Repeated upsampling made shapes of thousands of digits: Python's 4,300-digit str() limit
    crashed the table (22), check's FAIL line (23), compare's totals (27), the sweep's shapes (29);
    12,000 upsamplings by 2^63 - 1 held 1.2 GB of shapes first (37). Every dimension a layer
    computes is now held to the bound a written one has, 2^63 - 1, at the layer that passes it."""
    p = write(text)
    args = [command[0], str(p), *(str(p) if a == "SPEC" else a for a in command[1:])]
    fails(cli(*args), p, line, r"its output has a dimension of [\d.]+( \(\d+ digits\))?, more than the largest "
                               r"size archcalc accepts, 2\^63 - 1")


def test_finding_37_refused_at_once() -> None:
    """12,000 upsamplings by 2^63 - 1: refused at the second, so the work grows with the number of
    layers (expanding them), not with the size of their shapes (63 bits more at each layer)."""
    def analyse(n: int) -> None:
        with pytest.raises(archcalc.SpecError, match="upsample2"):
            archcalc.analyze(archcalc.load(text="input: 1x1x1\nlayers:\n"
                                           f"  - {{kind: upsample, scale: [9223372036854775807, 1], repeat: {n}}}\n"))
    assert cpu_growth(analyse, 1500) < 20  # the expansion is linear; the walk stops at layer 2


def test_finding_18_plot_of_figures_past_a_c_long(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A batch of 2^40 gives MACs past 2^63: matplotlib converts ints to a C long."""
    pytest.importorskip("matplotlib")
    p = write("input: 28x28x192\nlayers:\n- {kind: conv, filters: 32, kernel: 5}\nbatch: 1099511627776\n")
    out = tmp_path / "cost.png"
    r = cli("plot", str(p), "-o", str(out))
    assert r.exit_code == 0 and out.stat().st_size > 0, r.output


def test_finding_25_variable_past_a_float_in_a_title(write) -> None:  # type: ignore[no-untyped-def]
    """compare's title of a spec set with SPEC@blocks4=2**1100/3 took float() of the value."""
    p = write("input: [resolution,resolution,3]\nvars: {resolution: 4, blocks4}\nlayers:\n- {kind: batchnorm}\n")
    r = cli("compare", str(p), f"{p}@blocks4=2**1100/3")
    assert r.exit_code == 0 and "(blocks4=4.52766e+330)" in r.stdout, r.output


def test_sweep_of_a_value_past_a_float(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Same class as 25: sweep shows values as compare does, and plots them as categories."""
    pytest.importorskip("matplotlib")
    p = write("input: 8x8x3\nvars: {x: 1}\nlayers:\n  - {kind: relu}\n")
    r = cli("sweep", str(p), "--set", "x=2**1100/3,1", "--plot", str(tmp_path / "s.png"))
    assert r.exit_code == 0 and "4.52766e+330" in r.stdout and (tmp_path / "s.png").exists(), r.output
    r = cli("sweep", str(p), "--set", "x=2**1100/3,1", "-f", "json")
    assert r.exit_code == 0 and '"135829852904938584927735' in r.stdout  # exact, as text


def test_finding_34_receptive_field_past_a_float(write) -> None:  # type: ignore[no-untyped-def]
    """Receptive fields are exact fractions, shown as floats: a jump past 1e308 with a half-pixel
    start crashed every `-f json` and `--rf`. As found (zeropad 2^63 - 1 on both sides) the spec
    now stops at the dimension bound; the same growth within it (an odd stride of 3^39, 18 times,
    then a 2 x 2 window) gives fields that are followed up to receptive.MAX_BITS, then unknown."""
    p = write("input: 1x1x1\nblocks:\n  zs:\n    layers:\n      - {kind: zeropad, padding: 9223372036854775807}\n"
              "      - {kind: conv, filters: 1, kernel: 1, stride: 9223372036854775807}\nlayers:\n"
              "  - {kind: zs, repeat: 18}\n  - {kind: conv, filters: 1, kernel: 2}\n")
    fails(cli("summarize", str(p), "-f", "json"), p, 5, r"dimension of 18446744073709551615")
    stride = 3**39  # 4,052,555,153,018,976,267 < 2^63 - 1
    q = write(f"input: 1x1x1\nblocks:\n  zs:\n    layers:\n      - {{kind: zeropad, padding: [{stride}, 0, 0, 0]}}\n"
              f"      - {{kind: conv, filters: 1, kernel: 1, stride: {stride}}}\nlayers:\n"
              "  - {kind: zs, repeat: 18}\n  - {kind: conv, filters: 1, kernel: 2, padding: [0, 1, 0, 1]}\n",
              "odd.yaml")
    import json
    layers = json.loads(cli("summarize", str(q), "-f", "json").stdout)["layers"]
    fields = [x["receptive_field"] for x in layers]
    assert fields[0] == {"size": [1, 1], "jump": [1, 1], "start": [0, 0], "spatial": True}
    assert fields[2]["jump"] == [stride, stride]    # zs1/conv1: one stride in
    assert fields[-1] is None                       # 3^(39·18) needs 1,116 bits
    assert cli("summarize", str(q), "--rf").exit_code == 0


# --- E. command-line values -----------------------------------------------------------------------

CONV = "input: 6x6x3\nlayers:\n- {kind: conv, filters: 5, kernel: 3}\n"


@pytest.mark.parametrize("finding, command, value", [
    ("09", "run", "inf"), ("09", "run", "1e400"), ("10", "verify", "nan"),
    ("same class", "run", "-1G"), ("same class", "run", "0"), ("same class", "run", "0.1"),
    ("same class", "run", "4X"), ("same class", "run", ""), ("same class", "run", "9" * 5000),
])
def test_findings_09_10_max_memory(finding: str, command: str, value: str, write) -> None:  # type: ignore[no-untyped-def]
    """--max-memory inf, 1e400 (OverflowError) and nan (ValueError) went through float() and int():
    a usage error now, naming the option and the value as typed."""
    p = write(CONV)
    r = cli(command, str(p), "--max-memory", value)
    assert r.exit_code == 2 and "Invalid value for '--max-memory'" in r.stderr, r.output
    assert repr(value[:57] + "..." if len(value) > 60 else value) in r.stderr


def test_max_memory_sizes_are_exact(write) -> None:  # type: ignore[no-untyped-def]
    from archcalc.execute import parse_bytes
    assert parse_bytes("4G") == 4 * 1024**3 and parse_bytes("1.5GiB") == 3 * 1024**3 // 2
    assert parse_bytes("512 mb") == 512 * 1024**2 and parse_bytes("100000") == 100_000 and parse_bytes("1B") == 1


def test_finding_16_negative_seed(write) -> None:  # type: ignore[no-untyped-def]
    """--seed -1 (an accepted int) reached numpy.random.default_rng: ValueError."""
    r = cli("run", str(write("input: 28x28x192\nlayers:\n- {kind: conv, filters: 32, kernel: 5}\n")), "--seed", "-1")
    assert r.exit_code == 2 and "Invalid value for '--seed': -1 is not in the range x>=0" in r.stderr, r.output


@pytest.mark.parametrize("finding, args", [
    ("11", ("schema", "-o", "nodir/s.json")),
    ("12", ("graph", "SPEC", "-o", "nodir/out.md")),
    ("14", ("plot", "SPEC", "-o", "nodir/p.png")),
    ("same class", ("sweep", "SPEC", "--set", "n=1,2", "--plot", "nodir/p.png")),
    ("same class", ("run", "SPEC", "-o", "nodir/y.npy")),
])
def test_findings_11_12_14_output_into_a_missing_folder(finding: str, args: tuple[str, ...], write,  # type: ignore[no-untyped-def]
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-o into a folder that does not exist: FileNotFoundError escaped from schema, graph and
    plot (and sweep --plot: the same class). Each says so before any work, naming the option."""
    if "plot" in args or "--plot" in args:
        pytest.importorskip("matplotlib")
    p = write("input: 6x6x3\nvars: {n: 5}\nlayers:\n- {kind: conv, filters: n, kernel: 1}\n")
    monkeypatch.chdir(tmp_path)
    r = cli(*(str(p) if a == "SPEC" else a for a in args))
    option = args[-2]
    fails(r, p, None, rf"error: {re.escape(option)} nodir/\S+: the folder {re.escape(str(tmp_path))}/nodir "
                      r"does not exist")
    assert not (tmp_path / "nodir").exists()


def test_output_that_is_a_folder_or_unwritable(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = write(CONV)
    assert fails(cli("schema", "-o", str(tmp_path)), p, None, r"Invalid value for '--output'", code=2)
    long = str(tmp_path / ("x" * 5000))
    fails(cli("graph", str(p), "-o", long + ".md"), p, None, r"error: -o .{10,}\.\.\.: cannot write there: "
                                                            r"File name too long")


def test_finding_15_overlong_spec_at_argument(write) -> None:  # type: ignore[no-untyped-def]
    """SPEC@NAME=VALUE longer than a file name may be: Path.exists() raised ENAMETOOLONG."""
    p = write("input: 28x28x3\nvars: {x: 1}\nlayers:\n- {kind: relu}\n")
    r = cli("compare", str(p), f"{p}@1x=" + "x" * 3000)
    fails(r, p, None, r"@1x=x+\.\.\.: '1x' is not a variable name")


@pytest.mark.parametrize("command", ["summarize", "check", "graph", "run", "verify", "plot", "sweep"])
def test_overlong_or_empty_spec_path(command: str, tmp_path: Path) -> None:
    """Same class as 15: every command took a path too long for the file system to an internal
    error (is_dir raised), and an empty one for the current folder ('.')."""
    long = str(tmp_path / ("x" * 5000)) + ".yaml"
    r = cli(command, long)
    assert r.exit_code == 1 and "error: cannot read " in r.stderr and "File name too long" in r.stderr, r.output
    r = cli(command, "")
    assert r.exit_code == 1 and ("the SPEC argument is empty" in r.stderr or "an empty path" in r.stderr), r.output


def test_load_text_too_long_to_be_a_path() -> None:
    """archcalc.load(a string) asks whether it names a file first: a 5,000-character line raised."""
    with pytest.raises(archcalc.SpecError, match="the spec has no `layers:`"):
        archcalc.load("input: 8x8x3 " + "x" * 5000)
    with pytest.raises(archcalc.SpecError, match="holds no NUL"):
        archcalc.load("a\x00b")


# --- D. errors that blame the wrong thing ---------------------------------------------------------

BLOCKS = ("input: 8x8x3\nvars: {blocks1: 2}\nblocks:\n  stage:\n    args: {n: null}\n    layers:\n"
          "      - {kind: relu, repeat: n}\nlayers:\n  - {kind: stage, n: blocks1}\n")


def test_sweep_set_names_the_value_and_the_option(write) -> None:  # type: ignore[no-untyped-def]
    """`sweep --set blocks1=x` pointed at `repeat: n` inside the block and named neither `x` nor
    the --set that caused it."""
    p = write(BLOCKS)
    err = fails(cli("sweep", str(p), "--set", "blocks1=x,2"), p, 7,
                r"repeat: expected an integer, received 'n' \(text\), which is 'x' \(text\)")
    assert "note: at the sweep point --set blocks1=x" in err
    err = fails(cli("summarize", str(p), "--set", "blocks1=x"), p, 7, r"which is 'x' \(text\)")
    assert "note: with --set blocks1=x" in err
    err = fails(cli("compare", str(p), f"{p}@blocks1=x"), p, 7, r"which is 'x' \(text\)")
    assert f"note: [B] {p}@blocks1=x" in err


def test_set_name_is_checked_before_its_value(write) -> None:  # type: ignore[no-untyped-def]
    """`--set é=...` evaluated the value before saying the spec has no variable `é`."""
    p = write(BLOCKS)
    for command in ("summarize", "sweep", "run"):
        fails(cli(command, str(p), "--set", "é=1/0"), p, None, r"--set é: the spec has no variable 'é'")
    fails(cli("compare", str(p), f"{p}@é=1/0"), p, None, r"@é: the spec has no variable 'é'")


def test_set_1e999_is_not_inf(write) -> None:  # type: ignore[no-untyped-def]
    """`--set blocks1=1e999` was reported as `inf`: a decimal literal is now read exactly as typed."""
    p = write(BLOCKS)
    err = fails(cli("summarize", str(p), "--set", "blocks1=1e999"), p, 7,
                r"repeat: 10000000\.\.\.0000 \(1000 digits\) is larger than the largest size")
    assert "note: with --set blocks1=1e999" in err
    fails(cli("summarize", str(p), "--set", "blocks1=1e99999"), p, None,
          r"--set blocks1=1e99999: the number 1e99999 exceeds 4096 bits")
    from archcalc.calc import evaluate
    assert evaluate("1e-999 > 0", {}) is True  # was 0.0
    assert evaluate("0.1 + 0.2", {}) == evaluate("3/10", {})


def test_compare_at_setting_without_a_spec(write) -> None:  # type: ignore[no-untyped-def]
    """`compare spec.yaml @a=1` printed "error:  is a directory" (the empty path before '@')."""
    p = write(BLOCKS)
    fails(cli("compare", str(p), "@a=1"), p, None, r"error: @a=1: no spec file before '@'")


def test_command_line_sizes(write) -> None:  # type: ignore[no-untyped-def]
    p = write(BLOCKS)
    big = "9" * 30
    r = cli("summarize", str(p), "--batch", big)
    assert r.exit_code == 2 and "Invalid value for '--batch'" in r.stderr
    fails(cli("summarize", str(p), "--input", f"{big}x8x3"), p, None,
          r"--input 9+x8x3: a size is larger than the largest archcalc accepts")
    fails(cli("sweep", str(p), "--batch", f"1,{big}"), p, None, r"--batch 1,9+: '9+' is not a whole number")
    fails(cli("sweep", str(p), "--batch", "9" * 5000), p, None, r"is not a whole number from 1 to 2\^63 - 1")


def test_finding_40_comparing_a_word(write) -> None:  # type: ignore[no-untyped-def]
    """`when: "mode > 1"` with `mode` a word printed Python's TypeError text."""
    p = write('input: 8x8x3\nvars: {mode: fast}\nlayers:\n  - {kind: relu, when: "mode > 1"}\n')
    err = fails(cli("summarize", str(p)), p, 4, r"when: '>' compares numbers, received 'fast' \(text\)")
    assert "not supported between instances" not in err


# --- B. superlinear work on large legal specs -------------------------------------------------------

def test_finding_04_compare_aligns_in_linear_time() -> None:
    """compare lined layers up with list.index and list.insert in its loop: the file's 19,683
    layers compared with themselves took 10 s."""
    from archcalc.compare import compare
    spec = archcalc.load(text=gen_specs.nested_blocks(9))
    an = archcalc.analyze(spec)
    assert len(an.rows) == 3**9 + 1
    rows = compare([an, an]).aligned()
    assert [a.name for a in rows] == [r.name for r in an.rows] and all(a.rows[0] is a.rows[1] for a in rows)

    def aligned(n: int) -> None:
        text = "input: 6x6x3\nlayers:\n" + "- {kind: relu}\n" * n
        a = archcalc.analyze(archcalc.load(text=text))
        b = archcalc.analyze(archcalc.load(text=text.replace("relu", "tanh")))
        compare([a, b]).aligned()  # no name shared: every row of B is stepped over or inserted
    assert cpu_growth(aligned, 2000) < 20


def _aligned_by_lists(per: list[list[str]]) -> list[str]:
    """compare.aligned as it was written before (list.index and list.insert): the reference."""
    order: list[str] = []
    seen: set[str] = set()
    for names in per:
        own = set(names)
        at = 0
        for n in names:
            if n in seen:
                at = order.index(n) + 1
                continue
            while at < len(order) and order[at] not in own:
                at += 1
            order.insert(at, n)
            seen.add(n)
            at += 1
    return order


def test_aligned_order_is_unchanged() -> None:
    """The linked list gives the order the lists gave, for any names in any order."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from archcalc.compare import Comparison

    class Fake:
        def __init__(self, names: list[str]) -> None:
            self.names = names

        def folded(self, depth: Any) -> list[Any]:
            return [type("R", (), {"name": n})() for n in self.names]

    @settings(max_examples=200, derandomize=True, database=None)
    @given(st.lists(st.lists(st.sampled_from("abcdefghij"), unique=True), min_size=1, max_size=4))
    def same(per: list[list[str]]) -> None:
        c = Comparison.__new__(Comparison)
        c.entries = [type("E", (), {"analysis": Fake(p)})() for p in per]
        assert [a.name for a in c.aligned()] == _aligned_by_lists(per)
    same()


def test_finding_31_folded_convention_counts_are_linear(write) -> None:  # type: ignore[no-untyped-def]
    """--depth 1 --convention: each folded row summed its layers by scanning every row (20 s for
    the file's 10,000 one-layer block instances, against 0.7 s without --convention)."""
    p = write(gen_specs.block_instances(10_000))
    r = cli("summarize", str(p), "--depth", "1", "--convention", "torchinfo")
    assert r.exit_code == 0 and "t10000  tiny" in r.stdout, r.output
    from archcalc import profiles, render

    def table(n: int) -> None:
        an = archcalc.analyze(archcalc.load(text=gen_specs.block_instances(n)))
        render.table(an, 1, extras=render.Extras(an, convention="ptflops"))
    assert cpu_growth(table, 1000) < 20
    an = archcalc.analyze(archcalc.load(text="input: 4x4x1\nblocks:\n  two:\n    layers:\n      - {kind: relu}\n"
                                            "      - {kind: maxpool, size: 1}\nlayers:\n  - {kind: two, repeat: 3}\n"))
    layers = profiles.per_layer(an, "ptflops")
    # the input, then per block: nn.ReLU 2 per element and nn.MaxPool2d 2 per input element, 16 elements
    assert [profiles.row_total(an, r, layers) for r in an.folded(1)] == [0] + [2 * 16 + 2 * 16] * 3


def test_variables_are_not_copied_per_instance() -> None:
    """Same class: a block instance copied every global variable, and so did each copy of a
    repeated layer (to add `index`): n variables and n copies cost n x n."""
    def analyse(n: int) -> None:
        archcalc.analyze(archcalc.load(text=gen_specs.variables(n, "{kind: relu, repeat: 2}", n)))
    assert cpu_growth(analyse, 1000) < 20


@pytest.mark.parametrize("what", ["from", "args"])
def test_references_and_arguments_count_as_expansion_steps(what: str) -> None:
    """Same class: a block holding a 2,000-name `from:` list (or 2,000 arguments), used 2,000 times,
    expanded 4,000,000 references (14 kB of spec, 0.5 s; 20,000 of each: a minute and gigabytes).
    Each instance's references and arguments now count as expansion steps, which are bounded."""
    n = 2000
    if what == "from":
        body = f"      - {{kind: add, from: [{', '.join(['input'] * n)}]}}\n"
        args = ""
    else:
        body = "      - {kind: relu}\n"
        args = f"    args: {{{', '.join(f'a{i}: 1' for i in range(n))}}}\n"
    text = f"input: 2x2x1\nblocks:\n  b:\n{args}    layers:\n{body}layers:\n  - {{kind: b, repeat: {n}}}\n"
    with pytest.raises(archcalc.SpecError, match=r"takes more than 400,000 steps \(layers, block instances, "
                                                 r"skipped layers, `from:` references and block arguments\)"):
        archcalc.analyze(archcalc.load(text=text))
    assert len(archcalc.analyze(archcalc.load(text=text.replace(f"repeat: {n}", "repeat: 150"))).rows) == 151


def test_torch_ops_are_looked_up_not_scanned(write) -> None:  # type: ignore[no-untyped-def]
    """Same class: each `torch_ops:` entry (and each --torch-op) scanned every row of the network.
    ptflops counts an F.relu once per element: 2·2·1 = 4 per layer, 4n in all."""
    def check(n: int) -> None:
        ops = ", ".join(f"relu{i}: F.relu" for i in range(1, n + 1))
        spec = archcalc.load(text=f"input: 2x2x1\nlayers:\n  - {{kind: relu, repeat: {n}}}\nexpect:\n  conventions:\n"
                                  f"    torch_ops: {{{ops}}}\n    ptflops: {{value: {4 * n}, source: 'arithmetic'}}\n"
                                  .replace("repeat", "name: relu, repeat"))
        from archcalc.check import check_spec
        assert check_spec(spec).findings[0].ok
    assert cpu_growth(check, 500) < 20


# --- A. the executor's set-up: planned by arithmetic, refused before anything is allocated ---------

def _traced(fn: Callable[[], Any]) -> tuple[Any, int]:
    """(what fn returned or raised, the most bytes Python and NumPy held while it ran)."""
    import tracemalloc
    tracemalloc.start()
    try:
        try:
            out = fn()
        except Exception as e:  # noqa: BLE001 - the caller looks at what was raised
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_plan_runs_no_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every estimate is worked out before anything runs: the plan never calls a forward (the dry
    run at batch 0 did, and some forwards looped or allocated by the input's size even so)."""
    import dataclasses

    import numpy as np
    from conftest import SPECS

    from archcalc.execute import _plan
    from archcalc.forward import FORWARDS
    for name in FORWARDS:
        monkeypatch.setitem(FORWARDS, name, dataclasses.replace(FORWARDS[name], fn=None))  # calling it raises
    for path in sorted(SPECS.glob("*.yaml")):
        an = archcalc.analyze(path)
        plan = _plan(an.graph, np.dtype("float32"), 1)
        assert [(1, *s) for s in plan.shapes] == [(1, *r.output_shape) for r in an.rows], path.name


def test_finding_01_positions_by_division(write) -> None:  # type: ignore[no-untyped-def]
    """A dry run counted output positions one at a time: --input 1000000000x1x192 spun for 86 s
    before a geometry error."""
    from archcalc.forward.base import _positions
    assert _positions(10**18, 1, 1, 3, 1) == 10**18 and _positions(10**18, 0, 0, 5, 2, ceil=True) == 5 * 10**17 - 1
    p = write("input: 28x28x192\nlayers:\n- {kind: conv, filters: 32, kernel: 5}\n")
    fails(cli("run", str(p), "--input", "1000000000x1x192"), p, 3,
          r"layer 'conv1' \(conv\): the executor cannot run it: a window of 5 does not fit in 1 \+ 0 padding")


def test_finding_05_window_of_65536_in_same_padding(write) -> None:  # type: ignore[no-untyped-def]
    """A 65,536 x 65,536 max pool (`same` padding, stride 1) over 28 x 28: the dry run looped over
    4.3 x 10^9 taps. Taps that read padding only are skipped: 55 x 55 of them read the input, and
    every window covers the whole input, so each output is its channel's maximum."""
    from archcalc.forward.base import _taps
    assert len(_taps(65536, 1, 32767, 28, 28)) == 28 + 28 - 1
    p = write("input: 28x28x192\nlayers:\n  - {kind: maxpool, size: 65536, stride: 1, padding: same}\n")
    r = cli("verify", str(p))
    assert r.exit_code == 0 and "all 2 layers agree" in r.stdout, r.output
    import numpy as np

    from archcalc.execute import execute
    graph = archcalc.build(archcalc.load(str(p)))
    x = np.random.default_rng(0).standard_normal((1, 28, 28, 192), dtype=np.float32)
    y = execute(graph, input=x).outputs["maxpool1"]
    assert np.array_equal(y, np.broadcast_to(x.max(axis=(1, 2), keepdims=True), y.shape))


@pytest.mark.parametrize("finding, text, args, needs, at", [
    ("07", "input: 16x16x3\nlayers:\n  - {kind: conv, filters: 4294967297, kernel: 1, bias: false}\n"
           "  - {kind: batchnorm}\n", ("verify", "--max-memory", "1G"), r"4\.7 TiB \(112\.0 GiB of parameters", 4),
    ("08", "input: 32x32x1\nlayers:\n- {kind: avgpool, size: 2}\n",
     ("verify", "--input", "20000x20000x1", "--max-memory", "1G"), r"2\.2 GiB", 3),
    ("38", "input: 1x1x1\nlayers:\n  - {kind: upsample, scale: [200000000, 1], mode: bilinear}\n",
     ("run", "--max-memory", "1M"), r"11\.9 GiB", 3),
    ("19", "input: 1000000000000000000x1000000000000000000x1000000000000000000\nlayers:\n"
           "- {kind: conv, filters: 32, kernel: 5}\n", ("verify", "--max-memory", "999999T"), r"3\.638E\+42 TiB", 3),
])
def test_findings_07_08_19_38_refused_before_allocating(finding: str, text: str, args: tuple[str, ...], needs: str,
                                                        at: int, write) -> None:  # type: ignore[no-untyped-def]
    """07: a conv of 2^32 + 1 filters then BatchNorm allocated 16 GiB under --max-memory 1G; 08: the
    average pool's divisor mask was built at full size first (3 GiB); 38: a bilinear upsample by
    2 x 10^8 built its index arrays (7 GB); 19: a 10^18 dimension ended in NumPy's "array is too
    big". Each is refused now from the plan's arithmetic, naming the layer at the peak."""
    p = write(text)
    r, traced = _traced(lambda: cli(args[0], str(p), *args[1:]))
    layer = re.escape(text.splitlines()[at - 1].split("kind: ")[1].split(",")[0].rstrip("}")) + "1"
    fails(r, p, at, rf"running this needs about {needs}.*the most is held while layer '{layer}'")
    assert traced < 64 << 20, traced  # the arrays the run would need were never made


def test_numpy_cannot_address_it(write) -> None:  # type: ignore[no-untyped-def]
    """Same class as 19: however high --max-memory, no array NumPy cannot hold is attempted."""
    p = write("input: 4611686018427387904x4x1\nlayers:\n  - {kind: relu}\n")
    r = cli("run", str(p), "--max-memory", "9" * 20 + "T")
    err = fails(r, p, 3, r"more than NumPy can address \(8\.389E\+6 TiB\)")  # 2^63 B = 2^23 TiB
    assert "raise --max-memory" not in err


def test_out_of_memory_in_the_run_names_the_layer(write, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Same class: when the machine has less than it said (another process took it), NumPy's
    MemoryError is an error naming the layer, not an internal error."""
    from archcalc.forward import FORWARDS

    def no_memory(*args: Any) -> Any:
        raise MemoryError
    import dataclasses
    monkeypatch.setitem(FORWARDS, "relu", dataclasses.replace(FORWARDS["relu"], fn=no_memory))
    p = write("input: 8x8x3\nlayers:\n  - {kind: conv, filters: 4, kernel: 3}\n  - {kind: relu}\n")
    fails(cli("run", str(p)), p, 4, r"the machine ran out of memory at layer 'relu1' \(relu\)")


def test_sizes_of_thousands_of_digits_as_text(write) -> None:  # type: ignore[no-untyped-def]
    """Same class as C: Python's int() refuses text of 4,300 digits and more, where a size is text:
    the spec's `input:` and `--input` (HxWxC), an `output_shape` expected as text, `--batch` of a
    sweep; found by the fuzzer with '²', which str.isdigit() takes and int() refuses."""
    big = "9" * 5000
    p = write(f"input: {big}x1x1\nlayers:\n  - {{kind: relu}}\n")
    fails(cli("summarize", str(p)), p, 1, r"input: a dimension is larger than the largest size archcalc accepts")
    q = write(f"input: 8x8x3\nlayers:\n  - {{kind: relu}}\nexpect:\n  output_shape: {{value: {big}x1, source: x}}\n",
              "q.yaml")
    fails(cli("check", str(q)), q, 5, r"output_shape value has a size larger than the largest archcalc accepts")
    for command in ("summarize", "sweep"):
        fails(cli(command, str(q), "--input", f"{big}x1x1"), q, None,
              r"--input 9+\.\.\.: a size is larger than the largest archcalc accepts")
    fails(cli("sweep", str(q), "--batch", "²"), q, None, r"--batch ²: '²' is not a whole number")


def test_finding_32_flat_list_past_the_layer_limit(write) -> None:  # type: ignore[no-untyped-def]
    """139,810 one-line layers (2 MiB) are read before the 100,000-layer limit refuses them: the
    refusal names the first layer past it, and reading costs in proportion to the file (the
    time and memory of the largest files are in docs/limits.md, from benchmarks/bench_scale.py)."""
    p = write(gen_specs.relus(139_810))
    fails(cli("summarize", str(p)), p, 100_003, r"the graph expands past 100,000 layers")

    def read(n: int) -> None:
        archcalc.load(text=gen_specs.relus(n))
    assert cpu_growth(read, 5000) < 20


def test_check_notes_the_settings(write) -> None:  # type: ignore[no-untyped-def]
    """Same class as D: `check` reports a spec error found under --set with the setting, as typed."""
    p = write(BLOCKS)
    err = fails(cli("check", str(p), "--set", "blocks1=x"), p, 7, r"which is 'x' \(text\)")
    assert "note: with --set blocks1=x" in err


def test_weights_member_checked_before_it_is_read(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Same class as A: a weights member was read whole, then its shape compared: a small zip can
    declare (and inflate to) any size. Its .npy header is read first now; nothing is allocated."""
    import zipfile

    import numpy as np
    p = write("input: 4x4x1\nlayers:\n  - {kind: conv, filters: 2, kernel: 3, bias: false}\n")
    w = tmp_path / "w.npz"
    with zipfile.ZipFile(w, "w") as z, z.open("conv1/kernel.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    r, traced = _traced(lambda: cli("run", str(p), "--weights", str(w)))
    fails(r, p, 3, r"weights file: conv1/kernel has shape \(1000000, 1000000\), the layer needs \(3, 3, 1, 2\)")
    assert traced < 64 << 20


def test_input_array_mapped_before_it_is_read(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Same class: --input-array was read whole before the run was planned; it is mapped now, its
    shape checked, and read once the plan fits (a float64 file for a float32 run, converted)."""
    import numpy as np
    p = write("input: 4x4x1\nlayers:\n  - {kind: conv, filters: 2, kernel: 3}\n")
    x = np.random.default_rng(0).standard_normal((3, 4, 4, 1))
    np.save(tmp_path / "x.npy", x)
    for dtype in ("float32", "float64"):
        r = cli("run", str(p), "--input-array", str(tmp_path / "x.npy"), "--dtype", dtype,
                "-o", str(tmp_path / "y.npy"))
        assert r.exit_code == 0, r.output
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (3, 2, 2, 2) and y.dtype == np.float64
    np.save(tmp_path / "big.npy", np.zeros((2, 5, 5, 1)))
    fails(cli("run", str(p), "--input-array", str(tmp_path / "big.npy")), p, None,
          r"the input array has shape \(2, 5, 5, 1\); the spec expects N x 4 x 4 x 1")


def test_every_forward_plans_by_arithmetic() -> None:
    """Issue 15 A: every forward declares its output `shape` (archcalc/forward/, `@forward(...,
    shape=...)`; `same_shape` for element-wise ones), so the plan never runs it. One that does not
    is still planned, on an empty batch (the old way, which findings 01, 05, 07, 08, 19 and 38
    showed can loop or allocate by the input's size): this lists them."""
    from archcalc.forward import FORWARDS
    missing = sorted(name for name, fw in FORWARDS.items() if fw.shape is None)
    assert not missing, f"forwards planned by running them, not by arithmetic: {missing}"


def test_a_forward_without_a_shape_is_still_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback for a forward that declares no `shape`: run on an empty batch, it gives the
    shapes the declared arithmetic gives."""
    import dataclasses

    import numpy as np
    from conftest import SPECS

    from archcalc.execute import _plan
    from archcalc.forward import FORWARDS
    an = archcalc.analyze(SPECS / "googlenet.yaml")
    planned = _plan(an.graph, np.dtype("float32"), 2)
    for name in FORWARDS:
        monkeypatch.setitem(FORWARDS, name, dataclasses.replace(FORWARDS[name], shape=None))
    assert _plan(an.graph, np.dtype("float32"), 2) == planned


def test_torch_op_patterns_are_bounded() -> None:
    """Same class, main's torch_ops: a pattern is matched against every layer, so patterns x layers
    tests are refused past torch_ops.MAX_PATTERN_TESTS (100,000 patterns over 100,000 layers would
    be 10^10), where the key stands; each distinct pattern is matched once per analysis."""
    from archcalc import torch_ops
    n, k = 2000, torch_ops.MAX_PATTERN_TESTS // 2000 + 1   # 2,501 patterns x 2,001 rows > 5,000,000
    ops = ", ".join(f"'relu{i}*': F.relu" for i in range(k))
    text = (f"input: 2x2x1\nlayers:\n  - {{kind: relu, name: relu, repeat: {n}}}\n"
            f"torch_ops: {{{ops}}}\n")
    with pytest.raises(archcalc.SpecError, match=r"take more than 5,000,000 tests") as e:
        torch_ops.spec_ops(archcalc.analyze(archcalc.load(text=text)))
    assert e.value.loc is not None and e.value.loc.line == 4
    fewer = text.replace(ops, ", ".join(f"'relu{i}*': F.relu" for i in range(10)))
    an = archcalc.analyze(archcalc.load(text=fewer))
    assert len(torch_ops.spec_ops(an)) == n  # relu0* .. relu9* select every layer named relu1 .. relu2000
    index = torch_ops._index(an)
    assert index.tests == 10 * (n + 1)  # 10 patterns, each tested against the input and n layers
    torch_ops.spec_ops(an)
    assert index.tests == 10 * (n + 1)  # matched once: the second lookup runs no test


# --- the same classes in the commands main added since (zoo, import, export) ------------------------

def test_zoo_names_too_long_for_the_file_system() -> None:
    """Same class as finding 15 (paths too long): a name that is no file is looked up in the zoo,
    where `name.yaml` could be past the file system's 255 bytes (an internal error)."""
    name = "a" * 252
    r = cli("summarize", name)
    assert r.exit_code == 1 and "no such file: aaaa" in r.stderr, r.output
    r = cli("zoo", name)
    assert r.exit_code == 1 and "no model named 'aaaa" in r.stderr, r.output
    assert max(len(line) for line in r.stderr.splitlines()) <= 120


def test_export_options(tmp_path: Path) -> None:
    """`export` takes robust's -o handling (checked before any work; a folder, a missing folder, a
    name too long), --seed >= 0 checked by click, --set names checked against the spec, and main's
    SPEC@VARIANT,NAME=VALUE and --input LAYOUT like every other command (it read the path as a file
    and gave --set's values to the graph as text)."""
    out = tmp_path / "m.py"
    fails(cli("export", "lenet5", "--to", "torch", "-o", str(tmp_path / "no" / "m.py")), "", None,
          r"-o .*: the folder .* does not exist")
    fails(cli("export", "lenet5", "--to", "torch", "-o", str(tmp_path / ("a" * 300 + ".py"))), "", None,
          r"-o .*: cannot write there: File name too long")
    fails(cli("export", "lenet5", "--to", "onnx", "-o", str(tmp_path / "m.onnx"), "--seed", "-1"), "", None,
          r"Invalid value for '--seed'", code=2)
    fails(cli("export", "lenet5", "--to", "torch", "-o", str(out), "--set", "é=1/0"), "", None,
          r"--set é: the spec has no variable 'é'")
    assert cli("export", "lenet5", "--to", "torch", "-o", str(out)).exit_code == 0
    assert "Softmax" not in out.read_text()  # lenet5.yaml: `softmax: false`
    assert cli("export", "lenet5", "--to", "torch", "-o", str(out), "--set", "softmax=true").exit_code == 0
    assert "Softmax" in out.read_text()  # the word `true` is the boolean, as in every command
    # MobileNet's first conv has 32·alpha filters: 16 at alpha = 0.5
    assert cli("export", "mobilenet_v1@alpha=0.5", "--to", "torch", "-o", str(out)).exit_code == 0
    assert "self.conv1 = nn.Conv2d(in_channels=3, out_channels=16," in out.read_text()


def test_import_options(tmp_path: Path) -> None:
    """`import` takes robust's -o handling (said before the model is read), and a path too long
    keeps its reason past the cut (the whole 300-character path filled the message)."""
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    fails(cli("import", str(tmp_path / "x.onnx"), "-o", str(tmp_path / "no" / "x.yaml")), "", None,
          r"-o .*: the folder .* does not exist")
    err = fails(cli("import", "a" * 300 + ".onnx"), "", None, r"cannot read it: File name too long")
    assert "..." in err.splitlines()[0]


def test_export_weights_member_checked_before_it_is_read(tmp_path: Path) -> None:
    """As test_weights_member_checked_before_it_is_read for `export --weights`: main's exporter drew
    or read the weights with its own copy of the executor's loop, reading each member whole."""
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    import zipfile

    import numpy as np
    spec = tmp_path / "s.yaml"
    spec.write_text("input: 4x4x1\nlayers:\n  - {kind: conv, filters: 2, kernel: 3, bias: false}\n")
    w = tmp_path / "w.npz"
    with zipfile.ZipFile(w, "w") as z, z.open("conv1/kernel.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    r, traced = _traced(lambda: cli("export", str(spec), "--to", "onnx", "-o", str(tmp_path / "m.onnx"),
                                    "--weights", str(w)))
    fails(r, spec, 3, r"weights file: conv1/kernel has shape \(1000000, 1000000\), the layer needs \(3, 3, 1, 2\)")
    assert traced < 64 << 20


def test_export_refuses_parameters_past_the_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same class as A: export drew every weight without asking whether they fit (a conv of 2^32
    filters is 4·2^32·9 bytes of kernel). Three copies of the parameters must fit what is available."""
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    from archcalc import execute
    spec = tmp_path / "s.yaml"
    spec.write_text("input: 4x4x1\nlayers:\n  - {kind: conv, filters: 4294967296, kernel: 3}\n")
    r, traced = _traced(lambda: cli("export", str(spec), "--to", "onnx", "-o", str(tmp_path / "m.onnx")))
    fails(r, "", None, r"exporting this holds about .* \(three copies of its 160.0 GiB of parameters\)")
    assert traced < 64 << 20
    # 4·(3·3·1·10 + 10) = 400 bytes of parameters: three copies are 1,200 bytes
    spec.write_text("input: 4x4x1\nlayers:\n  - {kind: conv, filters: 10, kernel: 3}\n")
    monkeypatch.setattr(execute, "available_memory", lambda: 1199)
    fails(cli("export", str(spec), "--to", "onnx", "-o", str(tmp_path / "m.onnx")), "", None,
          r"about 1.2 KiB \(three copies of its 400 B of parameters\), more than the 1.2 KiB available")
    monkeypatch.setattr(execute, "available_memory", lambda: 1200)
    assert cli("export", str(spec), "--to", "onnx", "-o", str(tmp_path / "m.onnx")).exit_code == 0


def test_unknown_kind_hints_only_for_what_is_shown() -> None:
    """Finding 30's class in main's unknown-kind hint (kinds.unknown_kind: archcalc's name for a
    foreign one, else a typo among every kind and block): worked out for the errors printed only,
    and sorting the blocks once (main sorted them for every layer). 3,000 unknown kinds over 3,000
    blocks: at most spec.HINTED searches, and the check's cost grows with the file, not its square."""
    from archcalc import spec
    from archcalc.kinds import base
    with mock.patch.object(base, "typo_of", wraps=base.typo_of) as typo:
        with pytest.raises(archcalc.SpecError):
            archcalc.load(text=gen_specs.unknown_kinds(3000))
    assert typo.call_count <= spec.HINTED

    def check(n: int) -> None:
        with pytest.raises(archcalc.SpecError):
            archcalc.load(text=gen_specs.unknown_kinds(n))
    assert cpu_growth(check, 500) < 20


def test_typo_search_is_bounded() -> None:
    """errors.typo_of (main's did-you-mean for kinds and functions) compares at most
    errors.MAX_COMPARED options, and words up to MAX_TYPO_LENGTH letters: the edit distance costs
    the product of two lengths (two 100,000-letter names: 10^10 steps)."""
    from archcalc import errors
    assert errors.typo_of("covn", ["conv"]) == "conv"
    assert errors.typo_of("x" * 65, ["x" * 64]) is None  # one edit, but past the length searched
    assert errors.typo_of("x" * 64, ["x" * 63]) == "x" * 63
    far = [f"w{i}" for i in range(errors.MAX_COMPARED)]
    assert errors.typo_of("conv", [*far, "conv1"]) is None  # the 10,001st option is not compared
    assert errors.typo_of("conv", ["conv1", *far]) == "conv1"


def test_views_are_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Main's slice, crop and tokenselect return views (as torch does), which robust's plan, made by
    arithmetic, must follow: the buffers values share and which values are C-contiguous (a reshape
    of a strided view may copy it; an element-wise forward may write over a strided view), so the
    plan's estimate still bounds what NumPy allocates, values come out the same when nothing is
    written over, and every count agrees with the analysis (tests/data/strided_views.yaml)."""
    import tracemalloc

    import numpy as np
    from conftest import ROOT

    from archcalc import execute as ex
    path = ROOT / "tests" / "data" / "strided_views.yaml"
    for batch, r in ((1, 12), (3, 12), (2, 128)):  # at 128, arrays of 500 KiB and more: beyond the slack
        an = archcalc.analyze(path, batch=batch, overrides={"r": r})
        plan = ex._plan(an.graph, np.dtype("float32"), batch)
        strided = {n.path for n, c in zip(an.graph.nodes, plan.contiguous, strict=True) if not c}
        assert strided == {"s", "cr", "s2", "t", "cr2", "f", "cr3", "first", "r"}
        run = ex.execute(an.graph)
        for row, layer in zip(an.rows, run.layers, strict=True):
            assert (layer.output_shape, layer.params, layer.macs) == (row.output_shape, row.params, row.macs)
        tracemalloc.start()
        try:
            ex.execute(an.graph, keep=False)
            traced = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert traced <= plan.peak + (256 << 10), (traced, plan.peak)
        with monkeypatch.context() as m:  # nothing written over: the same values
            m.setattr(ex._Live, "own", lambda self, j: False)
            fresh = ex.execute(an.graph)
        for name, y in run.outputs.items():
            np.testing.assert_array_equal(y, fresh.outputs[name])
    r = cli("verify", str(path), "--batch", "2")
    assert r.exit_code == 0 and "all 28 layers agree" in r.output, r.output


@pytest.mark.parametrize("what, text", [
    # the copy a reshape makes of a crop: at the flatten, the input (the crop is a view of it) and
    # the copy, of which a slice keeps a view
    ("reshape of a view", "input: 128x128x8\nlayers:\n  - {kind: crop, size: [120, 120]}\n  - {kind: flatten}\n"
                          "  - {kind: slice, start: 0, channels: 1}\n"),
    # SiLU writing over a channel slice of the upsampled map, its only reader: no new array (a new
    # one would make 1.94 maps, where the upsampling holds 1.31)
    ("write over a view", "input: 64x64x16\nlayers:\n  - {kind: upsample, scale: 4}\n"
                          "  - {kind: slice, start: 0, channels: 15}\n  - {kind: silu}\n  - {kind: globalavgpool}\n"),
    # a 1x1 conv of a crop, row by row (the crop's rows do not merge: one matmul would copy it)
    ("1x1 conv of a view", "input: 256x256x16\nlayers:\n  - {kind: crop, size: [250, 250]}\n"
                           "  - {kind: conv, filters: 1, kernel: 1}\n"),
    # the input, freed after its last reader as the plan has it (the run kept it to the end, so
    # that no later array took its id: its buffer's key), and the second upsampling the peak
    ("the input freed", "input: 128x128x4\nlayers:\n  - {kind: upsample, scale: 2}\n  - {kind: upsample, scale: 2}\n"),
    # a product whose first input is the 1 x 1 x 16 gate: a new array the input's size (the plan
    # counts a buffer at the largest value it holds, so this bound holds however `inplace` says)
    ("product of a smaller first input", "input: 256x256x16\nlayers:\n"
                                         "  - {kind: globalavgpool, name: g, keepdims: true}\n"
                                         "  - {kind: multiply, from: [g, input]}\n"),
])
def test_each_view_rule_bounds_the_memory(what: str, text: str) -> None:
    """Each rule the plan follows for main's views, where it decides the peak: the estimate bounds
    what NumPy allocates within a slack smaller than the arrays (a rule dropped fails here: the
    crop's copy, the SiLU's new array would go uncounted)."""
    import tracemalloc

    import numpy as np

    from archcalc import execute as ex
    an = archcalc.analyze(archcalc.load(text=text))
    plan = ex._plan(an.graph, np.dtype("float32"), 1)
    ex.execute(an.graph, keep=False)
    tracemalloc.start()
    try:
        ex.execute(an.graph, keep=False)
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    largest = max(r.activation_elems for r in an.rows) * 4
    assert plan.param_bytes + largest <= traced <= plan.peak + (64 << 10), (what, traced, plan.peak)


def test_shape_reading_scopes_do_not_copy_variables() -> None:
    """test_variables_are_not_copied_per_instance's class in main's `in.*` (a block reading its
    input's shape): each instance copied every variable to add in.h, in.w, in.c."""
    def analyse(n: int) -> None:
        archcalc.analyze(archcalc.load(text=gen_specs.variables(n, "{kind: conv, filters: in.c, kernel: 1}", n)))
    assert cpu_growth(analyse, 500) < 20
