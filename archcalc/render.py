"""Analysis -> text: a rich table, JSON, CSV, Markdown, and the --explain listing.

All formats read the same rows and totals; JSON and CSV never pass through rich.
"""

from __future__ import annotations

from . import textable
from .analysis import Analysis, Row
from .kinds import OTHER_OPS
from .shape import fmt
from .textable import Line, grid

FORMATS = ("table", "json", "csv", "markdown")


def si(n: int) -> str:
    """138,357,544 -> '138.4 M' (an aid beside the exact figure, never instead of it)."""
    if n >= 10**15:  # beyond T: exact decimal scientific notation (floats overflow past ~1e308)
        from decimal import Decimal
        return f"{Decimal(n):.3E}"
    for div, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= div:
            return f"{n / div:.{1 if n / div >= 100 else 2}f} {unit}"
    return str(n)


def human_bytes(n: int) -> str:
    if n >= 2**60:
        from decimal import Decimal
        return f"{Decimal(n) / Decimal(2**30):.3E} GiB"
    for div, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


def header(an: Analysis) -> str:
    """The conventions line printed above every human-readable output."""
    return (f"{an.name}: input {fmt(an.input_shape)}, batch {an.batch}, {an.dtype}"
            f"{', a training pass' if an.training else ''}. "
            "MACs = conv/dense kernel multiply-accumulates (bias excluded); FLOPs = 2 x MACs; "
            "counts are totals over the batch.")


def training_roots(an: Analysis) -> list[str]:
    """The outermost training-only parts, as named in the rows: a block instance all of whose
    layers are training-only (`aux1`), or a single layer."""
    flags: dict[str, bool] = {}
    for r in an.rows:
        parts = r.name.split("/")
        for i in range(1, len(parts)):
            key = "/".join(parts[:i])
            flags[key] = flags.get(key, True) and r.training_only
    roots: list[str] = []
    for r in an.rows:
        if not r.training_only or any(r.name.startswith(root + "/") for root in roots):
            continue
        parts = r.name.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts))]
        roots.append(next((k for k in prefixes if flags.get(k) and k in an.graph.instances), r.name))
    return roots


def training_text(an: Analysis) -> str | None:
    """What the report says of training-only layers (None when there are none)."""
    rows = [r for r in an.rows if r.training_only]
    if not rows:
        return None
    roots = training_roots(an)
    named = ", ".join(roots[:4]) + (f" and {len(roots) - 4} more" if len(roots) > 4 else "")
    params = sum(r.params for r in rows)
    n = len(rows)
    what = f"{named} ({n} layer{'s' * (n != 1)}, {params:,} parameters)"
    if an.training:
        return f"{what}: counted in full, a training pass (--train)"
    return (f"{what}: parameters counted; not run at inference, so no MACs, other ops, memory "
            "or outputs (--train counts them)")


def _kind_cell(r: Row) -> str:
    """`conv`, `stage (12 layers)`, `dense (training only)`."""
    notes = ([f"{r.layers:,} layers"] if r.layers != 1 else []) + (["training only"] if r.training_only else [])
    return r.kind + (f" ({', '.join(notes)})" if notes else "")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _other_cats(an: Analysis) -> list[str]:
    return list(an.totals.other_ops)


def totals_lines(an: Analysis, convention: str | None = None,
                 torch: dict[str, str] | None = None) -> list[tuple[str, str]]:
    t = an.totals
    other = ", ".join(f"{k} {v:,}" for k, v in t.other_ops.items()) or "none"
    return [
        ("params", f"{t.params:,} ({si(t.params)}): trainable {t.trainable_params:,}, "
                   f"non-trainable {t.non_trainable_params:,}"),
        ("MACs", f"{t.macs:,} ({si(t.macs)})"),
        ("FLOPs (2 x MACs)", f"{t.flops:,} ({si(t.flops)})"),
        ("other ops", other),
        ("param memory", f"{t.param_bytes:,} B ({human_bytes(t.param_bytes)}, {an.dtype})"),
        ("activation memory", f"{t.activation_bytes:,} B ({human_bytes(t.activation_bytes)}, "
                              f"all {t.layers} outputs held, {an.dtype})"),
        ("peak activation", _peak_text(an)),
        ("outputs", ", ".join(f"{r.name} {fmt(r.output_shape)}" for r in an.outputs)),
    ] + ([("training-only", text)] if (text := training_text(an)) else []) + _convention_lines(an, convention, torch)


def _peak_text(an: Analysis) -> str:
    from .memory import peak
    b, at = peak(an)
    what = "a training forward pass" if an.training else "inference"
    return (f"{b:,} B ({human_bytes(b)}, {an.dtype}) at {at}: {what} in spec order, "
            "each output freed after its last consumer")


def _convention_lines(an: Analysis, convention: str | None, torch: dict[str, str] | None) -> list[tuple[str, str]]:
    if not convention:
        return []
    from . import profiles
    p = profiles.PROFILES[convention]
    b = profiles.breakdown(an, convention, torch=torch)
    tot = sum(b.values())
    rest = ", ".join(f"{k} {v:,}" for k, v in b.items() if k != "macs") or "nothing else"
    return [(f"{p.name} total", f"{tot:,} ({si(tot)}): what {p.tool} prints as '{p.headline}' = MACs + {rest}")]


class Extras:
    """Optional per-layer columns: receptive field, memory, a convention profile's count."""

    def __init__(self, an: Analysis, rf: bool = False, memory: bool = False, convention: str | None = None,
                 torch: dict[str, str] | None = None) -> None:
        self.an, self.rf, self.memory, self.convention, self.torch = an, rf, memory, convention, torch
        self.fields = None
        self.layers = None
        if rf:
            from .receptive import fields
            self.fields = fields(an)
        if convention:
            from .profiles import per_layer
            self.layers = per_layer(an, convention, torch=torch)

    def headers(self) -> list[str]:
        h = ["receptive field"] if self.rf else []
        h += ["param bytes", "act. bytes"] if self.memory else []
        h += [f"{self.convention} ops"] if self.convention else []
        return h

    def cells(self, r: Row) -> list[str]:
        from . import memory
        out = []
        if self.rf:
            from .receptive import row_field
            f = row_field(self.an, r, self.fields)
            out.append(f.text() if f is not None else "-")
        if self.memory:
            out += [f"{memory.param_bytes(self.an, r):,}", f"{memory.activation_bytes(self.an, r):,}"]
        if self.convention:
            from .profiles import row_total
            out.append(f"{row_total(self.an, r, self.layers):,}")
        return out

    def footer(self) -> list[str]:
        out = [""] if self.rf else []
        if self.memory:
            t = self.an.totals
            out += [f"{t.param_bytes:,}", f"{t.activation_bytes:,}"]
        if self.convention:
            out.append(f"{sum(sum(d.values()) for d in self.layers):,}")
        return out


def _cells(an: Analysis, r: Row, other: bool) -> list[str]:
    cells = [r.name, _kind_cell(r), fmt(r.output_shape),
             f"{r.params:,}", f"{r.macs:,}", _share(r.macs, an.totals.macs)]
    if other:
        cells += [f"{r.other.get(k, 0):,}" for k in _other_cats(an)]
    return cells


COLUMNS = ["layer", "kind", "output", "params", "MACs", "% MACs"]


_EIGHTHS = " ▏▎▍▌▋▊▉"
BAR_WIDTH = 8
BARS = ("macs", "params")


def bar(part: int, whole: int, width: int = BAR_WIDTH) -> str:
    """`part / whole` as a bar of at most `width` characters, in eighths of a character.

    Exact integer rounding (deterministic); a non-zero share never rounds away to nothing.
    """
    if whole <= 0 or part <= 0:
        return ""
    eighths = max(1, min(width * 8, (2 * part * width * 8 + whole) // (2 * whole)))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def table(an: Analysis, depth: int | None = None, other: bool = False, extras: Extras | None = None,
          bars: tuple[str, ...] = (), width: int | None = None) -> list[Line]:
    """Conventions, one row per layer (or folded block), totals: styled lines (see textable).

    `bars` adds a column per figure in it ("macs", "params"): each row's share as a bar. With
    `width` (a terminal's), bars are left out when the table would not fit with them.
    """
    for b in bars:
        if b not in BARS:
            raise ValueError(f"unknown bar {b!r}: one of {', '.join(BARS)}")
    cols = COLUMNS + (_other_cats(an) if other else [])
    tot = an.totals
    footer = ["total", "", "", f"{tot.params:,}", f"{tot.macs:,}", "100.0%" if tot.macs else "-"]
    footer += [f"{tot.other_ops.get(k, 0):,}" for k in _other_cats(an)] if other else []
    if extras is not None:
        cols, footer = cols + extras.headers(), footer + extras.footer()
    folded = an.folded(depth)
    rows = [_cells(an, r, other) + (extras.cells(r) if extras is not None else []) for r in folded]
    right = [i >= 3 for i in range(len(cols))]
    body = None
    if bars:
        heads = [f"{'MACs' if b == 'macs' else b} share" for b in bars]
        shares = [[bar(r.macs, tot.macs) if b == "macs" else bar(r.params, tot.params) for b in bars]
                  for r in folded]
        body = grid(cols + heads, [r + s for r, s in zip(rows, shares, strict=True)],
                    footer + [""] * len(bars), right)
        if width is not None and textable.width(body) > width:
            body = None  # a terminal too narrow for the bars: the figures come first
    if body is None:
        body = grid(cols, rows, footer, right)
    lines = totals_lines(an, extras.convention, extras.torch) if extras is not None else totals_lines(an)
    w = max(len(k) for k, _ in lines)
    return [(header(an), "dim"), ("", ""), *body, ("", ""), *((f"{k:<{w}}  {v}", "prose") for k, v in lines)]


def to_json(an: Analysis, depth: int | None = None, explain: bool = False, convention: str | None = None,
            torch: dict[str, str] | None = None) -> str:
    import json
    return json.dumps(an.to_dict(depth, formulas=explain, convention=convention, torch=torch), indent=2) + "\n"


def to_csv(an: Analysis, depth: int | None = None) -> str:
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cats = list(OTHER_OPS)
    w.writerow(["name", "kind", "inputs", "output_shape", "params", "trainable_params",
                "non_trainable_params", "macs", "flops", *cats, "training_only"])
    for r in an.folded(depth):
        w.writerow([r.name, r.kind, " ".join(r.inputs), "x".join(map(str, r.output_shape)),
                    r.params, r.trainable, r.non_trainable, r.macs, 2 * r.macs,
                    *(r.other.get(k, 0) for k in cats), str(r.training_only).lower()])
    return buf.getvalue()


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def to_markdown(an: Analysis, depth: int | None = None, other: bool = False, extras: Extras | None = None) -> str:
    cols = COLUMNS + (_other_cats(an) if other else []) + (extras.headers() if extras is not None else [])
    right = [i >= 3 for i in range(len(cols))]
    lines = [f"**{_md_escape(an.name)}**: {_md_escape(header(an).split(': ', 1)[1])}", "",
             "| " + " | ".join(cols) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    for r in an.folded(depth):
        cells = _cells(an, r, other) + (extras.cells(r) if extras is not None else [])
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    t = an.totals
    tail = ["**total**", "", "", f"**{t.params:,}**", f"**{t.macs:,}**", "100.0%" if t.macs else "-"]
    tail += [f"{t.other_ops.get(k, 0):,}" for k in _other_cats(an)] if other else []
    tail += extras.footer() if extras is not None else []
    lines.append("| " + " | ".join(tail) + " |")
    lines += ["", "| total | value |", "|---|---|"]
    tl = totals_lines(an, extras.convention, extras.torch) if extras is not None else totals_lines(an)
    lines += [f"| {k} | {_md_escape(v)} |" for k, v in tl]
    return "\n".join(lines) + "\n"


def explain(an: Analysis, convention: str | None = None, torch: dict[str, str] | None = None) -> str:
    """Every layer's shape, parameter, MAC and other-op formulas, with their numbers."""
    from .walk import explain_shape
    out = [header(an), ""]
    for r in an.rows:
        ins = ", ".join(fmt(s) for s in r.input_shapes)
        idle = ", training only: not run at inference" if r.training_only and not an.training else \
            ", training only" if r.training_only else ""
        out.append(f"{r.name} ({r.kind}{idle}): {ins + ' -> ' if ins else ''}{fmt(r.output_shape)}")
        out.append(f"  shape   {explain_shape(r)}")
        if r.params_formula is not None and r.params:
            extra = f"  ({r.non_trainable:,} non-trainable)" if r.non_trainable else ""
            out.append(f"  params  {r.params_formula.explain()}{extra}")
        if r.macs_formula is not None and r.macs:
            out.append(f"  MACs    {r.macs_formula.explain()}")
        for k, f in r.other_formulas.items():
            out.append(f"  {k}  {f.explain()}")
    out.append("")
    t = an.totals
    out.append(f"total params {t.params:,} = " + " + ".join(f"{r.params:,}" for r in an.rows if r.params))
    out.append(f"total MACs {t.macs:,} = " + " + ".join(f"{r.macs:,}" for r in an.rows if r.macs))
    if convention:
        from .profiles import explain as profile_explain
        out += ["", profile_explain(an, convention, torch=torch).rstrip("\n")]
    return "\n".join(out) + "\n"
