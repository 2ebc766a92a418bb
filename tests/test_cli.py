"""The command line: exit codes, stdout/stderr separation, no tracebacks, lazy imports."""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, run, run_process

BAD = {
    "syntax.yaml": "input: 8x8x3\nlayers: [\n",
    "tabs.yaml": "input: 8x8x3\nlayers:\n\t- kind: relu\n",
    "empty.yaml": "",
    "list.yaml": "- 1\n- 2\n",
    "scalar.yaml": "42\n",
    "kind.yaml": "input: 8x8x3\nlayers:\n  - {kind: covn}\n",
    "shape.yaml": "input: 5x5x16\nlayers:\n  - {kind: conv, filters: 4, kernel: 7}\n",
    "add.yaml": "input: 8x8x3\nlayers:\n  - {kind: conv, name: a, filters: 3, kernel: 3}\n"
                "  - {kind: add, from: [a, input]}\n",
    "expr.yaml": "input: 8x8x3\nlayers:\n  - {kind: conv, filters: 9**9**9, kernel: 1}\n",
    "bomb.yaml": "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                 "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                 "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
    "repeat.yaml": "input: 8x8x3\nlayers:\n  - {kind: relu, repeat: 1000000000}\n",
    "python.yaml": "input: 8x8x3\nlayers: !!python/object/apply:os.system ['echo hi']\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_invalid_specs_exit_1_without_traceback(name: str, write) -> None:  # type: ignore[no-untyped-def]
    path = write(BAD[name], name)
    r = run("summarize", str(path))
    assert r.exit_code == 1
    assert r.stdout == ""
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert r.stderr.startswith(f"error: {path}:")  # names the file and the line


def test_error_shows_line_caret_and_hint(write) -> None:  # type: ignore[no-untyped-def]
    path = write(BAD["shape.yaml"])
    err = run("summarize", str(path)).stderr
    assert f"error: {path}:3:38: layer 'conv1' (conv) on input 5 x 5 x 16: kernel 7 is larger" in err
    assert " 3 |   - {kind: conv, filters: 4, kernel: 7}\n   |                                      ^" in err
    assert "hint: use `padding: same`, or a kernel of at most 5" in err


def test_missing_file_and_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run("summarize", str(tmp_path / "nope.yaml"))
    assert r.exit_code == 1 and "no such file" in r.stderr
    r = run("summarize", str(tmp_path))
    assert r.exit_code == 1 and "is a directory" in r.stderr


def test_stdin() -> None:
    r = run("summarize", "-", "-f", "json", input="input: 6x6x3\nlayers:\n  - {kind: conv, filters: 5, kernel: 3}\n")
    assert r.exit_code == 0 and json.loads(r.stdout)["totals"]["macs"] == 2_160
    r = run("summarize", "-", input="input: 6x6x3\nlayers:\n  - {kind: covn}\n")
    assert r.exit_code == 1 and r.stderr.startswith("error: <stdin>:3:")


def test_usage_errors_exit_2() -> None:
    assert run("summarize").exit_code == 2
    assert run("summarize", str(SPECS / "lenet5.yaml"), "--format", "xml").exit_code == 2
    assert run("nosuchcommand").exit_code == 2
    r = run("summarise", str(SPECS / "lenet5.yaml"))  # British spelling of the command
    assert r.exit_code == 2 and "Did you mean 'summarize'?" in r.stderr
    assert run("common").exit_code == 2 and run("_conventions").exit_code == 2  # modules, not commands


def test_set_input_batch_options() -> None:
    r = run("summarize", str(SPECS / "vgg16.yaml"), "-f", "json", "--set", "resolution=32", "--set", "classes=10",
            "--batch", "2")
    d = json.loads(r.stdout)
    assert d["input_shape"] == [32, 32, 3] and d["batch"] == 2 and d["output_shape"] == [10]
    r = run("summarize", str(SPECS / "lenet5.yaml"), "--input", "36x36x1", "-f", "json")
    assert json.loads(r.stdout)["layers"][1]["output_shape"] == [32, 32, 6]  # 36 - 5 + 1
    r = run("summarize", str(SPECS / "vgg16.yaml"), "--set", "resolutoin=32")
    assert r.exit_code == 1 and "did you mean 'resolution'" in r.stderr


def test_kinds_command() -> None:
    r = run("kinds")
    assert r.exit_code == 0 and "conv" in r.stdout and "depthwise" in r.stdout
    r = run("kinds", "conv")
    assert "MACs   = H'·W'·n_c'·(f_h·f_w·n_c/g)" in r.stdout and "filters" in r.stdout
    r = run("kinds", "covn")
    assert r.exit_code == 1 and "did you mean 'conv'" in r.stderr


def test_python_dash_m_and_no_numpy_on_the_analytic_path() -> None:
    p = run_process("summarize", "specs/vgg16.yaml", "-f", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["totals"]["params"] == 138_357_544
    probe = ("import sys; from archcalc.cli import cli; "
             "cli(['summarize', 'specs/vgg16.yaml'], standalone_mode=False); "
             "import archcalc; archcalc.analyze('specs/lenet5.yaml'); "
             "sys.stderr.write('NUMPY' if 'numpy' in sys.modules else 'CLEAN')")
    import subprocess
    import sys

    from conftest import ROOT
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stderr.endswith("CLEAN"), out.stderr


def test_each_command_offers_the_dtypes_it_uses() -> None:
    import re

    from archcalc.execute import DTYPES
    from archcalc.walk import DTYPE_BYTES
    assert DTYPES == ("float32", "float64") and set(DTYPE_BYTES) > set(DTYPES)
    for cmd in ("run", "verify"):  # the executor runs float32 and float64 only
        assert re.search(r"--dtype \[float32\|float64\]\s", run(cmd, "--help").stdout), cmd
        r = run(cmd, str(SPECS / "lenet5.yaml"), "--dtype", "float16")
        assert r.exit_code == 2 and "float16" in r.stderr, cmd
    for cmd in ("summarize", "compare", "check", "sweep"):  # memory figures: every dtype
        assert "--dtype [float32|float16|bfloat16|float64|int8]" in " ".join(run(cmd, "--help").stdout.split()), cmd
    for cmd in ("graph", "plot"):  # shapes, parameters and MACs only: no --dtype to offer
        assert "--dtype" not in run(cmd, "--help").stdout, cmd
