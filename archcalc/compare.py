"""Several analyses side by side: totals with exact ratios to the first, and layers aligned by name.

    from archcalc import analyze
    from archcalc.compare import compare
    c = compare([analyze("specs/examples/conv_standard.yaml"),
                 analyze("specs/examples/conv_separable.yaml")])
    c.ratio("macs", 1)            # Fraction(14, 45): 672 / 2160
    c.ratio_text("macs", 1)       # '672 / 2,160 = 14/45 = 1/5 + 1/9 = 0.311 (3.21x fewer)'

Ratios are `fractions.Fraction`s, exact; a float appears only in the text, beside the fraction.

With `convention=` (archcalc.profiles) each spec also gets what that tool would print, as a total
with its ratio, per layer, and category by category (`explain_grid`), so two networks can be
compared the way a team's tool counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from . import textable
from .analysis import Analysis, Row
from .errors import SpecError, did_you_mean
from .report import CONVENTIONS, SCHEMA_VERSION
from .report import jsonable as _jsonable
from .textable import Column, Line, grid

#: (key, label) of the totals compared, in the order of JSON and CSV (new keys come last, so a
#: reader of the columns by position keeps its columns). `torch_params` is the headline, the
#: parameters PyTorch counts; `params` adds the buffers (BatchNorm running statistics), as Keras.
METRICS: tuple[tuple[str, str], ...] = (
    ("params", "params + buffers"),
    ("trainable_params", "trainable params"),
    ("macs", "MACs"),
    ("flops", "FLOPs (2 x MACs)"),
    ("param_bytes", "param memory (B)"),
    ("activation_bytes", "activation memory (B)"),
    ("peak_activation_bytes", "peak activation (B)"),
    ("torch_params", "params"),
    ("buffers", "buffers"),
)
#: The order the text table shows the totals in: the headline first.
_TEXT_ORDER = ("torch_params", "buffers", "params")
#: The metric key of a convention profile's total (present when the comparison has a convention).
CONVENTION_TOTAL = "convention_total"
#: A training step's totals (present with --train: archcalc.training), (key, label); the key is the
#: `training.Step` attribute (`peak_bytes`: its peak's bytes).
TRAINING_METRICS: tuple[tuple[str, str], ...] = (
    ("backward_macs", "backward MACs"),
    ("step_macs", "training step MACs"),
    ("saved_bytes", "saved activations (B)"),
    ("optimizer_bytes", "optimizer state (B)"),
    ("peak_bytes", "peak training memory (B)"),
)
#: A ratio whose reduced denominator is below this is also shown as a fraction (14/45).
SMALL_DENOMINATOR = 1000
#: Totals the text table leaves out: trainable params equal params (archcalc's only non-trainable
#: weights are the buffers); buffers and params + buffers are shown when a spec has buffers.
_TEXT_SKIP = ("trainable_params",)
_TEXT_IF_BUFFERS = ("buffers", "params")
#: How the layers table of `compare` fits a narrow terminal (textable.layout): figures rounded,
#: names over 18 characters shortened in the middle, every spec's `output` left out, names
#: shortened further.
LAYERS_PLAN: tuple[tuple[object, ...], ...] = (("compact",), ("names", 18), ("drop", "output"), ("names", 12))


def ratio(num: int, den: int) -> Fraction | None:
    """num / den exactly, or None when den is 0."""
    return Fraction(num, den) if den else None


def ratio_text(num: int, den: int, identity: str | None = None) -> str:
    """`12,443,648 / 120,422,400 = 0.103 (9.68x fewer)`; `672 / 2,160 = 14/45 = 0.311 (3.21x fewer)`."""
    if den == 0:
        return "-" if num == 0 else f"{num:,} / 0 (first is 0)"
    f = Fraction(num, den)
    parts = [f"{num:,} / {den:,}"]
    if f.denominator == 1:
        parts.append(f"{f.numerator}")
    else:
        if f.denominator < SMALL_DENOMINATOR:
            parts.append(f"{f.numerator}/{f.denominator}")
        if identity:
            parts.append(identity)
        parts.append(f"{float(f):.3g}")
    if f == 1:
        saving = "same"
    elif f == 0:
        saving = "none"
    elif f < 1:
        saving = f"{float(1 / f):.3g}x fewer"
    else:
        saving = f"{float(f):.3g}x more"
    return " = ".join(parts) + f" ({saving})"


def saving_text(num: int, den: int) -> str:
    """The short form of `ratio_text` for a narrow terminal: `9.68x fewer`, `same`."""
    text = ratio_text(num, den)
    return text[text.rindex("(") + 1:-1] if text.endswith(")") else text


def fraction_json(f: Fraction | None) -> Any:
    """A ratio for JSON: {"fraction": "14/45", "value": 0.3111}, or null."""
    if f is None:
        return None
    return {"fraction": f"{f.numerator}/{f.denominator}", "value": float(f)}


@dataclass(frozen=True)
class Entry:
    """One side of a comparison: an analysis and how the user named it."""

    label: str                 # "A", "B", ...
    analysis: Analysis
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """`MobileNet-v1 (alpha=0.5)`: the spec's name and the variables set for it."""
        sets = ", ".join(f"{k}={_show(v)}" for k, v in self.overrides.items())
        return self.analysis.name + (f" ({sets})" if sets else "")


@dataclass(frozen=True)
class Aligned:
    """One layer (or folded block) name and each spec's row of that name (None where absent)."""

    name: str
    rows: tuple[Row | None, ...]


@dataclass
class Comparison:
    """Analyses side by side; the first is the reference every ratio is taken against.

    `convention` adds a profile's count (archcalc.profiles); `torch` names the torch op of layers
    by path, each spec taking the layers it has (`profiles.torch_for`).
    """

    entries: list[Entry]
    convention: str | None = None
    torch: dict[str, str] | None = None
    #: with `training.Options` (--train), each spec's training step is compared too
    training: Any = None
    _layers: list[list[dict[str, int]]] = field(default_factory=list, repr=False)
    _peaks: dict[int, Any] = field(default_factory=dict, repr=False)
    _steps: dict[int, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.convention is None:
            return
        from . import profiles
        from .torch_ops import level
        for path, op in (self.torch or {}).items():
            if not any(profiles.torch_for(an, {path: op}) for an in self.analyses):
                names = sorted({r.name for an in self.analyses for r in an.rows})
                what = f"a layer named {path!r}" if level(path) == 2 else f"a layer that {path!r} selects"
                raise SpecError(f"--torch-op {path}={op}: no spec has {what}",
                                hint=did_you_mean(path, names, "layers") if level(path) == 2 else None)
        for e in self.entries:
            try:
                self._layers.append(profiles.per_layer(e.analysis, self.convention,
                                                       torch=profiles.torch_for(e.analysis, self.torch)))
            except SpecError as err:
                raise SpecError(f"[{e.label}] {e.analysis.graph.spec.path}: {err.message}", hint=err.hint) from None

    @property
    def analyses(self) -> list[Analysis]:
        return [e.analysis for e in self.entries]

    @property
    def metrics(self) -> list[tuple[str, str]]:
        """(key, label) of the totals compared: METRICS, and the convention's total when set."""
        out = list(METRICS) if self.convention is None else [*METRICS, (CONVENTION_TOTAL, f"{self.convention} total")]
        return out + (list(TRAINING_METRICS) if self.training is not None else [])

    def step(self, i: int) -> Any:
        """Spec i's `training.Step` (computed once; needs `training`)."""
        if i not in self._steps:
            from .profiles import torch_for
            from .training import step
            an = self.entries[i].analysis
            self._steps[i] = step(an, self.training, torch=torch_for(an, self.torch))
        return self._steps[i]

    def peak(self, i: int) -> Any:
        """Spec i's `memory.Peak` (computed once)."""
        if i not in self._peaks:
            from .memory import peak_detail
            self._peaks[i] = peak_detail(self.entries[i].analysis)
        return self._peaks[i]

    def layer_counts(self, i: int) -> list[dict[str, int]]:
        """Spec i's `profiles.per_layer` under the convention (unfolded rows)."""
        if self.convention is None:
            raise ValueError("this comparison has no convention")
        return self._layers[i]

    def breakdown(self, i: int) -> dict[str, int]:
        """Spec i's convention total by category, in the profile's order (`profiles.breakdown`)."""
        from .profiles import sum_layers
        return sum_layers(self.convention or "", self.layer_counts(i))

    def row_count(self, i: int, row: Row) -> int:
        """Spec i's convention count for one row of its table (a folded block sums its layers)."""
        from .profiles import row_total
        return row_total(self.entries[i].analysis, row, self.layer_counts(i))

    def value(self, metric: str, i: int) -> int:
        if metric == "peak_activation_bytes":
            return int(self.peak(i).bytes)
        if metric == CONVENTION_TOTAL:
            return sum(self.breakdown(i).values())
        if self.training is not None and metric in dict(TRAINING_METRICS):
            s = self.step(i)
            return s.peak.bytes if metric == "peak_bytes" else int(getattr(s, metric))
        return int(getattr(self.entries[i].analysis.totals, metric))

    def ratio(self, metric: str, i: int) -> Fraction | None:
        """Spec i's total over the first spec's, exactly (None when the first's is 0)."""
        return ratio(self.value(metric, i), self.value(metric, 0))

    def identity(self, metric: str, i: int) -> str | None:
        """`1/5 + 1/9` when spec i is the depthwise separable form of the first's one convolution."""
        if metric not in ("macs", "flops") or i == 0:
            return None
        return separable_identity(self.entries[0].analysis, self.entries[i].analysis)

    def ratio_text(self, metric: str, i: int) -> str:
        return ratio_text(self.value(metric, i), self.value(metric, 0), self.identity(metric, i))

    def aligned(self, depth: int | None = None) -> list[Aligned]:
        """Rows matched by name across the specs, in the first spec's order; names the first
        lacks are placed after the nearest name before them in their own spec."""
        # A linked list of names (name -> the next one), so that finding a name and inserting
        # after it cost O(1): list.index and list.insert made 19,683 layers take 10 s (issue 15).
        # Within one spec's pass the cursor only jumps to that spec's own names, each once, so
        # every other spec's name is stepped over at most once: linear in all.
        per = [{r.name: r for r in an.folded(depth)} for an in self.analyses]
        head: Any = object()
        after: dict[Any, Any] = {head: None}
        for names in per:
            at = head
            for name in names:
                if name in after:
                    at = name
                    continue
                while after[at] is not None and after[at] not in names:  # after the other specs' own rows
                    at = after[at]
                after[name], after[at] = after[at], name
                at = name
        order = []
        name = after[head]
        while name is not None:
            order.append(name)
            name = after[name]
        return [Aligned(n, tuple(p.get(n) for p in per)) for n in order]

    def shared_names(self, depth: int | None = None) -> int:
        """How many names (the input excluded) every spec has."""
        return sum(1 for a in self.aligned(depth) if a.name != "input" and all(r is not None for r in a.rows))

    def to_dict(self, depth: int | None = None, layers: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (schema_version 1); integers stay integers, ratios are exact fractions."""
        from . import memory
        from .profiles import PROFILES, torch_selectors
        first = self.analyses[0]
        specs: list[dict[str, Any]] = []
        for i, e in enumerate(self.entries):
            an = e.analysis
            specs.append({
                "label": e.label, "name": an.name, "path": an.graph.spec.path, "variant": an.graph.variant,
                "training": an.training,
                "overrides": {k: _jsonable(v) for k, v in e.overrides.items()},
                "variables": {k: _jsonable(v) for k, v in an.graph.env.items()},
                "input_shape": list(an.input_shape), "batch": an.batch, "dtype": an.dtype,
                "output_shape": list(an.outputs[-1].output_shape),
                "totals": dict(an.totals.to_dict(), peak_activation_bytes=self.peak(i).bytes,
                               peak_activation_at=self.peak(i).at),
            })
            if self.convention is not None:
                specs[i]["convention"] = {"total": self.value(CONVENTION_TOTAL, i), "breakdown": self.breakdown(i),
                                          "torch_ops": torch_selectors(an, self.torch)}
            if self.training is not None:
                specs[i]["training_step"] = self.step(i).to_dict()
        totals = {}
        for key, _ in self.metrics:
            totals[key] = {
                "values": [self.value(key, i) for i in range(len(self.entries))],
                "ratios": [fraction_json(self.ratio(key, i)) for i in range(len(self.entries))],
            }
            ids = [self.identity(key, i) for i in range(len(self.entries))]
            if any(ids):
                totals[key]["identities"] = ids
        rows = []
        for a in self.aligned(depth) if layers else []:
            rows.append({"name": a.name, "specs": [None if r is None else {
                "kind": r.kind, "output_shape": list(r.output_shape), "params": r.params,
                "macs": r.macs, **({"layers": r.layers} if r.layers != 1 else {}),
                **({"convention_ops": self.row_count(i, r)} if self.convention else {})}
                for i, r in enumerate(a.rows)]})
        extra: dict[str, Any] = {}
        if self.convention is not None:
            p = PROFILES[self.convention]
            extra["convention"] = {"name": p.name, "tool": p.tool, "headline": p.headline, "rules": dict(p.rules),
                                   "torch_ops": dict(self.torch or {})}
        return {
            "schema_version": SCHEMA_VERSION,
            "conventions": dict(CONVENTIONS, ratios="each spec's total over the first spec's, "
                                "as an exact fraction and its float value", dtype=first.dtype,
                                bytes_per_value=first.bytes_per_value, peak_activation_bytes=memory.NOTE),
            **extra,
            "specs": specs,
            "totals": totals,
            **({"layers": rows} if layers else {}),
        }


def compare(analyses: list[Analysis] | list[Entry], labels: list[str] | None = None, *,
            convention: str | None = None, torch: dict[str, str] | None = None, training: Any = None) -> Comparison:
    """Compare analyses (or entries); the first is the reference. Labels default to A, B, C, ...

    `convention` (a name in `profiles.PROFILES`) adds what that tool would count; `torch` maps layer
    paths to torch ops for it. A path no spec has, or an op a layer cannot be, is a SpecError.
    `training` (`training.Options`; the analyses must be training passes) compares a training step's
    totals too.
    """
    if not analyses:
        raise ValueError("compare() needs at least one analysis")
    entries = []
    for i, a in enumerate(analyses):
        if isinstance(a, Entry):
            entries.append(a)
        else:
            entries.append(Entry(labels[i] if labels else label(i), a))
    return Comparison(entries, convention, torch, training)


def label(i: int) -> str:
    """A, B, ..., Z, A2, B2, ..."""
    return chr(ord("A") + i % 26) + (str(i // 26 + 1) if i >= 26 else "")


def _mac_rows(an: Analysis) -> list[Row]:
    return [r for r in an.rows if r.macs]


def separable_identity(standard: Analysis, separable: Analysis) -> str | None:
    """`1/n_c' + 1/f^2` written out (`1/5 + 1/9`) when `standard` is one f x f convolution and
    `separable` is an f x f depthwise convolution then a 1 x 1 convolution giving the same output
    from the same input, and the MACs ratio is exactly that sum (the notes' MobileNet identity)."""
    a, b = _mac_rows(standard), _mac_rows(separable)
    if len(a) != 1 or len(b) != 2 or a[0].node is None or b[0].node is None or b[1].node is None:
        return None
    conv, dw, pw = a[0].node.kind, b[0].node.kind, b[1].node.kind
    if (a[0].kind, b[0].kind, b[1].kind) != ("conv", "depthwise", "conv"):
        return None
    fh, fw = conv.kernel
    if (fh != fw or conv.groups != 1 or dw.kernel != conv.kernel or dw.multiplier != 1
            or pw.kernel != (1, 1) or pw.groups != 1):
        return None
    if a[0].input_shapes != b[0].input_shapes or a[0].output_shape != b[1].output_shape:
        return None
    n = a[0].output_shape[-1]
    if Fraction(separable.totals.macs, standard.totals.macs) != Fraction(1, n) + Fraction(1, fh * fh):
        return None
    return f"1/{n} + 1/{fh * fh}"


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        try:
            return str(float(v))
        except OverflowError:  # exact, and past a float's range (2**1100/3)
            from .calc import approx
            return approx(v)
    if isinstance(v, (list, tuple)):
        return "x".join(map(str, v))
    return str(v)


# --- rendering ------------------------------------------------------------------------------

def header_lines(c: Comparison, shapes: str | None = None) -> list[str]:
    """One line per spec (as summarize's header), then the conventions and what ratios mean."""
    from .render import header, shaper
    out = []
    for e in c.entries:
        an = e.analysis
        out.append(f"[{e.label}] {e.title} ({an.graph.spec.path}): input {shaper(an, shapes)(an.input_shape)}, "
                   f"batch {an.batch}, {an.dtype}{', a training pass' if an.training else ''}.")
    h = header(c.analyses[0])
    out.append(h[h.index("MACs = "):] + f" Ratios are to [{c.entries[0].label}].")
    if c.convention is not None:
        from .profiles import PROFILES, torch_for
        p = PROFILES[c.convention]
        line = (f"{p.name} total = what {p.tool} prints as '{p.headline}': the MACs plus what it counts "
                f"besides (--explain lists it by category).")
        applied = [torch_for(e.analysis, c.torch) for e in c.entries]  # once per spec, not per op
        used = [f"{k}={v} (in {', '.join(f'[{e.label}]' for e, a in zip(c.entries, applied, strict=True) if k in a)})"
                for k, v in (c.torch or {}).items()]
        out.append(line + (f" Torch ops: {', '.join(used)}." if used else ""))
    return out


def _text_metrics(c: Comparison) -> list[tuple[str, str]]:
    """The totals the text table shows (`_TEXT_SKIP`, `_TEXT_IF_BUFFERS`)."""
    buffers = any(c.value("buffers", i) for i in range(len(c.entries)))
    shown = [(k, label) for k, label in c.metrics if k not in _TEXT_SKIP and (buffers or k not in _TEXT_IF_BUFFERS)]
    first = [m for key in _TEXT_ORDER for m in shown if m[0] == key]
    return first + [m for m in shown if m[0] not in _TEXT_ORDER]


def totals_columns(c: Comparison) -> list[Column]:
    """The totals table: metric, each spec's value, each ratio to the first (exact and compact)."""
    labels = [e.label for e in c.entries]
    metrics = _text_metrics(c)
    n = len(labels)
    cols = [Column("total", [name for _, name in metrics])]
    for i, x in enumerate(labels):
        values = [c.value(k, i) for k, _ in metrics]
        cols.append(Column(f"[{x}]", [f"{v:,}" for v in values], right=True, figures=values))
    for i in range(1, n):
        cols.append(Column(f"[{labels[i]}] / [{labels[0]}]", [c.ratio_text(k, i) for k, _ in metrics],
                           short=[saving_text(c.value(k, i), c.value(k, 0)) for k, _ in metrics]))
    return cols


def totals_grid(c: Comparison) -> tuple[list[str], list[list[str]]]:
    """Columns and cells of the totals table: metric, each spec's value, each ratio to the first."""
    cols = totals_columns(c)
    return [x.header for x in cols], [[x.cells[r] for x in cols] for r in range(len(cols[0].cells))]


def layers_columns(c: Comparison, depth: int | None, shapes: str | None = None) -> list[Column]:
    """The aligned-layers table: per spec (a group of columns) its output, params and MACs (and,
    with a convention, what that tool counts for the layer); `-` where a spec lacks the layer."""
    from .render import shaper, torch_params
    aligned = c.aligned(depth)
    cols = [Column("layer", [a.name for a in aligned], names=True)]
    for i, e in enumerate(c.entries):
        rows = [a.rows[i] for a in aligned]
        shape = shaper(e.analysis, shapes)
        group = f"[{e.label}]"
        cols.append(Column("output", ["-" if r is None else shape(r.output_shape) for r in rows], right=True,
                           group=group))
        figs = [("params", [None if r is None else torch_params(r) for r in rows]),
                ("MACs", [None if r is None else r.macs for r in rows])]
        if c.convention:
            figs.append((f"{c.convention} ops", [None if r is None else c.row_count(i, r) for r in rows]))
        for head, values in figs:
            cols.append(Column(head, ["-" if v is None else f"{v:,}" for v in values], right=True, group=group,
                               short=["-" if v is None else textable.compact(v) for v in values]))
    return cols


def layers_grid(c: Comparison, depth: int | None) -> tuple[list[str], list[list[str]]]:
    """Columns and cells of the aligned-layers table, each spec's headers prefixed with its label."""
    cols = layers_columns(c, depth)
    return ([x.header if not x.group else f"{x.group} {x.header}" for x in cols],
            [[x.cells[r] for x in cols] for r in range(len(cols[0].cells))])


def explain_grid(c: Comparison) -> tuple[list[str], list[list[str]]]:
    """The convention's total category by category: each spec's count, each difference from the
    first spec's, and what the tool counts in that category. Needs a convention."""
    from .profiles import PROFILES
    if c.convention is None:
        raise ValueError("explain_grid needs a comparison with a convention")
    p = PROFILES[c.convention]
    labels = [e.label for e in c.entries]
    parts = [c.breakdown(i) for i in range(len(labels))]
    order = list(p.rules)
    cats = sorted({k for b in parts for k in b}, key=lambda k: order.index(k) if k in order else len(order))
    cols = [f"{p.name} by category", *(f"[{x}]" for x in labels), *(f"[{x}] - [{labels[0]}]" for x in labels[1:]),
            f"what {p.tool} counts"]

    def line(name: str, values: list[int], rule: str) -> list[str]:
        return [name, *(f"{v:,}" for v in values), *(f"{v - values[0]:+,}" for v in values[1:]), rule]

    cells = [line(k, [b.get(k, 0) for b in parts], p.rules.get(k, "")) for k in cats]
    tot = [sum(b.values()) for b in parts]
    cells.append(line("total", tot, f"'{p.headline}'"))
    cells.append(line("total - MACs", [t - c.value("macs", i) for i, t in enumerate(tot)],
                      "what the tool adds to archcalc's MACs"))
    return cols, cells


def notes(c: Comparison, layers: bool = True) -> list[str]:
    out = []
    for i in range(1, len(c.entries)):
        ident = c.identity("macs", i)
        if ident:
            n, f2 = ident.split(" + ")
            out.append(f"[{c.entries[i].label}] is [{c.entries[0].label}]'s convolution made depthwise "
                       f"separable: MACs ratio 1/n_c' + 1/f^2 = {ident} (n_c' = {n[2:]}, f^2 = {f2[2:]}).")
    if layers and len(c.entries) > 1 and not c.shared_names(None):
        out.append("The specs share no layer names: the layers are listed one spec after the other.")
    where = ", ".join(f"{c.peak(i).at} in [{e.label}]" for i, e in enumerate(c.entries))
    out.append(f"Peak activation is reached at {where} "
               "(inference in spec order, each output freed after its last consumer).")
    if c.training is not None:
        from .training import describe
        from .training import where as step_where
        at = ", ".join(f"{step_where(c.step(i).peak)} in [{e.label}]" for i, e in enumerate(c.entries))
        out.append(f"Training step: {describe(c.training, c.analyses[0].dtype)}; the peak training memory is "
                   f"reached {at} (docs/training.md).")
    return out


def table(c: Comparison, depth: int | None = None, layers: bool = True, explain: bool = False,
          width: int | None = None, shapes: str | None = None) -> list[Line]:
    """Styled lines (see archcalc.textable): headers, the totals with ratios, (with `explain`,
    the convention's categories), then the layers aligned by name; fitted to `width`.

    Depth 0 is the totals alone, as --totals."""
    out: list[Line] = [*((h, "dim") for h in header_lines(c, shapes)), ("", "")]
    body, done = textable.layout(totals_columns(c), width, (("compact",),))
    out += body
    if explain:
        ecols, ecells = explain_grid(c)
        out += [("", ""), *grid(ecols, ecells, None, [0 < i < len(ecols) - 1 for i in range(len(ecols))])]
    if layers and depth != 0:
        body, more = textable.layout(layers_columns(c, depth, shapes), width, LAYERS_PLAN)
        out += [("", ""), *body]
        done += [d for d in more if d not in done]
    out += textable.fitted_note(done, width)
    notes_ = notes(c, layers and depth != 0)
    if notes_:
        out += [("", ""), *((t, "prose") for t in notes_)]
    return out


def to_json(c: Comparison, depth: int | None = None, layers: bool = True) -> str:
    import json
    return json.dumps(c.to_dict(depth, layers), indent=2) + "\n"


def to_csv(c: Comparison, depth: int | None = None, layers: bool = False) -> str:
    """One row per spec with its totals and exact ratios; with `layers`, one row per layer and spec."""
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    conv = ["convention"] if c.convention else []
    if layers:
        w.writerow(["layer", "label", "spec", "kind", "output_shape", "params", "macs",
                    *(["convention_ops", *conv] if conv else [])])
        for a in c.aligned(depth):
            for i, (e, r) in enumerate(zip(c.entries, a.rows, strict=True)):
                if r is not None:
                    w.writerow([a.name, e.label, e.title, r.kind, "x".join(map(str, r.output_shape)),
                                r.params, r.macs, *([c.row_count(i, r), c.convention] if conv else [])])
        return buf.getvalue()
    keys = [k for k, _ in c.metrics]
    w.writerow(["label", "spec", "path", "input_shape", "batch", "dtype", *keys, "peak_activation_at", *conv,
                *(f"{k}_ratio" for k in keys), *(f"{k}_ratio_value" for k in keys)])
    for i, e in enumerate(c.entries):
        an = e.analysis
        rs = [c.ratio(k, i) for k in keys]
        w.writerow([e.label, e.title, an.graph.spec.path, "x".join(map(str, an.input_shape)), an.batch, an.dtype,
                    *(c.value(k, i) for k in keys), c.peak(i).at, *([c.convention] if conv else []),
                    *("" if r is None else f"{r.numerator}/{r.denominator}" for r in rs),
                    *("" if r is None else f"{float(r):.6g}" for r in rs)])
    return buf.getvalue()


def to_markdown(c: Comparison, depth: int | None = None, layers: bool = True, explain: bool = False) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    def md(cols: list[str], cells: list[list[str]], left: tuple[int, ...] = (0,)) -> list[str]:
        lines = ["| " + " | ".join(esc(x) for x in cols) + " |",
                 "|" + "|".join("---" if i in left else "---:" for i in range(len(cols))) + "|"]
        lines += ["| " + " | ".join(esc(x) for x in row) + " |" for row in cells]
        return lines

    lines = [esc(x) + "  " for x in header_lines(c)]
    lines[-1] = lines[-1].rstrip()
    tcols, tcells = totals_grid(c)
    lines += ["", *md(tcols, tcells)]
    if explain:
        ecols, ecells = explain_grid(c)
        lines += ["", *md(ecols, ecells, (0, len(ecols) - 1))]
    if layers and depth != 0:
        lines += ["", *md(*layers_grid(c, depth))]
    n = notes(c, layers and depth != 0)
    if n:
        lines += ["", *n]
    return "\n".join(lines) + "\n"
