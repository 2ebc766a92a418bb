"""Hostile and broken input (issue 6): every case ends in exit 1 with `file:line:col`, never a
traceback, a hang, or memory exhaustion; nothing a spec says is ever run."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import SPEC_PATHS, analyze_text, run, run_process

import archcalc
from archcalc.errors import render
from archcalc.source import TEXTS

OK = "input: 32x32x1\nlayers:\n  - {kind: conv, filters: 6, kernel: 5}\n"


def conv(field: str, value: str) -> str:
    base = {"filters": "6", "kernel": "3"}
    base[field] = value
    fields = ", ".join(f"{k}: {v}" for k, v in base.items())
    return f"input: 32x32x1\nlayers:\n  - {{kind: conv, {fields}}}\n"


def fails(text: str, write, *, line: int | None, col: int | None = None, match: str = "",  # type: ignore[no-untyped-def]
          name: str = "spec.yaml") -> str:
    """Run `summarize` on text; assert exit 1, no traceback, the location and a message."""
    path = write(text, name) if isinstance(text, str) else text
    r = run("summarize", str(path))
    err = r.stderr
    assert r.exit_code == 1, (r.exit_code, r.output)
    assert "Traceback" not in r.output and "internal error" not in err
    if line is not None:
        loc = f"{path}:{line}:" if col is None else f"{path}:{line}:{col}:"
        assert loc in err, err
    assert re.search(match, err), err
    assert len(err.splitlines()) <= 30, err  # one screen
    return err


# --- files and YAML --------------------------------------------------------------------------

def test_empty_file(write) -> None:  # type: ignore[no-untyped-def]
    fails("", write, line=1, match="empty")
    fails("# only a comment\n", write, line=1, match="empty")


@pytest.mark.parametrize("text, what", [("- a\n- b\n", "a list of 2"), ("42\n", "42"), ("hello\n", "hello")])
def test_not_a_mapping(text: str, what: str, write) -> None:  # type: ignore[no-untyped-def]
    fails(text, write, line=1, col=1, match=f"a spec is a mapping.*{what}")


def test_malformed_yaml(write) -> None:  # type: ignore[no-untyped-def]
    fails("input: [1, 2\nlayers: x\n", write, line=2, col=7, match="YAML syntax error")


@pytest.mark.parametrize("text, line", [
    ("input: 32x32x1\nlayers:\n\t- {kind: relu}\n", 3),                 # libyaml: "cannot start any token"
    ("input: 32x32x1\nlayers:\n  - kind: conv\n  \tfilters: 3\n", 4),   # "a tab ... violates indentation"
])
def test_tabs(text: str, line: int, write) -> None:  # type: ignore[no-untyped-def]
    fails(text, write, line=line, match="tabs for indentation: use spaces")


def test_non_utf8_shows_the_line(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "latin1.yaml"
    p.write_bytes(b"input: 3x3x3\nname: caf\xe9\nlayers: [{kind: relu}]\n")
    err = fails(p, write, line=2, col=10, match="byte 0xe9 is not valid UTF-8")
    assert " 2 | name: caf" in err


def test_directory_and_missing_file(tmp_path: Path) -> None:
    for arg, msg in [(str(tmp_path), "is a directory"), (str(tmp_path / "nope.yaml"), "no such file"),
                     ("no:such.yaml", "no such file")]:
        r = run("summarize", arg)
        assert r.exit_code == 1 and msg in r.stderr and "Traceback" not in r.output


def test_stdin() -> None:
    r = run_process("summarize", "-", input=OK)
    assert r.returncode == 0 and "conv" in r.stdout
    r = run_process("summarize", "-", input="input: 3x3x3\nlayers: [{kind: rel}]\n")
    assert r.returncode == 1 and "<stdin>:2:17: unknown layer kind 'rel'" in r.stderr
    assert "Traceback" not in r.stderr


def test_endless_input_is_refused() -> None:
    t = time.monotonic()
    r = run_process("summarize", "/dev/zero")
    assert r.returncode == 1 and "larger than" in r.stderr and time.monotonic() - t < 30


@pytest.mark.parametrize("text, line, col, match", [
    ("input: 3x3x3\x00\n", 1, 13, "U\\+0000 is not allowed"),
    ("input: 3x3x3\nlayers: [{kind: relu}]\n---\nx: 1\n", 3, 1, "single document|another document"),
    ("input: 3x3x3\ninput: 4x4x4\nlayers: [{kind: relu}]\n", 2, 1, "duplicate key 'input'"),
    ("input: !!python/object/apply:os.system ['echo PWNED']\nlayers: [{kind: relu}]\n", 1, 8,
     "unsupported YAML tag"),
    ("input: 3x3x3\nlayers: [{kind: conv, filters: " + "9" * 5000 + ", kernel: 1}]\n", 2, 32, "too large"),
])
def test_yaml_faults(text: str, line: int, col: int, match: str, write) -> None:  # type: ignore[no-untyped-def]
    err = fails(text, write, line=line, col=col, match=match)
    assert "PWNED" not in err.replace("'echo PWNED'", "")


def test_control_characters_are_not_printed(write) -> None:  # type: ignore[no-untyped-def]
    err = fails('input: "\\e[31mred"\nlayers: [{kind: relu}]\n', write, line=1, match="input")
    assert "\x1b" not in err


def test_lone_surrogate_through_the_api() -> None:
    with pytest.raises(archcalc.SpecError) as ei:
        archcalc.load(text="input: '\ud800'\nlayers: [{kind: relu}]\n")
    assert ei.value.loc is not None and ei.value.loc.line == 1


# --- types and YAML's traps ------------------------------------------------------------------

@pytest.mark.parametrize("field, value, match", [
    ("kernel", "3x3", r"received '3x3' \(text\)[\s\S]*write \[3, 3\]"),
    ("filters", "yes", r"received true \(a boolean\)[\s\S]*YAML reads yes"),
    ("filters", "true", r"received true \(a boolean\)"),
    ("filters", "6.5", r"received 6.5 \(a decimal number\)"),
    ("filters", "6.0", r"received 6.0 \(a decimal number\)[\s\S]*write 6"),
    ("filters", "-6", "must be at least 1, received -6"),
    ("filters", "0", "must be at least 1, received 0"),
    ("filters", "null", r"received nothing \(null\)"),
    ("filters", "~", r"received nothing \(null\)"),
    ("filters", ".inf", "not a finite number"),
    ("filters", ".nan", "not a finite number"),
    ("filters", "1.0e+3", r"received 1000.0 \(a decimal number\)"),
    ("filters", "'2**70'", "larger than the largest size"),
    ("filters", "[6]", "expected an integer"),
    ("filters", "{a: 1}", "expected an integer"),
    ("bias", "3", "expected true or false"),
])
def test_wrong_types(field: str, value: str, match: str, write) -> None:  # type: ignore[no-untyped-def]
    text = conv(field, value)
    col = text.splitlines()[2].index(f"{field}: ") + len(field) + 3
    fails(text, write, line=3, col=col, match=match)


def test_yaml_booleans_and_exponents_that_are_fine() -> None:
    assert analyze_text(conv("kernel", "3") + "").totals.params == 6 * 9 + 6
    yes = analyze_text(conv("filters", "6").replace("kernel: 3", "kernel: 3, bias: yes"))
    no = analyze_text(conv("filters", "6").replace("kernel: 3", "kernel: 3, bias: no"))
    assert (yes.totals.params, no.totals.params) == (60, 54)
    # `1e3` is text in YAML 1.1, read as an exact expression: 1000
    assert analyze_text(conv("filters", "1e3")).rows[-1].output_shape[2] == 1000


@pytest.mark.parametrize("text, line, match", [
    ("input: [-1, 3, 3]\nlayers: [{kind: relu}]\n", 1, "at least 1"),
    ("input: [true, 3, 3]\nlayers: [{kind: relu}]\n", 1, "boolean"),
    ("input:\nlayers: [{kind: relu}]\n", 1, "`input` is H x W x C"),
    ("input: 3x3x3\nlayers:\n", 2, "non-empty list of layers"),
    ("input: 3x3x3\nbatch: yes\nlayers: [{kind: relu}]\n", 2, "boolean"),
    ("input: 3x3x3\nlayers: [{kind: relu, repeat: 2.5}]\n", 2, "decimal"),
    ("input: 3x3x3\nlayers: [{kind: [relu]}]\n", 2, "`kind` must be a word"),
    ("input: 99999999999999999999x3x3\nlayers: [{kind: relu}]\n", 1, "2\\^63"),
])
def test_wrong_values(text: str, line: int, match: str, write) -> None:  # type: ignore[no-untyped-def]
    fails(text, write, line=line, match=match)


# --- resource attacks --------------------------------------------------------------------------

def quick(text: str, write, *, line: int, match: str, seconds: float = 5) -> str:  # type: ignore[no-untyped-def]
    t = time.monotonic()
    err = fails(text, write, line=line, match=match)
    assert time.monotonic() - t < seconds, "too slow to refuse"
    return err


def test_billion_laughs(write) -> None:  # type: ignore[no-untyped-def]
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    quick("\n".join(lines) + "\n", write, line=1, match="expands to .* values")


def test_huge_repeat(write) -> None:  # type: ignore[no-untyped-def]
    quick("input: 8x8x1\nlayers:\n  - {kind: relu, repeat: 1000000000}\n", write, line=3,
          match="1,000,000,000 copies would expand past the limit of 100,000 layers")


def test_nested_repeats_fail_at_once(write) -> None:  # type: ignore[no-untyped-def]
    text = ("input: 8x8x1\nblocks:\n  a:\n    layers:\n      - {kind: relu, repeat: 1000}\n"
            "  b:\n    layers:\n      - {kind: a, repeat: 1000}\n"
            "  c:\n    layers:\n      - {kind: b, repeat: 1000}\n"
            "layers:\n  - {kind: c, repeat: 1000}\n")
    err = quick(text, write, line=11, match="inside 1,000 copies", seconds=2)
    assert "note: in block 'c' used at" in err


def test_empty_loops_are_bounded(write) -> None:  # type: ignore[no-untyped-def]
    skipped = "      - {kind: relu, when: false}\n" * 10
    text = ("input: 4x4x1\nblocks:\n  e:\n    layers:\n" + skipped +
            "  f:\n    layers:\n      - {kind: e, repeat: 300}\nlayers:\n  - {kind: f, repeat: 300}\n")
    quick(text, write, line=None, match="takes more than 400,000 steps")


def test_block_fan_out(write) -> None:  # type: ignore[no-untyped-def]
    text = "input: 4x4x1\nblocks:\n  b0:\n    layers:\n      - {kind: relu}\n"
    for i in range(1, 30):
        text += f"  b{i}:\n    layers:\n      - {{kind: b{i - 1}}}\n      - {{kind: b{i - 1}}}\n"
    p = write(text + "layers:\n  - {kind: b29}\n")
    r = run("summarize", str(p), "--max-nodes", "5000")
    err = r.stderr
    assert r.exit_code == 1 and f"{p}:5:9: the graph expands past 5,000 layers" in err
    assert "enclosing block instances" in err


def test_max_nodes_option(write) -> None:  # type: ignore[no-untyped-def]
    p = write("input: 4x4x1\nlayers:\n  - {kind: relu, repeat: 20}\n")
    # the limit counts layers (20 relus), not the graph's input node
    assert run("summarize", str(p), "--max-nodes", "19").exit_code == 1
    r = run("summarize", str(p), "--max-nodes", "20", "--format", "csv")
    assert r.exit_code == 0 and "relu20" in r.stdout
    assert archcalc.Limits().max_nodes == 100_000


@pytest.mark.parametrize("text, line, match", [
    ("input: 8x8x1\nblocks:\n  b:\n    layers:\n      - {kind: b}\nlayers:\n  - {kind: b}\n", 5,
     r"instantiates itself \(b -> b\)"),
    ("input: 8x8x1\nblocks:\n  a:\n    layers:\n      - {kind: b}\n  b:\n    layers:\n      - {kind: a}\n"
     "layers:\n  - {kind: a}\n", 8, r"a -> b -> a"),
])
def test_recursive_blocks(text: str, line: int, match: str, write) -> None:  # type: ignore[no-untyped-def]
    quick(text, write, line=line, match=match)


def test_deep_block_nesting(write) -> None:  # type: ignore[no-untyped-def]
    text = "input: 4x4x1\nblocks:\n" + "".join(
        f"  b{i}:\n    layers:\n      - {{kind: {f'b{i - 1}' if i else 'relu'}}}\n" for i in range(100))
    quick(text + "layers:\n  - {kind: b99}\n", write, line=113, match="nest more than 64 levels")


def _flow(depth: int) -> str:
    return "input: " + "[" * depth + "]" * depth + "\nlayers: [{kind: relu}]\n"


@pytest.mark.parametrize("text", ids=["flow-101", "flow-999", "flow-1000", "flow-100k", "flow-maps",
                                      "block-lists"], argvalues=[
    _flow(101), _flow(999), _flow(1000), _flow(100_000),
    "input: 3x3x3\nlayers: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "input: 3x3x3\nlayers:\n" + "  " + "- " * 3000 + "1\n",
])
def test_deep_yaml(text: str, tmp_path: Path) -> None:
    # In a child process: without the check, libyaml's composer overflows the C stack (a crash).
    # Which layer stops the document depends on the PyYAML release (libyaml 0.2.5 stops flow
    # collections at 1,000 levels while scanning, before archcalc's check); what holds on every
    # supported release is a clean error, exit 1, a file:line:col location and a short message.
    p = tmp_path / "deep.yaml"
    p.write_text(text)
    r = run_process("summarize", str(p))
    assert r.returncode == 1, r.stderr[-500:]
    assert re.search(rf"^error: {re.escape(str(p))}:\d+:\d+: .*nest", r.stderr), r.stderr[:300]
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert len(r.stderr.splitlines()) < 10 and max(map(len, r.stderr.splitlines())) < 200


@pytest.mark.parametrize("lists", [98, 99])
def test_nesting_limit_is_exactly_100(lists: int) -> None:
    # the document's mapping is level 1, `vars:` level 2, then the lists: 98 reach level 100
    text = "input: 3x3x3\nlayers: [{kind: relu}]\nvars:\n  v: " + "[" * lists + "1" + "]" * lists + "\n"
    if lists == 98:
        archcalc.load(text=text, path="t.yaml")
    else:
        with pytest.raises(archcalc.ArchcalcError, match="nest more than 100 levels deep"):
            archcalc.load(text=text, path="t.yaml")


def test_gigantic_dimensions_are_exact() -> None:
    an = analyze_text("input: 100000000x100000000x3\nbatch: 1000000\nlayers:\n"
                      "  - {kind: conv, filters: 64, kernel: 3, padding: same}\n"
                      "  - {kind: maxpool, size: 2}\n  - {kind: globalavgpool}\n  - {kind: dense, units: 10}\n")
    h = 100_000_000
    assert an.rows[1].macs == 1_000_000 * h * h * 64 * (3 * 3 * 3)
    assert an.totals.activation_bytes == 4 * 1_000_000 * (h * h * 3 + h * h * 64 + (h // 2) ** 2 * 64 + 64 + 10)


# --- expressions --------------------------------------------------------------------------

@pytest.mark.parametrize("expr, match", [
    ("9**9**9**9", "exceed 4096 bits"),
    ("2**4000 * 2**4000", "exceed 4096 bits"),
    ("(" * 300 + "1" + ")" * 300, "cannot read|nests"),
    ("-" * 900 + "1", "nests more than 50"),
    ("1 +" * 400 + "1", "characters long"),
    ("().__class__", "not allowed"),
    ("__import__('os').system('echo PWNED')", "unknown function"),
    ("eval('1')", "unknown function 'eval'"),
    ("(lambda: 1)()", "unknown function"),
    ("[1] * 10**9", "not allowed"),
    ("'a' * 3", "only numbers"),
    ("open", "unknown variable 'open'"),
    ("x.y", "not allowed"),
])
def test_expression_whitelist(expr: str, match: str, write, capfd) -> None:  # type: ignore[no-untyped-def]
    text = f"input: 32x32x1\nlayers:\n  - kind: conv\n    kernel: 3\n    filters: \"{expr}\"\n"
    err = quick(text, write, line=5, match=match, seconds=2)
    assert "PWNED" not in capfd.readouterr().out
    assert max(len(x) for x in err.splitlines()) <= 300


def test_from_missing_names_the_line(write) -> None:  # type: ignore[no-untyped-def]
    text = "input: 8x8x1\nlayers:\n  - {kind: relu, name: a}\n  - kind: add\n    from:\n      - a\n      - nope\n"
    fails(text, write, line=7, col=9, match="no layer named 'nope'")


def test_error_inside_a_block_names_the_instance(write) -> None:  # type: ignore[no-untyped-def]
    text = ("input: 32x32x1\nblocks:\n  b:\n    args: {k: 3}\n"
            "    layers:\n      - {kind: conv, filters: k, kernel: 3}\n"
            "layers:\n  - {kind: b, name: ok}\n  - {kind: b, name: bad, k: 0}\n")
    err = fails(text, write, line=6, match="layer 'bad/conv1'")
    assert re.search(r"note: in block 'b' used at .*spec.yaml:9:5 as bad", err), err


def test_many_errors_fit_on_a_screen(write) -> None:  # type: ignore[no-untyped-def]
    text = "input: 3x3x3\nlayers:\n" + "".join(f"  - {{kind: relu, bad{i}: 1}}\n" for i in range(50))
    err = fails(text, write, line=3, match="and 45 more errors")
    assert err.count("error:") == 5


def test_library_errors_carry_locations() -> None:
    with pytest.raises(archcalc.SpecError) as ei:
        archcalc.analyze(archcalc.load(text="input: 3x3x3\nlayers: [{kind: conv, filters: 1, kernel: 3x3}]\n",
                                       path="x.yaml"))
    e = ei.value
    assert e.loc is not None and (e.loc.path, e.loc.line, e.loc.col) == ("x.yaml", 2, 43)
    assert "error: x.yaml:2:43:" in render(e, TEXTS)


def test_shipped_specs_still_load() -> None:
    for p in SPEC_PATHS:
        archcalc.analyze(p)


def test_block_args_not_a_mapping(write) -> None:  # type: ignore[no-untyped-def]
    # found by the fuzzer: a TypeError (exit 70) when a block's `args:` is a number
    text = "input: 8x8x1\nblocks:\n  b:\n    args: 1\n    layers: [{kind: relu}]\nlayers:\n  - {kind: b}\n"
    fails(text, write, line=4, match="`args` is a mapping")


@pytest.mark.parametrize("text", [
    "input: 3x3x3\nlayers: [{kind: relu}]\nvars:\n  v: " + "[" * 99 + "1" + "]" * 99 + "\n",
    "input: 3x3x3\nlayers: [{kind: relu}]\nvars:\n  v: " + "[" * 99 + "]" * 99 + "\n",   # the innermost list empty
    "input: 3x3x3\nlayers:\n  - " + "- " * 99 + "1\n",
    "input: 3x3x3\nlayers:\n" + "".join("  " * i + f"k{i}:\n" for i in range(101)) + "  " * 101 + "x: 1\n",
    "input: 3x3x3\na: &a " + "[" * 50 + "]" * 50 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n",  # an alias deep
])
def test_short_texts_skip_the_event_pass_with_the_same_verdict(text: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A text with at most COMPOSE_SAFE level-opening characters is composed without the event
    pass; `_size` gives the same verdict, message and location as the pass would."""
    from archcalc import source
    assert sum(map(text.count, "[{-:?")) <= source.COMPOSE_SAFE

    def verdict() -> str:
        try:
            source.parse(text, "t.yaml")
        except archcalc.ArchcalcError as e:
            return f"{e.loc}: {e}"
        return "ok"
    skipped = verdict()
    monkeypatch.setattr(source, "COMPOSE_SAFE", -1)
    assert verdict() == skipped
