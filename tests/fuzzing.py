"""The project's fuzzer (issue 15 E): hypothesis strategies made from the layer kinds' own `Field`
declarations, the invariants every input must keep, and the time budget of a fuzz run.

Nothing here names a kind: a kind added to archcalc/kinds/ (with its forward in archcalc/forward/)
is drawn, mutated and executed as soon as it exists. A field type the fuzzer does not know fails
`test_fuzz.py::test_every_field_type_has_a_strategy`, which says where to add one line.

Invariants (`check_cli`, `check_network`):
* exit codes 0, 1, 2 or 3 only, and never "internal error" (nor a traceback);
* every error about the spec is located (`error: file:line:...`), and an error about a
  command-line value names the option;
* for a valid network, the executor's shapes, parameters and multiplications equal the analytic
  ones, and NumPy's traced memory stays within the executor's own estimate;
* every input ends within SECONDS (a hang is a failure, not a slow test);
* `verify` never exits 3: the executor disagreeing with the analysis is a bug, whatever the spec.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import archcalc
from archcalc.kinds import REGISTRY
from archcalc.kinds.base import Field

#: The time one input may take, whatever it is (docs/limits.md: "Fuzzing").
SECONDS = 10
#: Bytes NumPy may allocate in a run beyond the executor's estimate: the interpreter's own
#: records during the run, not arrays (as tests/test_verify.py allows).
TRACE_SLACK = 256 << 10
#: Examples per fuzz test in the default suite (derandomised: the same inputs every run).
BOUNDED_EXAMPLES = 40

#: Kinds the spec author may write, as the registry has them now (kinds added later included).
KINDS = sorted(k for k, c in REGISTRY.items() if not c.internal)


# --- strategies from the Field declarations -------------------------------------------------

def _small_int(f: Field, spread: int = 3) -> st.SearchStrategy[int]:
    lo = int(f.min)
    hi = int(f.max) if f.max is not None else lo + spread
    return st.integers(lo, max(lo, hi))


def _real(f: Field) -> st.SearchStrategy[Any]:
    """A number in the field's range, written as YAML would hold it: an int, a decimal, or an
    exact expression such as "3/4"."""
    lo = Fraction(f.min)
    hi = Fraction(f.max) if f.max is not None else lo + 2
    return st.fractions(lo, hi, max_denominator=8).map(
        lambda q: int(q) if q.denominator == 1 else f"{q.numerator}/{q.denominator}")


#: Field type -> a strategy for a valid value of a field of that type (small, so networks run).
FIELD_STRATEGIES: dict[str, Callable[[Field], st.SearchStrategy[Any]]] = {
    "int": _small_int,
    "pair": lambda f: st.one_of(_small_int(f), st.lists(_small_int(f), min_size=2, max_size=2)),
    "padding": lambda f: st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2),
                                   st.lists(st.integers(0, 2), min_size=2, max_size=2),
                                   st.lists(st.integers(0, 2), min_size=4, max_size=4)),
    "bool": lambda f: st.booleans(),
    "real": _real,
    "choice": lambda f: st.sampled_from(f.choices),
}


def field_value(f: Field) -> st.SearchStrategy[Any]:
    return FIELD_STRATEGIES[f.type](f)


@st.composite
def layer_item(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A layer of `kind`: its required fields and some of its optional ones (each a third of the
    time: a kind of many fields still fits often), drawn by type."""
    item: dict[str, Any] = {"kind": kind}
    for name, f in REGISTRY[kind].fields.items():
        if f.required or draw(st.integers(0, 2)) == 0:
            item[name] = draw(field_value(f))
    return item


def _yaml(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)


def _analyze(doc: dict[str, Any]) -> archcalc.Analysis | None:
    """The network's analysis, or None when the walker refuses it. Read from JSON, which YAML
    reads as the same document (the values drawn are ints, text, booleans and lists), and which
    is written in a tenth of the time PyYAML's emitter takes: the generator checks every layer."""
    import json
    try:
        return archcalc.analyze(archcalc.load(text=json.dumps(doc), path="fuzz.yaml"))
    except archcalc.SpecError:
        return None


#: Largest number of values any layer of a generated network holds (per sample): small enough
#: that a network runs through NumPy in milliseconds.
MAX_ELEMENTS = 4096
#: Kinds drawn for a place in a network until one fits what stands there (then it is left out).
TRIES = 6


@st.composite
def networks(draw: st.DrawFn, max_layers: int = 7, target: str | None = None) -> dict[str, Any]:
    """A valid network (a spec as a dict): layers of any kinds, each kept only when the analytic
    walker accepts it where it stands, so the shapes it meets are whatever came before. Layers
    taking several inputs take them from earlier layers; now and then a layer reads an earlier
    layer than the one above it, so the result is a DAG.

    Each network has a target kind (`target`, else drawn), placed at a drawn position: where it
    does not fit what stands there, after a bridging layer of some kind that makes something of
    another rank (attention needs a sequence of tokens, which only some kinds make). So a kind is
    drawn whatever shapes it takes; the other places take kinds drawn until one fits."""
    if draw(st.integers(0, 4)):
        shape: Any = f"{draw(st.integers(1, 9))}x{draw(st.integers(1, 9))}x{draw(st.integers(1, 4))}"
    else:
        shape = [draw(st.integers(1, 16))]
    doc: dict[str, Any] = {"input": shape, "layers": []}
    names = ["input"]

    def place(kind: str) -> tuple[int, ...] | None:
        """Append a layer of `kind` if the walker accepts it there (and it stays small): its
        output shape, else None."""
        item = draw(layer_item(kind))
        item["name"] = f"l{len(doc['layers'])}"
        lo, hi = REGISTRY[kind].arity
        k = draw(st.integers(lo, min(hi or lo + 1, lo + 1)))  # a second input where one is optional too
        if k >= 2:  # each input the layer above half the time (two of it: a product of tokens with tokens)
            item["from"] = [names[-1] if draw(st.booleans()) else draw(st.sampled_from(names)) for _ in range(k)]
        elif len(names) > 1 and draw(st.integers(0, 5)) == 0:
            item["from"] = draw(st.sampled_from(names))
        doc["layers"].append(item)
        an = _analyze(doc)
        if an is not None and max(r.activation_elems for r in an.rows) <= MAX_ELEMENTS:
            names.append(item["name"])
            return tuple(an.rows[-1].output_shape)
        doc["layers"].pop()
        return None

    def place_target() -> bool:
        return any(place(target) is not None for _ in range(2 * TRIES))

    count = draw(st.integers(1, max_layers))
    target = target or draw(st.sampled_from(KINDS))
    at = draw(st.integers(0, count - 1))
    for n in range(count):
        if n == at:
            if not place_target():  # a bridge: a layer that makes something of another rank (tokens)
                an = _analyze(doc) if doc["layers"] else None
                rank = len(an.rows[-1].output_shape) if an is not None else 3 if isinstance(shape, str) else 1
                for bridge in draw(st.permutations(KINDS)):
                    out = place(bridge)
                    if out is None:
                        continue
                    if len(out) != rank and place_target():
                        break
                    doc["layers"].pop()
                    names.pop()
            continue
        for _ in range(TRIES):  # kinds that take what stands here are rarer as kinds grow (tokens)
            if place(draw(st.sampled_from(KINDS))) is not None:
                break
    if not doc["layers"]:
        doc["layers"].append({"kind": "relu", "name": "l0"})  # every kind refused here: still a network
    return doc


# --- mutations --------------------------------------------------------------------------------

def _walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


def mutate_tree(doc: Any, op: int, pick: int, repl: Any) -> Any:
    """One structural mutation at a spot chosen by `pick`: delete, replace, number -> text,
    rename a key, point `from` at a missing layer, rename a layer."""
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


def mutate_text(text: str, op: int, pick: int, repl: str) -> str:
    """One textual mutation: cut short, delete or duplicate a line, indent with a tab, overwrite
    or insert characters."""
    if not text:
        return repl
    lines = text.splitlines(keepends=True)
    i = pick % len(lines)
    if op == 0:
        return text[: pick % len(text)]
    if op == 1:
        return "".join(lines[:i] + lines[i + 1:])
    if op == 2:
        return "".join(lines[: i + 1] + lines[i:])
    if op == 3:
        return "".join(lines[:i] + ["\t" + lines[i].lstrip(" ")] + lines[i + 1:])
    if op == 4:
        j = pick % len(text)
        return text[:j] + repl + text[j + len(repl):]
    return text[: pick % len(text)] + repl + text[pick % len(text):]


#: Values a mutation puts in: types a field does not take, words, expressions, hostile text.
WORDS = [*KINDS, "same", "valid", "x", "input", "3x3", "1e3", "1e999", "yes", "2**70", "9**9**9", "1/0",
         "round(2.5)", "make_divisible(37, 8)", "index", "().__class__", "__import__('os')", "[", "&a", "*a",
         "!!float abc", "!!bool maybe", "2**1100/3", "9223372036854775807", "-1", "0", ".inf"]
scalars = st.one_of(st.integers(-5, 300), st.integers(), st.booleans(), st.none(), st.floats(),
                    st.sampled_from(WORDS), st.text(max_size=12))
mutations = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10_000), scalars), min_size=1, max_size=3)


def dump(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError, UnicodeError):  # e.g. a surrogate from st.text()
        return str(doc)


# --- invariants -----------------------------------------------------------------------------

class Hang(Exception):
    pass


@contextmanager
def bounded(seconds: float = SECONDS) -> Iterator[None]:
    """Fail (raise Hang) when the body runs longer than `seconds`."""
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"an input took more than {seconds} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


LOCATED = re.compile(r"^error: (?P<path>[^\n]+?):(?P<line>\d+)(:\d+)?: ", re.MULTILINE)
#: an error about a command-line value names it: an option, or a SPEC@SETTING argument as typed
#: (which may hold spaces: `SPEC@0 0: the spec has no variants`)
OPTIONS = re.compile(r"--[a-z][a-z-]+|-o |Invalid value for|No such option|Usage:|@[^\n]*?: ")


def check_cli(args: list[str], spec_path: str | None = None, about: str = "") -> str:
    """Run the CLI in-process on `args` and hold it to the invariants; return how it ended
    ("ok", "error", "usage", "differs"). `spec_path`: an exit 1 must be an error located in it,
    or one naming a command-line option."""
    from conftest import runner

    from archcalc.cli import cli
    with bounded():
        r = runner().invoke(cli, args, catch_exceptions=False)
    out = r.output
    context = f"\n--- archcalc {' '.join(args)}\n{about}\n--- output:\n{out[-3000:]}"
    assert r.exit_code in (0, 1, 2, 3), f"exit {r.exit_code}{context}"
    assert "internal error" not in out and "Traceback" not in out, context
    assert not (args[0] == "verify" and r.exit_code == 3), f"the executor disagrees with the analysis{context}"
    if r.exit_code == 1:
        located = any(m.group("path") == spec_path for m in LOCATED.finditer(r.stderr))
        if args[0] == "check" and "json" in args:  # check -f json reports the error in its JSON
            import json
            errors = [s["error"] for s in json.loads(r.stdout)["specs"] if s.get("error")]
            located = all((e["location"] or "").startswith(f"{spec_path}:") for e in errors)
        assert located or OPTIONS.search(r.stderr), f"an error neither located nor naming an option{context}"
    return {0: "ok", 1: "error", 2: "usage", 3: "differs"}[r.exit_code]


#: Kinds the executor refuses by design: `unmapped` stands for an imported operator archcalc has
#: no computation for (archcalc/forward/unmapped.py). A network holding one is analysed; running
#: it is an error located at that layer, before anything is allocated.
NOT_RUN = frozenset({"unmapped"})


def runs(doc: dict[str, Any]) -> bool:
    """Whether the executor runs this generated network (it holds no kind of NOT_RUN)."""
    return not any(item.get("kind") in NOT_RUN for item in doc.get("layers", []))


def check_network(doc: dict[str, Any]) -> archcalc.Analysis:
    """A valid network through the walker and the executor: every figure equal, and the memory
    NumPy really allocates within the executor's estimate; or, holding a kind of NOT_RUN, the
    run refused with an error located at such a layer."""
    import tracemalloc

    import numpy as np

    from archcalc.execute import ExecError, _plan, execute
    text = _yaml(doc)
    an = archcalc.analyze(archcalc.load(text=text, path="fuzz.yaml"))
    if not runs(doc):
        with pytest.raises(ExecError, match="cannot be run") as refused:
            execute(an.graph, keep=False)
        assert refused.value.loc is not None and refused.value.loc.path == "fuzz.yaml", text
        return an
    with bounded():
        execute(an.graph, keep=False)  # once untraced: first calls fill NumPy's and Python's caches
        plan = _plan(an.graph, np.dtype("float32"), an.batch)
        tracemalloc.start()
        try:
            ex = execute(an.graph, keep=False)
            traced = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert len(ex.layers) == len(an.rows), text
    for row, run in zip(an.rows, ex.layers, strict=True):
        got = (run.output_shape, run.trainable, run.non_trainable, run.macs)
        assert got == (tuple(row.output_shape), row.trainable, row.non_trainable, row.macs), f"{row.name}\n{text}"
    assert traced <= plan.peak + TRACE_SLACK, f"traced {traced:,} B > estimate {plan.peak:,} B\n{text}"
    return an


# --- running for a bounded time, or for as long as asked -----------------------------------------

def fuzz(request: pytest.FixtureRequest, strategy: st.SearchStrategy[Any], body: Callable[[Any], None],
         examples: int = BOUNDED_EXAMPLES) -> None:
    """Run `body` on examples of `strategy`. In the default suite: `examples` of them,
    derandomised (the same inputs every run, a few seconds). With --fuzz-seconds S (as in
    `pytest -m fuzz --fuzz-seconds 600`): random examples, round after round with fresh seeds,
    for this test's share of S (S over the number of fuzz tests run); a failure prints its
    example and the blob that reproduces it."""
    from hypothesis import given

    def test(example: Any) -> None:  # hypothesis wants None back, whatever `body` tells its caller
        body(example)
    from conftest import FUZZ_TESTS
    seconds = float(request.config.getoption("--fuzz-seconds") or 0)
    seconds /= max(1, request.config.stash.get(FUZZ_TESTS, 1))  # the time is for the whole fuzz run
    common = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True)
    if not seconds:
        settings(max_examples=examples, derandomize=True, **common)(given(strategy)(test))()
        return
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        settings(max_examples=examples, derandomize=False, **common)(given(strategy)(test))()
        rounds += 1
    print(f"\n{request.node.name}: {rounds} rounds of {examples} random examples in {seconds:g} s")


def network_text(doc: dict[str, Any]) -> str:
    return _yaml(doc)


__all__ = ["BOUNDED_EXAMPLES", "FIELD_STRATEGIES", "KINDS", "NOT_RUN", "SECONDS", "bounded", "check_cli",
           "check_network", "dump", "field_value", "fuzz", "layer_item", "mutate_text", "mutate_tree", "mutations",
           "network_text", "networks", "runs", "scalars"]
