"""Spec -> verdict: compare computed figures with a spec's `expect:` and `budget:` blocks.

    expect:
      params: {value: 25557032, source: "torchvision resnet50 num_params"}
      macs: {value: 4089184256, source: "torchvision resnet50 GFLOPS 4.089", tolerance: 500000}
      output_shape: {value: [1000], source: "1000 ImageNet classes"}
      conventions:                      # what other tools print (archcalc.profiles)
        torchinfo: {value: 4089238376, source: "torchinfo 1.8 Total mult-adds"}
        torch_ops: {pool: F.adaptive_avg_pool2d}   # optional: the torch model's op for a layer
    budget:
      max_params: 30000000
      max_peak_activation_bytes: 16000000
      conventions: {fvcore: 4200000000}

Every expected figure names its `source`; `tolerance` is an absolute integer (default 0)
for sources that round. A spec's `variants:` each carry their own `expect:` and `budget:`
blocks, and a folder or file is checked in every variant it claims (`check_paths`); the
top-level blocks are the default setting's. Budgets are design constraints (upper bounds) and need no source.
A team whose tool counts otherwise can also check with `convention=` (the CLI's --convention):
then `macs` expectations and `max_macs` budgets are compared with that tool's count.
Nothing here prints or exits: `check_spec` returns a `CheckResult`, and malformed blocks
raise `SpecError` with the location of the offending key or value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ArchcalcError, Location, SpecError, describe, did_you_mean
from .source import LMap
from .torch_ops import TorchOp, parse, resolve

#: expect key -> what it compares (a `Totals` attribute, or the last output's shape)
EXPECT_KEYS: dict[str, str] = {
    "params": "all parameters, trainable + non-trainable (BatchNorm running statistics included)",
    "trainable_params": "trainable parameters (what torchvision's num_params and Keras' 'Trainable params' count)",
    "non_trainable_params": "non-trainable parameters (BatchNorm running mean and variance)",
    "macs": "conv and dense multiply-accumulates, bias excluded (torchvision's 'GFLOPS', fvcore, thop)",
    "flops": "2 x MACs",
    "activation_bytes": "every layer's output held at once, times the dtype size, over the batch",
    "peak_activation_bytes": "the peak activation memory of an inference pass (archcalc.memory.peak)",
    "output_shape": "the shape of the last output, e.g. [1000] or [28, 28, 256]",
}
#: budget key -> the total it bounds from above
BUDGET_KEYS: dict[str, str] = {
    "max_params": "params",
    "max_macs": "macs",
    "max_activation_bytes": "activation_bytes",
    "max_peak_activation_bytes": "peak_activation_bytes",
}
ENTRY_KEYS = ("value", "source", "tolerance")
#: The key, in `expect:` and in `budget:`, of the figures other tools print (by profile name).
CONVENTIONS = "conventions"
#: The key, inside a `conventions:` block, of the torch op that computes a layer (layer -> op).
TORCH_OPS = "torch_ops"
#: The figures a `--convention` makes mean that tool's count instead of archcalc's MACs.
CONVENTION_KEYS = ("macs", "max_macs")
#: The key, in `expect:` and in `budget:`, of a training step's figures (archcalc.training).
TRAINING = "training"
#: What a `training:` entry says of its step (the command line's --batch, --optimizer, --amp and
#: --checkpoint, then the defaults, fill what it leaves out); `memory` is for `min_fit_batch`.
TRAINING_SETTING = ("batch", "optimizer", "amp", "checkpoint", "memory")
#: expect.training figure -> what it compares (a `training.Step` total)
TRAINING_EXPECT: dict[str, str] = {
    "saved_bytes": "what autograd keeps for the backward (distinct storages, parameters and buffers left out)",
    "peak_bytes": "the peak memory of the step (training.schedule)",
    "backward_macs": "the MACs of the backward (activations' and weights' gradients)",
    "step_macs": "forward + backward MACs (+ checkpointed blocks run again)",
    "grad_bytes": "the weights' gradients",
    "optimizer_bytes": "the optimizer's state",
}
#: budget.training key -> the figure it bounds from above (`min_fit_batch` bounds from below)
TRAINING_BUDGET: dict[str, str] = {
    "max_peak_bytes": "peak_bytes", "max_saved_bytes": "saved_bytes", "max_step_macs": "step_macs",
    "min_fit_batch": "fit_batch",
}
_HWC = re.compile(r"^\s*\d+(\s*[x×X]\s*\d+)*\s*$")

PASS, FAIL, INVALID, UNCHECKED, LIBRARY = "pass", "fail", "invalid", "unchecked", "library"


@dataclass(frozen=True, slots=True)
class Expectation:
    """One declared figure: `key` must come out as `value` (within `tolerance`)."""

    key: str
    value: int | tuple[int, ...]
    source: str
    tolerance: int
    loc: Location
    convention: str | None = None  # `expect.conventions.NAME`: that tool's count


@dataclass(frozen=True, slots=True)
class Budget:
    """One design constraint: the total `metric` must not exceed `limit`."""

    key: str
    metric: str
    limit: int
    loc: Location
    convention: str | None = None  # `budget.conventions.NAME`: that tool's count


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
    convention: str | None = None  # the profile the computed figure is counted under
    at: str | None = None          # peak figures: the node running when the peak is reached
    setting: str | None = None     # training figures: the step's batch, optimizer, ...

    @property
    def difference(self) -> int | None:
        """computed - declared (None for shapes)."""
        if isinstance(self.declared, int) and isinstance(self.computed, int):
            return self.computed - self.declared
        return None

    @property
    def label(self) -> str:
        """The key as the user wrote it, and the tool whose count `macs` stands for under --convention."""
        if self.convention and not self.key.startswith(CONVENTIONS + "."):
            return f"{self.key} as {self.convention} counts"
        if self.setting:
            return f"{self.key} ({self.setting})"
        return self.key

    def describe(self) -> str:
        at = f"; peak at {self.at}" if self.at else ""
        if self.kind == "budget" and self.key.endswith("min_fit_batch"):
            d = self.difference or 0
            verdict = f"short by {-d:,}" if d < 0 else f"headroom {d:,}"
            return f"{self.label}: largest batch that fits {self.computed:,}, at least {self.declared:,} ({verdict})"
        if self.kind == "budget":
            d = self.difference or 0
            verdict = f"over by {d:,}" if d > 0 else f"headroom {-d:,}"
            return f"{self.label}: computed {self.computed:,}, budget {self.declared:,} ({verdict}{at})"
        if self.key == "output_shape":
            return (f"output_shape: declared {_shape(self.declared)}, computed {_shape(self.computed)} "
                    f"(source: {self.source})")
        d = self.difference or 0
        tol = f", tolerance {self.tolerance:,}" if self.tolerance else ""
        return (f"{self.label}: declared {self.declared:,}, computed {self.computed:,}, "
                f"difference {d:+,}{tol} (source: {self.source}{at})")

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "ok": self.ok,
                "declared": list(self.declared) if isinstance(self.declared, tuple) else self.declared,
                "computed": list(self.computed) if isinstance(self.computed, tuple) else self.computed,
                "difference": self.difference, "tolerance": self.tolerance, "source": self.source,
                "convention": self.convention, "at": self.at, "location": str(self.loc),
                **({"setting": self.setting} if self.setting else {})}


@dataclass
class CheckResult:
    """A spec's verdict: its findings, or the error that made it invalid."""

    path: str
    name: str = ""
    findings: list[Finding] = field(default_factory=list)
    error: ArchcalcError | None = None
    #: the variant checked (None: the spec's default setting)
    variant: str | None = None
    #: a block library (blocks only, what `include:` names): structure checked, no figures
    library: bool = False
    #: profile name -> {tool, headline, total, breakdown, torch_ops}: every convention this spec was
    #: checked under (its `conventions:` entries and the --convention asked for)
    conventions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the part of the caller's `torch` (--torch-op) this spec has layers for
    torch_applied: dict[str, str] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        """The path as given on the command line: `specs/densenet.yaml@densenet161`."""
        return self.path if self.variant is None else f"{self.path}@{self.variant}"

    @property
    def status(self) -> str:
        if self.error is not None:
            return INVALID
        if self.library:
            return LIBRARY
        if not self.findings:
            return UNCHECKED
        return PASS if all(f.ok for f in self.findings) else FAIL

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "variant": self.variant, "name": self.name,
                             "status": self.status, "checks": [f.to_dict() for f in self.findings]}
        if self.conventions:
            d["conventions"] = self.conventions
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
        parts = re.split(r"\s*[x×X]\s*", v.strip())
        if any(len(x) > 19 for x in parts):  # past 2^63 - 1 (and int() refuses 4,300 digits)
            raise SpecError("output_shape value has a size larger than the largest archcalc accepts, 2^63 - 1", loc)
        return tuple(int(x) for x in parts)
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return (v,)
    if isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
        return tuple(v)
    raise SpecError(f"output_shape value must be a list of positive sizes such as [1000] or [28, 28, 256], "
                    f"received {describe(v)}", loc, "or write it as text: 28x28x256")


def _misplaced(key: Any, budget: bool) -> str | None:
    """A hint when a top-level expect/budget key names a tool (`torchinfo`, `thop_macs`,
    `max_fvcore_macs`): its figure belongs under `conventions:`."""
    from .profiles import PROFILES
    k = str(key).lower()
    k = k.removeprefix("max_")
    for suffix in ("_macs", "_flops", "_total", "_ops"):
        k = k.removesuffix(suffix)
    k = k.replace("_", "-")
    if k not in PROFILES:
        return None
    if budget:
        return f"a bound on {k}'s count goes under `conventions:`: budget: {{conventions: {{{k}: 5_000_000_000}}}}"
    return (f"{k}'s figure goes under `conventions:`: "
            f"expect: {{conventions: {{{k}: {{value: ..., source: \"...\"}}}}}}")


def _entry(where: str, key: str, entry: Any, loc: Location, convention: str | None = None) -> Expectation:
    """One `{value, source, tolerance}` entry, located at `where` (e.g. `expect.macs`)."""
    if not isinstance(entry, LMap):
        raise SpecError(f"{where} is a mapping {{value: ..., source: \"...\"}}, received {describe(entry)}",
                        loc, "every expected figure names where it comes from: "
                             f"{key}: {{value: ..., source: \"paper, table 1\"}}")
    for k in entry:
        if k not in ENTRY_KEYS:
            raise SpecError(f"{where}: unknown key '{k}'", entry.key_at(k), did_you_mean(k, ENTRY_KEYS))
    if "value" not in entry:
        raise SpecError(f"{where} has no `value`", entry.loc, f"add `value: ...` to {where}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise SpecError(f"{where} names no `source`" if source is None else
                        f"{where}: `source` must be non-empty text, received {describe(source)}",
                        entry.at("source") if "source" in entry else entry.loc,
                        "say where the figure comes from, e.g. source: \"torchvision resnet50 num_params\"")
    tol = 0
    if "tolerance" in entry:
        if key == "output_shape":
            raise SpecError("expect.output_shape takes no `tolerance`: a shape matches exactly",
                            entry.key_at("tolerance"))
        tol = _count(entry["tolerance"], f"{where}.tolerance", entry.at("tolerance"))
    if key == "output_shape":
        value: int | tuple[int, ...] = _shape_value(entry["value"], entry.at("value"))
    else:
        value = _count(entry["value"], f"{where}.value", entry.at("value"))
    return Expectation(key, value, source.strip(), tol, entry.at("value"), convention)


def _conventions_block(parent: LMap, where: str) -> LMap | None:
    """`expect.conventions` or `budget.conventions`: a mapping of profile name (or `torch_ops`) -> ..."""
    from .profiles import NAMES
    raw = parent.get(CONVENTIONS)
    if raw is None:
        return None
    if not isinstance(raw, LMap):
        raise SpecError(f"{where}.{CONVENTIONS} is a mapping of tool -> figure, received {describe(raw)}",
                        parent.at(CONVENTIONS), f"tools: {', '.join(NAMES)}; and {TORCH_OPS}: {{layer: op}}")
    for k in raw:
        if k != TORCH_OPS and k not in NAMES:
            raise SpecError(f"{where}.{CONVENTIONS}: unknown convention '{k}'", raw.key_at(k),
                            did_you_mean(k, (*NAMES, TORCH_OPS), "conventions"))
    return raw


def parse_expect(root: LMap) -> list[Expectation]:
    """The `expect:` block of a spec's located tree ([] when absent); SpecError when malformed."""
    raw = root.get("expect")
    if raw is None:
        return []
    if not isinstance(raw, LMap):
        raise SpecError(f"`expect` is a mapping of figure -> {{value, source}}, received {describe(raw)}",
                        root.at("expect"), f"figures: {', '.join(EXPECT_KEYS)}, {CONVENTIONS}")
    out: list[Expectation] = []
    for key, entry in raw.items():
        if key == CONVENTIONS:
            block = _conventions_block(raw, "expect")
            out += [_entry(f"expect.{CONVENTIONS}.{name}", f"{CONVENTIONS}.{name}", e, block.at(name), name)
                    for name, e in (block or {}).items() if name != TORCH_OPS]
            continue
        if key == TRAINING:
            continue  # parse_training
        if key not in EXPECT_KEYS:
            raise SpecError(f"expect: unknown figure '{key}'", raw.key_at(key),
                            _misplaced(key, False) or did_you_mean(key, (*EXPECT_KEYS, CONVENTIONS, TRAINING)))
        out.append(_entry(f"expect.{key}", key, entry, raw.at(key)))
    return out


def parse_budget(root: LMap) -> list[Budget]:
    """The `budget:` block of a spec's located tree ([] when absent); SpecError when malformed."""
    raw = root.get("budget")
    if raw is None:
        return []
    if not isinstance(raw, LMap):
        raise SpecError(f"`budget` is a mapping such as {{max_macs: 5000000000}}, received {describe(raw)}",
                        root.at("budget"), f"keys: {', '.join(BUDGET_KEYS)}, {CONVENTIONS}")
    out = []
    for key, limit in raw.items():
        if key == CONVENTIONS:
            block = _conventions_block(raw, "budget")
            out += [Budget(f"{CONVENTIONS}.{name}", "convention",
                           _count(v, f"budget.{CONVENTIONS}.{name}", block.at(name), allow_zero=False),
                           block.at(name), name)
                    for name, v in (block or {}).items() if name != TORCH_OPS]
            continue
        if key == TRAINING:
            continue  # parse_training
        if key not in BUDGET_KEYS:
            raise SpecError(f"budget: unknown key '{key}'", raw.key_at(key),
                            _misplaced(key, True) or did_you_mean(key, (*BUDGET_KEYS, CONVENTIONS, TRAINING)))
        out.append(Budget(key, BUDGET_KEYS[key], _count(limit, f"budget.{key}", raw.at(key), allow_zero=False),
                          raw.at(key)))
    return out


@dataclass(frozen=True, slots=True)
class TrainingCheck:
    """One `training:` entry of `expect:` or `budget:`: its step's setting (None: the command line's or
    the default) and the figures declared or bounded for it."""

    batch: int | None
    optimizer: str | None
    amp: bool | None
    checkpoint: tuple[str, ...] | None
    memory: int | None
    expectations: tuple[Expectation, ...]
    budgets: tuple[Budget, ...]
    loc: Location


def _training_entry(where: str, m: Any, loc: Location, budget: bool) -> TrainingCheck:
    from .training import OPTIMIZERS
    if not isinstance(m, LMap):
        example = "max_peak_bytes: 24_000_000_000" if budget else "saved_bytes: {value: ..., source: ...}"
        raise SpecError(f"{where} is a mapping such as {{batch: 32, optimizer: adam, {example}}}, "
                        f"received {describe(m)}", loc)
    figures = TRAINING_BUDGET if budget else TRAINING_EXPECT
    setting: dict[str, Any] = {}
    exps: list[Expectation] = []
    buds: list[Budget] = []
    for key, v in m.items():
        at = m.at(key)
        if key == "batch" or key == "memory":
            setting[key] = _count(v, f"{where}.{key}", at, allow_zero=False)
        elif key == "optimizer":
            if v not in OPTIMIZERS:
                raise SpecError(f"{where}.optimizer: expected one of {', '.join(OPTIMIZERS)}, received {describe(v)}",
                                at, did_you_mean(str(v), tuple(OPTIMIZERS)))
            setting[key] = v
        elif key == "amp":
            if not isinstance(v, bool):
                raise SpecError(f"{where}.amp: expected true or false, received {describe(v)}", at)
            setting[key] = v
        elif key == "checkpoint":
            items = v if isinstance(v, list) else [v]
            if not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in items):
                raise SpecError(f"{where}.checkpoint: a depth or a pattern over block instances (or a list of them), "
                                f"received {describe(v)}", at)
            setting[key] = tuple(str(x) for x in items)
        elif key in figures:
            if budget:
                buds.append(Budget(f"{TRAINING}.{key}", figures[key], _count(v, f"{where}.{key}", at, allow_zero=False),
                                   at))
            else:
                exps.append(_entry(f"{where}.{key}", key, v, at))
        else:
            raise SpecError(f"{where}: unknown key '{key}'", m.key_at(key),
                            did_you_mean(key, (*TRAINING_SETTING, *figures)))
    if budget and any(b.key.endswith("min_fit_batch") for b in buds) and "memory" not in setting:
        raise SpecError(f"{where}.min_fit_batch needs the memory it must fit in", m.loc,
                        "add `memory: 25_769_803_776` (bytes: 24 GiB)")
    if not exps and not buds:
        raise SpecError(f"{where} declares no figure", m.loc,
                        f"figures: {', '.join(figures)}")
    return TrainingCheck(setting.get("batch"), setting.get("optimizer"), setting.get("amp"), setting.get("checkpoint"),
                         setting.get("memory"), tuple(exps), tuple(buds), m.loc)


def parse_training(root: LMap) -> list[TrainingCheck]:
    """The `training:` entries of `expect:` and `budget:` (a mapping, or a list of them, each one step)."""
    out: list[TrainingCheck] = []
    for top, budget in (("expect", False), ("budget", True)):
        parent = root.get(top)
        if not isinstance(parent, LMap) or TRAINING not in parent:
            continue
        raw = parent[TRAINING]
        where = f"{top}.{TRAINING}"
        if isinstance(raw, list):
            out += [_training_entry(f"{where}[{i}]", m, raw.at(i), budget) for i, m in enumerate(raw)]
        else:
            out.append(_training_entry(where, raw, parent.at(TRAINING), budget))
    return out


def evaluate_training(spec: Any, checks: list[TrainingCheck], *, defaults: Any = None, batch: int | None = None,
                      torch: Mapping[str, str] | None = None, **kw: Any) -> list[Finding]:
    """The training entries' findings: each step computed at its own setting (`defaults`, a
    `training.Options`, and `batch` fill what an entry leaves out)."""
    from . import analyze
    from .fit import fit
    from .training import DEFAULT_OPTIMIZER, Options, describe, step, where
    if not checks:
        return []
    an = analyze(spec, training=True, **kw)
    out: list[Finding] = []
    for c in checks:
        d = defaults or Options()
        o = Options(c.optimizer or d.optimizer or DEFAULT_OPTIMIZER, d.amp if c.amp is None else c.amp,
                    d.checkpoint if c.checkpoint is None else c.checkpoint)
        b = c.batch or batch or an.batch
        s = step(an, o, torch=torch, batch=b)
        setting = f"batch {b}, {describe(o, an.dtype)}"

        def figure(key: str, s: Any = s) -> int:
            return s.peak.bytes if key == "peak_bytes" else int(getattr(s, key))
        for e in c.expectations:
            v = figure(e.key)
            out.append(Finding(f"{TRAINING}.{e.key}", "expect", e.value, v, abs(v - e.value) <= e.tolerance,  # type: ignore[operator]
                               e.loc, e.tolerance, e.source, setting=setting,
                               at=where(s.peak).removeprefix("at ") if e.key == "peak_bytes" else None))
        for bud in c.budgets:
            if bud.metric == "fit_batch":
                f = fit(an, c.memory or 0, o, torch=torch)
                fit_setting = f"in {c.memory:,} B, {describe(o, an.dtype)}"
                out.append(Finding(bud.key, "budget", bud.limit, f.batch, f.batch >= bud.limit, bud.loc,
                                   setting=fit_setting))
                continue
            v = figure(bud.metric)
            out.append(Finding(bud.key, "budget", bud.limit, v, v <= bud.limit, bud.loc, setting=setting,
                               at=where(s.peak).removeprefix("at ") if bud.metric == "peak_bytes" else None))
    return out


def parse_torch_ops(root: LMap) -> list[TorchOp]:
    """The spec's `torch_ops:` entries (top level, then the `conventions:` blocks of `expect:` and
    `budget:`), in order; a selector given two different ops is an error at the second."""
    return parse(root)


def spec_torch(an: Any, ops: list[TorchOp]) -> dict[str, str]:
    """The spec's torch ops resolved to layer paths, each checked against the network (a located
    SpecError for a path it lacks, an unknown kind or an op a selected layer cannot be)."""
    return resolve(an, ops)


def evaluate(analysis: Any, expectations: list[Expectation], budgets: list[Budget], *,
             convention: str | None = None, torch: Mapping[str, str] | None = None) -> list[Finding]:
    """Compare an Analysis' totals, peak and last output shape with the declared figures.

    `conventions:` entries are counted under their own profile; with `convention`, `macs` and
    `max_macs` are counted under that one. `torch` names the torch op of layers for every profile.
    """
    from . import memory, profiles
    t = analysis.totals
    counts: dict[str, int] = {}   # profile -> its total, each computed once and only when asked for
    peaks: list[Any] = []

    def figure(metric: str, conv: str | None) -> tuple[int, str | None, str | None]:
        """(computed value, the profile it is counted under, where the peak is)."""
        if conv is not None:
            if conv not in counts:
                counts[conv] = profiles.total(analysis, conv, torch=torch)
            return counts[conv], conv, None
        if metric == "peak_activation_bytes":
            peaks[:] = peaks or [memory.peak_detail(analysis)]
            return peaks[0].bytes, None, peaks[0].at
        return getattr(t, metric), None, None

    out: list[Finding] = []
    for e in expectations:
        if e.key == "output_shape":
            shape = tuple(analysis.outputs[-1].output_shape)
            out.append(Finding(e.key, "expect", e.value, shape, shape == e.value, e.loc, 0, e.source))
            continue
        conv = e.convention or (convention if e.key in CONVENTION_KEYS else None)
        computed, conv, at = figure(e.key, conv)
        ok = abs(computed - e.value) <= e.tolerance  # type: ignore[operator]
        out.append(Finding(e.key, "expect", e.value, computed, ok, e.loc, e.tolerance, e.source, conv, at))
    for b in budgets:
        conv = b.convention or (convention if b.key in CONVENTION_KEYS else None)
        computed, conv, at = figure(b.metric, conv)
        out.append(Finding(b.key, "budget", b.limit, computed, computed <= b.limit, b.loc, convention=conv, at=at))
    return out


def convention_figures(analysis: Any, names: Iterable[str], torch: Mapping[str, str] | None) -> dict[str, Any]:
    """profile name -> what a report shows of it: the tool, its headline, total, breakdown, and the torch
    ops it was counted with (the spec's own `torch_ops:` and the `torch` that wins over them)."""
    from .profiles import PROFILES, breakdown, torch_selectors
    out: dict[str, Any] = {}
    for name in names:
        p = PROFILES[name]
        b = breakdown(analysis, name, torch=torch)
        out[name] = {"tool": p.tool, "headline": p.headline, "total": sum(b.values()), "breakdown": b,
                     "torch_ops": torch_selectors(analysis, torch)}
    return out


def check_spec(spec: Any, *, overrides: dict[str, Any] | None = None, input_shape: tuple[int, ...] | None = None,
               batch: int | None = None, dtype: str = "float32", limits: Any = None,
               convention: str | None = None, torch: Mapping[str, str] | None = None,
               variant: str | None = None, training: bool = False, step: Any = None) -> CheckResult:
    """Load (if a path), analyse and check one spec. Raises ArchcalcError when the spec is invalid.

    `variant` checks that variant against its own `expect:` and `budget:` blocks (the default
    setting: the top-level ones). `convention` counts `macs` and `max_macs` as that tool would;
    `torch` (selector -> torch op, as --torch-op) applies to the layers this spec has and wins over
    the spec's own `torch_ops:` (a variant's own win over the top-level ones). `training` checks
    the figures of a training pass (--train). `training:` entries are each checked at their own step
    (`step`, a `training.Options`, and `batch` fill what an entry leaves out).
    """
    from . import analyze, load
    from .profiles import torch_for
    from .spec import Spec, split_selector
    if not isinstance(spec, Spec):
        path, named, sets = split_selector(str(spec))
        if sets:
            raise SpecError(f"{spec}: check_spec takes SPEC or SPEC@VARIANT; pass settings as overrides")
        spec, variant = load(path), variant or named
    v = spec.variant(variant)
    root = spec.root if v is None else v.root
    expectations = parse_expect(root)
    budgets = parse_budget(root)
    an = analyze(spec, overrides=overrides, input_shape=input_shape, batch=batch, dtype=dtype, limits=limits,
                 variant=variant, training=training)
    applied = torch_for(an, torch)
    # a wrong entry is an error even where no convention is counted (the top level's, then the variant's)
    spec_torch(an, parse_torch_ops(spec.root))
    if v is not None:
        spec_torch(an, parse_torch_ops(v.root))
    findings = evaluate(an, expectations, budgets, convention=convention, torch=applied)
    findings += evaluate_training(spec, parse_training(root), defaults=step, batch=batch, torch=applied,
                                  overrides=overrides, input_shape=input_shape, dtype=dtype, limits=limits,
                                  variant=variant)
    used = [f.convention for f in findings if f.convention]
    names = list(dict.fromkeys([convention, *used] if convention else used))  # in order, once each
    return CheckResult(spec.path, an.name, findings, conventions=convention_figures(an, names, applied),
                       torch_applied=applied, variant=variant)


def settings(spec: Any) -> list[str | None]:
    """What `archcalc check` holds a spec to: each variant, and the default setting when the
    top level declares figures or budgets, or the spec has no variants (None stands for it)."""
    own = "expect" in spec.root or "budget" in spec.root or not spec.variants
    return ([None] if own else []) + list(spec.variants)


def discover(paths: Iterable[str | Path]) -> list[str]:
    """Spec files named by `paths`: files as given, folders searched recursively for *.yaml / *.yml
    (hidden files and folders skipped), each folder's files in sorted order."""
    out: list[str] = []
    for p in paths:
        s = str(p)
        path = Path(s)
        if not s:  # Path('') is '.': an empty argument would check every spec below here
            raise SpecError("an empty path", hint="name a spec file or a folder ('.' for this one)")
        if s != "-" and _is_dir(path):
            found = sorted(f for f in path.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            if not found:
                raise SpecError(f"no spec files (*.yaml, *.yml) under {s}")
            out.extend(str(f) for f in found)
        else:
            out.append(s)
    return out


def _is_dir(path: Path) -> bool:
    """Whether `path` is a folder; a name the file system refuses (too long) is taken as a file,
    whose reading then says what is wrong with it."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def is_spec_text(root: Any) -> bool:
    """Whether a YAML document is an archcalc spec: a mapping with `layers:` and either `input:`
    or a layer with a `kind:`. Other YAML (CI workflows, a tile set's `layers:`) is not judged
    by `--skip-non-specs`; a spec missing one of the two is still judged, and told what it lacks."""
    if not isinstance(root, dict) or "layers" not in root:
        return False
    layers = root["layers"]
    return "input" in root or (isinstance(layers, list) and any(isinstance(x, dict) and "kind" in x for x in layers))


_SPEC_LINES = re.compile(r"^layers\s*:", re.M), re.compile(r"^input\s*:|^\s*(-\s*)?\{?\s*kind\s*:", re.M)


def looks_like_spec(path: str) -> bool:
    """For a file that does not read as YAML: whether its text has a top-level `layers:` line and
    an `input:` line or a `kind:` key, as a spec with a syntax error would (a template with
    `{{ ... }}` or another tool's broken file would not)."""
    from .source import MAX_BYTES
    try:
        with open(path, "rb") as f:
            text = f.read(MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return True  # unreadable: let the check say why
    return all(r.search(text) for r in _SPEC_LINES)


def check_paths(paths: Iterable[str | Path], *, skip_non_specs: bool = False, **kw: Any) -> list[CheckResult]:
    """Check every spec under `paths`, in each of its settings (`settings`; `SPEC@VARIANT` checks
    that one); an invalid spec becomes a result with `error`, never an exception. A block library
    is checked for its structure and reported as such."""
    from .source import load_source
    from .spec import from_source, split_selector
    results: list[CheckResult] = []
    files: list[tuple[str, str | None]] = []
    for given in paths:
        path, variant, sets = split_selector(str(given))
        try:
            if sets:
                raise SpecError(f"{given}: check takes SPEC or SPEC@VARIANT; set variables with --set",
                                hint="a variant's figures are declared for its own settings")
            files.extend((f, variant) for f in discover([path]))
        except ArchcalcError as e:
            results.append(CheckResult(str(given), error=e))
    for p, variant in files:
        try:
            try:
                src = load_source(p)  # always a path (or '-'), never YAML text
            except ArchcalcError:
                if skip_non_specs and p != "-" and not looks_like_spec(p):
                    continue
                raise
            if skip_non_specs and not is_spec_text(src.root):
                continue
            spec = from_source(src)
        except ArchcalcError as e:
            results.append(CheckResult(p if p != "-" else "<stdin>", error=e, variant=variant))
            continue
        if spec.is_library:
            n = len(spec.blocks)
            results.append(CheckResult(spec.path, f"block library of {n} block{'s' * (n != 1)}", library=True))
            continue
        for v in [variant] if variant is not None else settings(spec):
            try:
                results.append(check_spec(spec, variant=v, **kw))
            except ArchcalcError as e:
                results.append(CheckResult(spec.path, error=e, variant=v))
    return results


def exit_code(results: list[CheckResult]) -> int:
    """1 if any spec is invalid, else 3 if any figure differs or budget is exceeded, else 0."""
    if any(r.status == INVALID for r in results):
        return 1
    if any(r.status == FAIL for r in results):
        return 3
    return 0


__all__ = ["BUDGET_KEYS", "CONVENTIONS", "CONVENTION_KEYS", "EXPECT_KEYS", "TORCH_OPS", "TRAINING", "TRAINING_BUDGET",
           "TRAINING_EXPECT", "Budget", "CheckResult", "Expectation", "Finding", "TorchOp", "TrainingCheck",
           "check_paths", "check_spec", "convention_figures", "discover", "evaluate", "evaluate_training",
           "exit_code", "parse_budget", "parse_expect", "parse_torch_ops", "parse_training", "settings",
           "spec_torch"]
