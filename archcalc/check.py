"""Spec -> verdict: compare computed figures with a spec's `expect:` and `budget:` blocks.

    expect:
      params: {value: 25557032, source: "torchvision resnet50 num_params"}
      macs: {value: 4089184256, source: "torchvision resnet50 GFLOPS 4.089", tolerance: 500000}
      output_shape: {value: [1000], source: "1000 ImageNet classes"}
    budget:
      max_params: 30000000

Every expected figure names its `source`; `tolerance` is an absolute integer (default 0)
for sources that round. Budgets are design constraints (upper bounds) and need no source.
Nothing here prints or exits: `check_spec` returns a `CheckResult`, and malformed blocks
raise `SpecError` with the location of the offending key or value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ArchcalcError, Location, SpecError, describe, did_you_mean
from .source import LMap

#: expect key -> what it compares (a `Totals` attribute, or the last output's shape)
EXPECT_KEYS: dict[str, str] = {
    "params": "all parameters, trainable + non-trainable (BatchNorm running statistics included)",
    "trainable_params": "trainable parameters (what torchvision's num_params and Keras' 'Trainable params' count)",
    "non_trainable_params": "non-trainable parameters (BatchNorm running mean and variance)",
    "macs": "conv and dense multiply-accumulates, bias excluded (torchvision's 'GFLOPS', fvcore, thop)",
    "flops": "2 x MACs",
    "activation_bytes": "every layer's output held at once, times the dtype size, over the batch",
    "output_shape": "the shape of the last output, e.g. [1000] or [28, 28, 256]",
}
#: budget key -> the total it bounds from above
BUDGET_KEYS: dict[str, str] = {
    "max_params": "params",
    "max_macs": "macs",
    "max_activation_bytes": "activation_bytes",
}
ENTRY_KEYS = ("value", "source", "tolerance")
_HWC = re.compile(r"^\s*\d+(\s*[x×X]\s*\d+)*\s*$")

PASS, FAIL, INVALID, UNCHECKED = "pass", "fail", "invalid", "unchecked"


@dataclass(frozen=True, slots=True)
class Expectation:
    """One declared figure: `key` must come out as `value` (within `tolerance`)."""

    key: str
    value: int | tuple[int, ...]
    source: str
    tolerance: int
    loc: Location


@dataclass(frozen=True, slots=True)
class Budget:
    """One design constraint: the total `metric` must not exceed `limit`."""

    key: str
    metric: str
    limit: int
    loc: Location


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one expectation or budget against the computed figure."""

    key: str
    kind: str                      # "expect" or "budget"
    declared: int | tuple[int, ...]
    computed: int | tuple[int, ...]
    ok: bool
    loc: Location
    tolerance: int = 0
    source: str = ""

    @property
    def difference(self) -> int | None:
        """computed - declared (None for shapes)."""
        if isinstance(self.declared, int) and isinstance(self.computed, int):
            return self.computed - self.declared
        return None

    def describe(self) -> str:
        if self.kind == "budget":
            d = self.difference or 0
            verdict = f"over by {d:,}" if d > 0 else f"headroom {-d:,}"
            return f"{self.key}: computed {self.computed:,}, budget {self.declared:,} ({verdict})"
        if self.key == "output_shape":
            return (f"output_shape: declared {_shape(self.declared)}, computed {_shape(self.computed)} "
                    f"(source: {self.source})")
        d = self.difference or 0
        tol = f", tolerance {self.tolerance:,}" if self.tolerance else ""
        return (f"{self.key}: declared {self.declared:,}, computed {self.computed:,}, "
                f"difference {d:+,}{tol} (source: {self.source})")

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "ok": self.ok,
                "declared": list(self.declared) if isinstance(self.declared, tuple) else self.declared,
                "computed": list(self.computed) if isinstance(self.computed, tuple) else self.computed,
                "difference": self.difference, "tolerance": self.tolerance, "source": self.source,
                "location": str(self.loc)}


@dataclass
class CheckResult:
    """A spec's verdict: its findings, or the error that made it invalid."""

    path: str
    name: str = ""
    findings: list[Finding] = field(default_factory=list)
    error: ArchcalcError | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return INVALID
        if not self.findings:
            return UNCHECKED
        return PASS if all(f.ok for f in self.findings) else FAIL

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "name": self.name, "status": self.status,
                             "checks": [f.to_dict() for f in self.findings]}
        if self.error is not None:
            d["error"] = {"message": self.error.message, "location": str(self.error.loc) if self.error.loc else None,
                          "hint": self.error.hint,
                          "diagnostics": [{"message": x.message, "location": str(x.loc) if x.loc else None,
                                           "hint": x.hint} for x in self.error.diagnostics]}
        return d


def _shape(v: Any) -> str:
    return " x ".join(str(x) for x in v) if isinstance(v, (tuple, list)) else str(v)


def _count(v: Any, what: str, loc: Location, *, allow_zero: bool = True) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < (0 if allow_zero else 1):
        raise SpecError(f"{what} must be a whole number{' >= 0' if allow_zero else ' >= 1'}, received {describe(v)}",
                        loc, "write digits, optionally grouped with underscores: 25_557_032")
    return v


def _shape_value(v: Any, loc: Location) -> tuple[int, ...]:
    if isinstance(v, str) and _HWC.match(v):
        return tuple(int(x) for x in re.split(r"\s*[x×X]\s*", v.strip()))
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return (v,)
    if isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
        return tuple(v)
    raise SpecError(f"output_shape value must be a list of positive sizes such as [1000] or [28, 28, 256], "
                    f"received {describe(v)}", loc, "or write it as text: 28x28x256")


def parse_expect(root: LMap) -> list[Expectation]:
    """The `expect:` block of a spec's located tree ([] when absent); SpecError when malformed."""
    raw = root.get("expect")
    if raw is None:
        return []
    if not isinstance(raw, LMap):
        raise SpecError(f"`expect` is a mapping of figure -> {{value, source}}, received {describe(raw)}",
                        root.at("expect"), f"figures: {', '.join(EXPECT_KEYS)}")
    out: list[Expectation] = []
    for key, entry in raw.items():
        if key not in EXPECT_KEYS:
            raise SpecError(f"expect: unknown figure '{key}'", raw.key_at(key), did_you_mean(key, EXPECT_KEYS))
        loc = raw.at(key)
        if not isinstance(entry, LMap):
            raise SpecError(f"expect.{key} is a mapping {{value: ..., source: \"...\"}}, received {describe(entry)}",
                            loc, "every expected figure names where it comes from: "
                                 f"{key}: {{value: ..., source: \"paper, table 1\"}}")
        for k in entry:
            if k not in ENTRY_KEYS:
                raise SpecError(f"expect.{key}: unknown key '{k}'", entry.key_at(k), did_you_mean(k, ENTRY_KEYS))
        if "value" not in entry:
            raise SpecError(f"expect.{key} has no `value`", entry.loc, f"add `value: ...` to expect.{key}")
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise SpecError(f"expect.{key} names no `source`" if source is None else
                            f"expect.{key}: `source` must be non-empty text, received {describe(source)}",
                            entry.at("source") if "source" in entry else entry.loc,
                            "say where the figure comes from, e.g. source: \"torchvision resnet50 num_params\"")
        tol = 0
        if "tolerance" in entry:
            if key == "output_shape":
                raise SpecError("expect.output_shape takes no `tolerance`: a shape matches exactly",
                                entry.key_at("tolerance"))
            tol = _count(entry["tolerance"], f"expect.{key}.tolerance", entry.at("tolerance"))
        if key == "output_shape":
            value: int | tuple[int, ...] = _shape_value(entry["value"], entry.at("value"))
        else:
            value = _count(entry["value"], f"expect.{key}.value", entry.at("value"))
        out.append(Expectation(key, value, source.strip(), tol, entry.at("value")))
    return out


def parse_budget(root: LMap) -> list[Budget]:
    """The `budget:` block of a spec's located tree ([] when absent); SpecError when malformed."""
    raw = root.get("budget")
    if raw is None:
        return []
    if not isinstance(raw, LMap):
        raise SpecError(f"`budget` is a mapping such as {{max_macs: 5000000000}}, received {describe(raw)}",
                        root.at("budget"), f"keys: {', '.join(BUDGET_KEYS)}")
    out = []
    for key, limit in raw.items():
        if key not in BUDGET_KEYS:
            raise SpecError(f"budget: unknown key '{key}'", raw.key_at(key), did_you_mean(key, BUDGET_KEYS))
        out.append(Budget(key, BUDGET_KEYS[key], _count(limit, f"budget.{key}", raw.at(key), allow_zero=False),
                          raw.at(key)))
    return out


def evaluate(analysis: Any, expectations: list[Expectation], budgets: list[Budget]) -> list[Finding]:
    """Compare an Analysis' totals and last output shape with the declared figures."""
    t = analysis.totals
    out: list[Finding] = []
    for e in expectations:
        if e.key == "output_shape":
            computed: int | tuple[int, ...] = tuple(analysis.outputs[-1].output_shape)
            ok = computed == e.value
        else:
            computed = getattr(t, e.key)
            ok = abs(computed - e.value) <= e.tolerance  # type: ignore[operator]
        out.append(Finding(e.key, "expect", e.value, computed, ok, e.loc, e.tolerance, e.source))
    for b in budgets:
        computed = getattr(t, b.metric)
        out.append(Finding(b.key, "budget", b.limit, computed, computed <= b.limit, b.loc))
    return out


def check_spec(spec: Any, *, overrides: dict[str, Any] | None = None, input_shape: tuple[int, ...] | None = None,
               batch: int | None = None, dtype: str = "float32", limits: Any = None) -> CheckResult:
    """Load (if a path), analyse and check one spec. Raises ArchcalcError when the spec is invalid."""
    from . import analyze, load
    from .spec import Spec
    if not isinstance(spec, Spec):
        spec = load(spec)
    expectations = parse_expect(spec.root)
    budgets = parse_budget(spec.root)
    an = analyze(spec, overrides=overrides, input_shape=input_shape, batch=batch, dtype=dtype, limits=limits)
    return CheckResult(spec.path, spec.name, evaluate(an, expectations, budgets))


def discover(paths: Iterable[str | Path]) -> list[str]:
    """Spec files named by `paths`: files as given, folders searched recursively for *.yaml / *.yml
    (hidden files and folders skipped), each folder's files in sorted order."""
    out: list[str] = []
    for p in paths:
        s = str(p)
        path = Path(s)
        if s != "-" and path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            if not found:
                raise SpecError(f"no spec files (*.yaml, *.yml) under {s}")
            out.extend(str(f) for f in found)
        else:
            out.append(s)
    return out


def is_spec_text(root: Any) -> bool:
    """Whether a located tree looks like an archcalc spec (a mapping with `layers:`)."""
    return isinstance(root, LMap) and "layers" in root


def check_paths(paths: Iterable[str | Path], *, skip_non_specs: bool = False, **kw: Any) -> list[CheckResult]:
    """Check every spec under `paths`; an invalid spec becomes a result with `error`, never an exception."""
    from .source import load_source
    from .spec import from_source
    results: list[CheckResult] = []
    files: list[str] = []
    for given in paths:
        try:
            files.extend(discover([given]))
        except ArchcalcError as e:
            results.append(CheckResult(str(given), error=e))
    for p in files:
        try:
            src = load_source(p)  # always a path (or '-'), never YAML text
            if skip_non_specs and not is_spec_text(src.root):
                continue
            results.append(check_spec(from_source(src), **kw))
        except ArchcalcError as e:
            results.append(CheckResult(p if p != "-" else "<stdin>", error=e))
    return results


def exit_code(results: list[CheckResult]) -> int:
    """1 if any spec is invalid, else 3 if any figure differs or budget is exceeded, else 0."""
    if any(r.status == INVALID for r in results):
        return 1
    if any(r.status == FAIL for r in results):
        return 3
    return 0


__all__ = ["BUDGET_KEYS", "EXPECT_KEYS", "Budget", "CheckResult", "Expectation", "Finding", "check_paths",
           "check_spec", "discover", "evaluate", "exit_code", "parse_budget", "parse_expect"]
