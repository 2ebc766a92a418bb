"""Which torch op computes each layer: the torch model a spec describes, for the convention profiles.

A tool counts what it sees of a torch model: ptflops hooks the nn.ReLU module and patches F.relu, thop
sees modules only, fvcore sees aten ops. Two models that compute the same function can therefore print
different figures, so a profile must know which op computes each layer. By default a layer is the
module its kind stands for (`profiles.TORCH_DEFAULT`); a spec says where its torch model differs in a
top-level `torch_ops:` mapping (also accepted inside `expect.conventions` / `budget.conventions`), and
`--torch-op SELECTOR=OP` says the same from the command line (winning over the spec's):

    torch_ops:
      kind:relu: F.relu                     # every relu layer (GoogLeNet's BasicConv2d calls F.relu)
      "aux?/pool": F.adaptive_avg_pool2d    # a pattern over layer paths: * and ? also cross '/'
      avgpool: AdaptiveAvgPool2d            # one layer, by its path

An exact path wins over a pattern, a pattern over `kind:`. A path must name a layer; a pattern or a
kind may select none (a spec's layers can depend on its variables). Every layer selected must be able
to be that op (`profiles.TORCH_ALTERNATIVES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from .errors import Location, SpecError, describe, did_you_mean
from .source import LMap

if TYPE_CHECKING:
    from .analysis import Analysis

#: The key of the torch-op mapping, at the top of a spec and inside a `conventions:` block.
KEY = "torch_ops"
#: A selector `kind:NAME` selects every layer of that kind.
KIND = "kind:"
_GLOB = "*?["


class Problem(Exception):
    """Why a selector cannot give its layers an op: a message and a hint, worded by the caller's place."""

    def __init__(self, message: str, hint: str | None = None, selector: bool = False) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint
        self.selector = selector  # the selector is wrong (located at the key), not the op (at the value)


@dataclass(frozen=True, slots=True)
class TorchOp:
    """One `selector: op` entry, with where it was written (a spec key, or --torch-op when no location)."""

    layer: str                          # the selector: a layer path, a pattern, or kind:NAME
    op: str
    key_loc: Location | None = None
    value_loc: Location | None = None
    where: str = "--torch-op"           # "torch_ops", "expect.conventions.torch_ops", ... or "--torch-op"

    def error(self, p: Problem) -> SpecError:
        if self.key_loc is None:
            return SpecError(f"--torch-op {self.layer}={self.op}: {p.message}", hint=p.hint)
        return SpecError(f"{self.where}.{self.layer}: {p.message}", self.key_loc if p.selector else self.value_loc,
                         p.hint)


def level(selector: str) -> int:
    """0 for kind:NAME, 1 for a pattern, 2 for a path: the higher wins where two select one layer."""
    if selector.startswith(KIND):
        return 0
    return 1 if any(c in selector for c in _GLOB) else 2


#: Matching patterns costs one test per pattern and layer; a spec (or --torch-op list) whose
#: patterns would take more than this many tests in all is refused rather than run for minutes
#: (100,000 patterns over 100,000 layers are 10^10). Exact paths and kind:NAME are looked up.
MAX_PATTERN_TESTS = 5_000_000


class _Index:
    """An analysis's rows by path, by kind and by pattern: built once per analysis, so that looking
    a selector up again costs what it selects, not a scan of every row."""

    def __init__(self, an: Analysis) -> None:
        self.rows = an.rows
        self.by_name: dict[str, int] = {}
        self.by_kind: dict[str, list[int]] = {}
        for i, r in enumerate(an.rows):
            self.by_name.setdefault(r.name, i)
            self.by_kind.setdefault(r.kind, []).append(i)
        self.patterns: dict[str, list[int]] = {}  # pattern -> the rows it selects
        self.tests = 0  # pattern tests run: len(rows) per distinct pattern


_INDEXES: dict[int, _Index] = {}


def _index(an: Analysis) -> _Index:
    """The index of `an` (a few kept: compare and check alternate between analyses)."""
    ix = _INDEXES.get(id(an.rows))
    if ix is None or ix.rows is not an.rows:
        if len(_INDEXES) >= 8:
            _INDEXES.pop(next(iter(_INDEXES)))
        ix = _INDEXES[id(an.rows)] = _Index(an)
    return ix


def matches(an: Analysis, selector: str) -> list[int]:
    """Indices of the rows `selector` names (no op check); Problem for a kind archcalc does not know,
    or for patterns that would take more than MAX_PATTERN_TESTS tests on this network."""
    ix = _index(an)
    if selector.startswith(KIND):
        from .kinds import REGISTRY
        kind = selector[len(KIND):].strip()
        if kind not in REGISTRY:
            raise Problem(f"no layer kind {kind!r}", did_you_mean(kind, sorted(REGISTRY), "kinds"), selector=True)
        return list(ix.by_kind.get(kind, ()))
    if level(selector) == 1:  # layers only: the network's input is no torch op
        hits = ix.patterns.get(selector)
        if hits is None:
            ix.tests += len(an.rows)
            if ix.tests > MAX_PATTERN_TESTS:
                raise Problem(f"the torch ops' patterns, each tested against the {len(an.rows):,} layers, "
                              f"take more than {MAX_PATTERN_TESTS:,} tests", "name the layers by path, or "
                              f"select them by kind ({KIND}NAME): those are looked up", selector=True)
            hits = ix.patterns[selector] = [i for i, r in enumerate(an.rows)
                                            if r.kind != "input" and fnmatchcase(r.name, selector)]
        return list(hits)
    i = ix.by_name.get(selector)
    return [] if i is None else [i]


def allowed(kind: str) -> tuple[str, ...]:
    """The torch ops a layer of this kind can be: its default module first."""
    from .profiles import TORCH_ALTERNATIVES, TORCH_DEFAULT
    return (TORCH_DEFAULT.get(kind, "?"),) + TORCH_ALTERNATIVES.get(kind, ())


def select(an: Analysis, selector: str, op: str) -> list[int]:
    """The rows `selector` gives op `op`; Problem when a path names no layer or a layer cannot be `op`."""
    hits = matches(an, selector)
    lv = level(selector)
    if lv == 0:
        hits = hits[:1] or [-1]  # one check serves every layer of the kind, and a kind with none
    if lv == 2 and not hits:
        raise Problem(f"no layer named {selector!r}", did_you_mean(selector, [r.name for r in an.rows], "layers"),
                      selector=True)
    for i in hits:
        kind = an.rows[i].kind if i >= 0 else selector[len(KIND):].strip()
        ops = allowed(kind)
        if op not in ops:
            article = "an" if kind[0] in "aeiou" else "a"
            what = f"{article} {kind} layer is one of {', '.join(ops)}"
            if lv == 1:
                raise Problem(f"the pattern selects {an.rows[i].name!r}; {what}",
                              f"narrow the pattern, or select by kind: {KIND}{kind}")
            raise Problem(what, did_you_mean(op, ops, "ops"))
    return matches(an, selector) if lv == 0 else hits


def resolve(an: Analysis, entries: Iterable[TorchOp]) -> dict[str, str]:
    """layer path -> op for every layer the entries select (SpecError worded for where each was written).

    Two selectors of the same rank that give one layer different ops are an error: which one wins
    would depend on their order."""
    out: dict[int, tuple[int, TorchOp]] = {}
    for t in entries:
        try:
            hits = select(an, t.layer, t.op)
            if not hits and t.key_loc is None:  # --torch-op that selects nothing would change nothing
                raise Problem("selects no layer", "a pattern's * and ? also match '/'; kind:NAME selects a kind",
                              selector=True)
        except Problem as p:
            raise t.error(p) from None
        lv = level(t.layer)
        for i in hits:
            prev = out.get(i)
            if prev is not None and prev[0] == lv and prev[1].op != t.op:
                raise t.error(Problem(f"selects {an.rows[i].name!r}, which {prev[1].layer!r} makes "
                                      f"{prev[1].op}", "one torch model: give each layer one op"))
            if prev is None or prev[0] <= lv:
                out[i] = (lv, t)
    return {an.rows[i].name: t.op for i, (_, t) in sorted(out.items())}


def parse(root: LMap) -> list[TorchOp]:
    """The spec's torch ops: its top-level `torch_ops:`, then those of the `conventions:` blocks of
    `expect:` and `budget:`, in order. A selector given two different ops is an error at the second."""
    from .check import _conventions_block
    blocks: list[tuple[str, LMap, object]] = []
    if KEY in root:
        blocks.append((KEY, root, root[KEY]))
    for top in ("expect", "budget"):
        parent = root.get(top)
        block = _conventions_block(parent, top) if isinstance(parent, LMap) else None
        if block is not None and KEY in block:
            blocks.append((f"{top}.conventions.{KEY}", block, block[KEY]))
    out: list[TorchOp] = []
    seen: dict[str, TorchOp] = {}
    for where, parent, ops in blocks:
        if not isinstance(ops, LMap):
            raise SpecError(f"{where} is a mapping of layer -> torch op, received {describe(ops)}",
                            parent.at(KEY), "e.g. torch_ops: {avgpool: AdaptiveAvgPool2d, kind:relu: F.relu}")
        for layer, op in ops.items():
            if not isinstance(op, str) or not op.strip():
                raise SpecError(f"{where}.{layer}: a torch op is text such as AdaptiveAvgPool2d, "
                                f"received {describe(op)}", ops.at(layer))
            t = TorchOp(str(layer).strip(), op.strip(), ops.key_at(layer), ops.at(layer), where)
            first = seen.setdefault(t.layer, t)
            if first.op != t.op:
                raise SpecError(f"{where}.{layer}: {t.op} here, but {first.op} at {first.value_loc}",
                                t.value_loc, "one torch model: give each layer one op")
            out.append(t)
    return out


def _roots(an: Analysis) -> list[LMap]:
    """Where the analysed spec says its torch ops: its top level, then the variant analysed (whose
    entries win: a family member may be built differently)."""
    spec = an.graph.spec
    v = spec.variant(getattr(an.graph, "variant", None))
    return [spec.root] if v is None else [spec.root, v.root]


def spec_ops(an: Analysis) -> dict[str, str]:
    """layer path -> op as the analysed spec's own `torch_ops:` says (located SpecError when wrong)."""
    out: dict[str, str] = {}
    for root in _roots(an):
        out.update(resolve(an, parse(root)))
    return out


def spec_selectors(an: Analysis) -> dict[str, str]:
    """The spec's own `torch_ops:` as written (selector -> op), for reports."""
    return {t.layer: t.op for root in _roots(an) for t in parse(root)}


def cli_entries(torch: Mapping[str, str] | None) -> list[TorchOp]:
    """--torch-op SELECTOR=OP pairs (or a library caller's mapping) as entries."""
    return [TorchOp(k, v) for k, v in (torch or {}).items()]


def applies(an: Analysis, selector: str) -> bool:
    """Whether `selector` names anything in `an` (one --torch-op serves several specs, each taking
    what it has); an unknown kind applies nowhere and is reported where it is resolved."""
    try:
        return bool(matches(an, selector))
    except Problem:
        return False


def ops_for(an: Analysis, torch: Mapping[str, str] | None = None) -> list[str]:
    """The torch op of every row of `an`: the kind's module, then the spec's own torch_ops, then `torch`
    (--torch-op), each later one winning."""
    from .profiles import TORCH_DEFAULT
    ops = [TORCH_DEFAULT.get(r.kind, "?") for r in an.rows]
    index = _index(an).by_name
    for mapping in (spec_ops(an), resolve(an, cli_entries(torch))):
        for path, op in mapping.items():
            ops[index[path]] = op
    return ops


__all__ = ["KEY", "KIND", "Problem", "TorchOp", "allowed", "applies", "cli_entries", "level", "matches",
           "ops_for", "parse", "resolve", "select", "spec_ops", "spec_selectors"]
