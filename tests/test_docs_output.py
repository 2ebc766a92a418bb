"""Docs that cannot drift: every output shown in README.md and docs/*.md is run and compared.

- A ```console block holds `$ archcalc ...` commands, each followed by exactly what it prints
  (standard error first, then standard output, as a terminal shows them). Run from the repository
  root, piped (no terminal width, no styles).
- A ```mermaid block right after `<!-- output of: archcalc graph ... -->` is that command's output.
- A Python block of `>>>` lines is a doctest (docs/api.md, the README's library example).
- No other block may show a command's output: a `$ archcalc` line or an `error:` line outside a
  console block fails the test, so a new example cannot slip in unchecked.

`pytest --update-golden` rewrites every shown output from the current run (review the diff).
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, runner

from archcalc.cli import cli

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```$", re.M | re.S)
MARKER = re.compile(r"<!-- output of: ((?:[A-Z_]+=\S* )*archcalc [^\n]*?) -->\s*\Z")


def _dedent(body: str, indent: str) -> str:
    return "".join(line[len(indent):] if line.startswith(indent) else line for line in body.splitlines(True))


def _blocks(path: Path) -> list[tuple[str, str, str]]:
    """(language, body, the text before the block) of every fenced block; a block indented in a
    list item is read without its indent."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(2), _dedent(m.group(3), m.group(1)), text[:m.start()]) for m in FENCE.finditer(text)]


def _rewrite(doc: Path) -> None:
    """Every shown output of `doc` replaced by the current one (--update-golden)."""
    def block(m: re.Match[str]) -> str:
        indent, lang, body = m.group(1), m.group(2), _dedent(m.group(3), m.group(1))
        if lang == "console":
            body = "".join(f"$ {c}\n" + "\n".join(_lines(_run(c))) + "\n" for c, _ in _console(body))
        elif lang == "mermaid" and MARKER.search(text[:m.start()]):
            body = "\n".join(_lines(_run(MARKER.search(text[:m.start()]).group(1)))) + "\n"  # type: ignore[union-attr]
        else:
            return m.group(0)
        lines = "".join((indent + line if line.strip() else line) for line in body.splitlines(True))
        return f"{indent}```{lang}\n{lines}{indent}```"
    text = doc.read_text(encoding="utf-8")
    doc.write_text(FENCE.sub(block, text), encoding="utf-8")


_REWRITTEN: set[Path] = set()


def _console(body: str) -> list[tuple[str, str]]:
    """(command, shown output) pairs of a console block."""
    out: list[tuple[str, str]] = []
    for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
        command, _, shown = chunk.partition("\n")
        out.append((command, shown))
    return out


def cases() -> list[tuple[Path, str, str, str]]:
    """(doc, kind, command, shown) for every console command and marked Mermaid block."""
    found = []
    for doc in DOCS:
        for lang, body, before in _blocks(doc):
            if lang == "console":
                found += [(doc, "console", c, shown) for c, shown in _console(body)]
            elif lang == "mermaid":
                m = MARKER.search(before)
                if m:
                    found.append((doc, "mermaid", m.group(1), body))
    return found


def _run(command: str) -> str:
    """`[NAME=value ...] archcalc ARGS` run in-process, piped: its stderr, then its stdout."""
    args = shlex.split(command)
    env: dict[str, str | None] = {"COLUMNS": None, "NO_COLOR": None, "TERM": None}
    while args and re.fullmatch(r"[A-Z_]+=\S*", args[0]):
        name, _, value = args.pop(0).partition("=")
        env[name] = value
    assert args and args[0] == "archcalc", f"a shown command must be archcalc's: {command}"
    r = runner().invoke(cli, args[1:], catch_exceptions=False, env=env)  # type: ignore[arg-type]
    return r.stderr + r.stdout


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


CASES = cases()


def test_docs_show_commands() -> None:
    where = {(doc.name, kind) for doc, kind, _, _ in CASES}
    assert {("README.md", "console"), ("README.md", "mermaid"), ("check.md", "console"),
            ("analyses.md", "console"), ("pictures.md", "console"), ("pictures.md", "mermaid"),
            ("limits.md", "console"), ("case-studies.md", "console"), ("spec.md", "console"),
            ("training.md", "console")} <= where


@pytest.mark.parametrize("doc,kind,command,shown", CASES,
                         ids=[f"{d.name}: {c}" for d, _, c, _ in CASES])
def test_shown_output_is_current(doc: Path, kind: str, command: str, shown: str,
                                 monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(ROOT)
    if request.config.getoption("--update-golden"):  # rewrite the doc's outputs in place; review the diff
        if doc not in _REWRITTEN:
            _rewrite(doc)
            _REWRITTEN.add(doc)
        return
    fresh = _run(command)
    assert _lines(fresh) == _lines(shown), f"{doc.name} is stale for `{command}`: pytest --update-golden"


def test_no_output_is_shown_unchecked() -> None:
    for doc in DOCS:
        for lang, body, before in _blocks(doc):
            if lang == "console" or (lang == "mermaid" and MARKER.search(before)):
                continue
            for line in body.split("\n"):
                assert not re.match(r"\$ ([A-Z_]+=\S* )*archcalc|error: |warning: ", line), (
                    f"{doc.name}: output shown outside a checked block: {line!r} (make it a ```console block)")
            if lang == "mermaid":
                pytest.fail(f"{doc.name}: a Mermaid sample without `<!-- output of: archcalc graph ... -->`")


def _doctests() -> dict[Path, list[str]]:
    """Each doc's `>>>` blocks, in order: a doc's examples run as one session."""
    found: dict[Path, list[str]] = {}
    for doc in DOCS:
        blocks = [body for lang, body, _ in _blocks(doc) if lang == "python" and body.lstrip().startswith(">>>")]
        if blocks:
            found[doc] = blocks
    return found


@pytest.mark.parametrize("doc", list(_doctests()), ids=[d.name for d in _doctests()])
def test_python_examples_run(doc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    globs: dict[str, object] = {}
    r = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    for i, body in enumerate(_doctests()[doc]):
        test = doctest.DocTestParser().get_doctest(body, globs, f"{doc.name} block {i + 1}", str(doc), 0)
        r.run(test, out=out.append, clear_globs=False)
        globs = test.globs  # the next block continues the session (a DocTest runs on a copy)
    assert r.failures == 0, "".join(out)


def test_doctests_found() -> None:
    assert {d.name for d in _doctests()} >= {"README.md", "api.md"}


def test_run_ignores_the_callers_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # the shown outputs are a pipe's: a $COLUMNS in the test's environment must not fit them
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.chdir(ROOT)
    assert max(map(len, _lines(_run("archcalc summarize specs/lenet5.yaml")))) > 40
    assert os.environ["COLUMNS"] == "40"
