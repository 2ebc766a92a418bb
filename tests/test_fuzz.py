"""Fuzzing the input path (issue 6): random YAML documents and random mutations of the shipped
specs. Every input must end in a result or in an `ArchcalcError` with a location: never another
exception, never a hang (each input has a time bound).

The default suite runs a small, derandomised budget (about 200 inputs, a few seconds). For a long
run, set ARCHCALC_FUZZ to the number of inputs per test, e.g.

    ARCHCALC_FUZZ=10000 PYTHONPATH=. python -m pytest tests/test_fuzz.py -s -W ignore::DeprecationWarning

which prints how many inputs were tried and how they ended. (`-W ignore::DeprecationWarning`:
on a failure hypothesis imports libcst, which warns, and `filterwarnings = error` would turn
the report of the falsifying example into a pytest INTERNALERROR.)
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SPEC_PATHS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcalc
from archcalc.errors import ArchcalcError, render
from archcalc.source import TEXTS

LONG = int(os.environ.get("ARCHCALC_FUZZ", "0") or 0)
SECONDS = 10  # the time bound of one input
FUZZ = settings(max_examples=LONG or 50, deadline=None, derandomize=not LONG, database=None,
                suppress_health_check=list(HealthCheck))


def _self_contained(path: Path) -> str:
    """A shipped spec's text, with the blocks of the libraries it includes written into it: the
    fuzzer loads text, which has no folder to include from."""
    text = path.read_text()
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or "include" not in doc:
        return text
    blocks: dict[str, Any] = {}
    for inc in [doc.pop("include")] if isinstance(doc["include"], str) else doc.pop("include"):
        blocks.update(yaml.safe_load((path.parent / inc).read_text())["blocks"])
    doc["blocks"] = {**blocks, **doc.get("blocks", {})}
    return yaml.safe_dump(doc, sort_keys=False)


SPEC_TEXTS = {p.name: _self_contained(p) for p in SPEC_PATHS}
TALLY: Counter[str] = Counter()


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"an input took more than {SECONDS} s")


def check(text: str) -> str:
    """Load and analyse `text`; fail the test on anything but a result or a located error."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        try:
            an = archcalc.analyze(archcalc.load(text=text, path="fuzz.yaml"))
            an.to_dict()
            outcome = "ok"
        except ArchcalcError as e:
            assert e.loc is not None, f"error without a location: {e}\n--- input:\n{text[:2000]}"
            assert e.loc.path == "fuzz.yaml" and e.loc.line >= 1, e.loc
            assert render(e, TEXTS).startswith("error: fuzz.yaml:")
            outcome = "error"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    TALLY[outcome] += 1
    return outcome


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if LONG:
        print(f"\nfuzz: {sum(TALLY.values()):,} inputs: {TALLY['ok']:,} analysed, {TALLY['error']:,} located errors")


# --- random documents --------------------------------------------------------------------------

KINDS = sorted(archcalc.KINDS) + ["blk", "nope"]
FIELDS = sorted({f for k in archcalc.KINDS.values() for f in k.fields})
KEYS = ["kind", "name", "from", "repeat", "when", "input", "layers", "blocks", "vars", "args", "output",
        "outputs", "batch", *FIELDS]
WORDS = [*KINDS, *KEYS, "same", "valid", "max", "x", "a", "conv1", "input", "3x3", "1e3", "yes", "no",
         "2**70", "9**9**9", "1/0", "alpha * 2", "round(2.5)", "make_divisible(37, 8)", "index",
         "().__class__", "__import__('os')", "x.y", "(" * 60 + "1" + ")" * 60, "- " * 5, "\t", "[", "&a", "*a"]
scalars = st.one_of(st.integers(-5, 300), st.integers(), st.booleans(), st.none(), st.floats(),
                    st.sampled_from(WORDS), st.text(max_size=12))
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers(-3, 3), st.booleans())
values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=6),
                                                      st.dictionaries(keys, kids, max_size=6)), max_leaves=40)
layer = st.fixed_dictionaries({"kind": st.sampled_from(KINDS)},
                              optional={k: scalars for k in ["name", "from", "repeat", "when", *FIELDS]})
documents = st.one_of(
    values,
    st.fixed_dictionaries({"input": st.one_of(st.sampled_from(["32x32x3", "8x8x1", "4x4", "0x3x3"]), values),
                           "layers": st.lists(layer, max_size=8)},
                          optional={"vars": st.dictionaries(st.sampled_from(["a", "alpha", "x"]), scalars),
                                    "blocks": st.dictionaries(st.sampled_from(["blk", "b2"]), st.fixed_dictionaries(
                                        {"layers": st.lists(layer, max_size=4)},
                                        optional={"args": st.dictionaries(st.sampled_from(["a", "k"]), scalars)})),
                                    "batch": scalars, "outputs": values}),
)


def dump(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError, UnicodeError):  # e.g. a surrogate from st.text()
        return str(doc)


@FUZZ
@given(documents)
def test_random_documents(doc: Any) -> None:
    check(dump(doc))


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("{}[]:-,&*!|>'\"#%@`? \t\n\\abcx0123456789.^~=+<_")), max_size=200))
def test_random_text(text: str) -> None:
    check(text)


# --- mutations of the shipped specs --------------------------------------------------------------

def _walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


def _mutate_tree(doc: Any, op: int, pick: int, repl: Any) -> Any:
    spots = list(_walk(doc))
    path, node = spots[pick % len(spots)]
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1] if path else None
    if op == 0 and path:                                # delete a key or an item
        del parent[last]
    elif op == 1 and path:                              # change a value's type or value
        parent[last] = repl
    elif op == 2 and isinstance(node, int) and path:    # a number becomes text
        parent[last] = str(repl)
    elif op == 3 and isinstance(node, dict) and node:   # rename a key (e.g. a layer's name, a field)
        k = list(node)[pick % len(node)]
        node[str(repl)] = node.pop(k)
    elif op == 4:                                       # point `from` at a missing node
        items = [n for _, n in spots if isinstance(n, dict) and "kind" in n]
        if items:
            items[pick % len(items)]["from"] = "missing_" + str(repl)
    elif op == 5 and isinstance(node, dict):            # rename a layer
        node["name"] = repl
    return doc


def _mutate_text(text: str, op: int, pick: int, repl: str) -> str:
    if not text:
        return repl
    lines = text.splitlines(keepends=True)
    i = pick % len(lines)
    if op == 0:                                         # cut the file short
        return text[: pick % len(text)]
    if op == 1:                                         # delete a line
        return "".join(lines[:i] + lines[i + 1:])
    if op == 2:                                         # duplicate a line
        return "".join(lines[: i + 1] + lines[i:])
    if op == 3:                                         # indent with a tab
        return "".join(lines[:i] + ["\t" + lines[i].lstrip(" ")] + lines[i + 1:])
    if op == 4:                                         # overwrite characters
        j = pick % len(text)
        return text[:j] + repl + text[j + len(repl):]
    return text[: pick % len(text)] + repl + text[pick % len(text):]  # insert


@FUZZ
@given(st.sampled_from(sorted(SPEC_TEXTS)),
       st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10_000), scalars | values), min_size=1, max_size=4))
def test_mutated_spec_trees(name: str, ops: list[tuple[int, int, Any]]) -> None:
    doc = yaml.safe_load(SPEC_TEXTS[name])
    for op, pick, repl in ops:
        doc = _mutate_tree(doc, op, pick, repl)
    check(dump(doc))


@FUZZ
@given(st.sampled_from(sorted(SPEC_TEXTS)),
       st.lists(st.tuples(st.integers(0, 5), st.integers(0, 100_000), st.sampled_from(WORDS) | st.text(max_size=6)),
                min_size=1, max_size=4))
def test_mutated_spec_texts(name: str, ops: list[tuple[int, int, str]]) -> None:
    text = SPEC_TEXTS[name]
    for op, pick, repl in ops:
        text = _mutate_text(text, op, pick, repl)
    check(text)


def test_shipped_specs_pass_the_check() -> None:
    assert all(check(t) == "ok" for t in SPEC_TEXTS.values())
