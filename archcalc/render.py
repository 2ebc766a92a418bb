"""Analysis -> text: a rich table, JSON, CSV, Markdown, and the --explain listing.

All formats read the same rows and totals; JSON and CSV never pass through rich.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .analysis import Analysis, Row
from .kinds import OTHER_OPS
from .shape import fmt

FORMATS = ("table", "json", "csv", "markdown")


def si(n: int) -> str:
    """138,357,544 -> '138.4 M' (an aid beside the exact figure, never instead of it)."""
    for div, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= div:
            return f"{n / div:.{1 if n / div >= 100 else 2}f} {unit}"
    return str(n)


def human_bytes(n: int) -> str:
    for div, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


def header(an: Analysis) -> str:
    """The conventions line printed above every human-readable output."""
    return (f"{an.name}: input {fmt(an.input_shape)}, batch {an.batch}, {an.dtype}. "
            "MACs = conv/dense kernel multiply-accumulates (bias excluded); FLOPs = 2 x MACs; "
            "counts are totals over the batch.")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _other_cats(an: Analysis) -> list[str]:
    return list(an.totals.other_ops)


def totals_lines(an: Analysis) -> list[tuple[str, str]]:
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
        ("outputs", ", ".join(f"{r.name} {fmt(r.output_shape)}" for r in an.outputs)),
    ]


def _cells(an: Analysis, r: Row, other: bool) -> list[str]:
    cells = [r.name, r.kind + (f" ({r.layers} layers)" if r.layers != 1 else ""), fmt(r.output_shape),
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


def table(an: Analysis, depth: int | None = None, other: bool = False,
          bars: tuple[str, ...] = ()) -> Any:
    """A rich renderable: conventions, one row per layer (or folded block), totals.

    `bars` adds a column per figure in it ("macs", "params"): each row's share as a bar.
    """
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    t = Table(box=None, header_style="bold", pad_edge=False, show_footer=True)
    cols = COLUMNS + (_other_cats(an) if other else [])
    tot = an.totals
    footer = ["total", "", "", f"{tot.params:,}", f"{tot.macs:,}", "100.0%" if tot.macs else "-"]
    footer += [f"{tot.other_ops.get(k, 0):,}" for k in _other_cats(an)] if other else []
    for i, (c, f) in enumerate(zip(cols, footer, strict=True)):
        t.add_column(c, footer=f, justify="left" if i < 3 else "right", no_wrap=i != 1)
    for b in bars:
        if b not in BARS:
            raise ValueError(f"unknown bar {b!r}: one of {', '.join(BARS)}")
        t.add_column(f"{'MACs' if b == 'macs' else b} share", footer="", justify="left", no_wrap=True)
    for r in an.folded(depth):
        shares = [bar(r.macs, tot.macs) if b == "macs" else bar(r.params, tot.params) for b in bars]
        t.add_row(*(escape(c) for c in _cells(an, r, other)), *shares)
    w = max(len(k) for k, _ in totals_lines(an))
    tt = Text("\n".join(f"{k:<{w}}  {v}" for k, v in totals_lines(an)))
    return Group(Text(header(an), style="dim"), Text(""), t, Text(""), tt)


def to_json(an: Analysis, depth: int | None = None, explain: bool = False) -> str:
    return json.dumps(an.to_dict(depth, formulas=explain), indent=2) + "\n"


def to_csv(an: Analysis, depth: int | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cats = list(OTHER_OPS)
    w.writerow(["name", "kind", "inputs", "output_shape", "params", "trainable_params",
                "non_trainable_params", "macs", "flops", *cats])
    for r in an.folded(depth):
        w.writerow([r.name, r.kind, " ".join(r.inputs), "x".join(map(str, r.output_shape)),
                    r.params, r.trainable, r.non_trainable, r.macs, 2 * r.macs,
                    *(r.other.get(k, 0) for k in cats)])
    return buf.getvalue()


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def to_markdown(an: Analysis, depth: int | None = None, other: bool = False) -> str:
    cols = COLUMNS + (_other_cats(an) if other else [])
    right = [i >= 3 for i in range(len(cols))]
    lines = [f"**{_md_escape(an.name)}**: {_md_escape(header(an).split(': ', 1)[1])}", "",
             "| " + " | ".join(cols) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    for r in an.folded(depth):
        lines.append("| " + " | ".join(_md_escape(c) for c in _cells(an, r, other)) + " |")
    t = an.totals
    tail = ["**total**", "", "", f"**{t.params:,}**", f"**{t.macs:,}**", "100.0%" if t.macs else "-"]
    tail += [f"{t.other_ops.get(k, 0):,}" for k in _other_cats(an)] if other else []
    lines.append("| " + " | ".join(tail) + " |")
    lines += ["", "| total | value |", "|---|---|"]
    lines += [f"| {k} | {_md_escape(v)} |" for k, v in totals_lines(an)]
    return "\n".join(lines) + "\n"


def explain(an: Analysis) -> str:
    """Every layer's shape, parameter, MAC and other-op formulas, with their numbers."""
    from .walk import explain_shape
    out = [header(an), ""]
    for r in an.rows:
        ins = ", ".join(fmt(s) for s in r.input_shapes)
        out.append(f"{r.name} ({r.kind}): {ins + ' -> ' if ins else ''}{fmt(r.output_shape)}")
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
    return "\n".join(out) + "\n"
