"""Analysis -> text: the summary table, Markdown, HTML, CSV, the --explain listing, the totals.

All formats read the same rows and totals; JSON is built by `archcalc.report`, and nothing here
passes through rich. The totals are said in the words torch and Keras users know (Total params,
Trainable params, Total mult-adds, Params size, ...), with what each counts stated once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import textable
from .analysis import Analysis, Row
from .kinds import OTHER_OPS
from .shape import Shape, fmt, fmt_as, shape_style, style_axes
from .textable import Column, Line

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
    """Bytes in binary units: '97.69 MiB' (1 MiB = 2^20 bytes)."""
    if n >= 2**60:
        from decimal import Decimal
        return f"{Decimal(n) / Decimal(2**30):.3E} GiB"
    for div, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


def megabytes(n: int) -> str:
    """Bytes in MB as torchinfo prints them (1 MB = 10^6 bytes): '102.23 MB', '0.60 MB'."""
    if n >= 10**21:
        from decimal import Decimal
        return f"{Decimal(n) / Decimal(10**6):.3E} MB"
    return f"{n / 10**6:,.2f} MB"




def header(an: Analysis, shapes: str | None = None) -> str:
    """The conventions line printed above every human-readable output."""
    style = shape_style(shapes, an.graph.layout)
    how = "" if style == "hwc" else f" (shapes {style_axes(style)})"
    return (f"{an.name}: input {fmt_as(an.input_shape, style, an.batch)}{how}, batch {an.batch}, {an.dtype}"
            f"{', a training pass' if an.training else ''}. "
            "MACs = kernel and matrix-product multiply-accumulates (bias excluded); FLOPs = 2 x MACs; "
            "counts are totals over the batch.")


def shaper(an: Analysis, shapes: str | None = None) -> Callable[[Shape], str]:
    """The function writing shapes as `shapes` says (default: as the input is written)."""
    style = shape_style(shapes, an.graph.layout)
    batch = an.batch
    if style == "hwc":
        return fmt
    return lambda s: fmt_as(s, style, batch)


def short(an: Analysis) -> str:
    """One line: name, input, totals (the repr of an Analysis, not its 176 rows)."""
    t = an.totals
    buffers = f" (+ {t.buffers:,} buffers)" if t.buffers else ""
    return (f"{an.name}: input {fmt(an.input_shape)}, batch {an.batch}, {an.dtype}; {t.layers - 1:,} layers; "
            f"{t.torch_params:,} params{buffers}, {t.macs:,} MACs")


def torch_params(r: Row) -> int:
    """A row's parameters as PyTorch counts them: without its buffers (BatchNorm's running
    statistics, archcalc's non-trainable weights), so BatchNorm shows 2C, as in torchinfo."""
    return r.params - r.non_trainable


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
    params = sum(r.params - r.non_trainable for r in rows)  # as PyTorch counts them, like the headline
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


def totals_lines(an: Analysis, convention: str | None = None, torch: dict[str, str] | None = None,
                 step: Any = None) -> list[tuple[str, str]]:
    """The totals in torch's and Keras's words, each line a figure that the lines it names add up to."""
    from . import memory
    t = an.totals
    peak = memory.peak_detail(an)
    bpv = an.bytes_per_value
    params_b, buffers_b, input_b = t.torch_params * bpv, t.buffers * bpv, memory.input_bytes(an)
    out = [
        ("Total params", f"{t.torch_params:,}" + (f" ({si(t.torch_params)})" if t.torch_params >= 1000 else "")),
        ("Trainable params", f"{t.trainable_params:,}"),
        ("Non-trainable params", f"{t.torch_params - t.trainable_params:,}"),
    ]
    if t.buffers:
        out.append(("Buffers", f"{t.buffers:,}: BatchNorm running mean and variance, not in the params "
                               "above: buffers in PyTorch, outside model.parameters() and torchvision's "
                               f"num_params; non-trainable params in Keras, whose Total params is {t.params:,}"))
    other = ", ".join(f"{k} {v:,}" for k, v in t.other_ops.items() if v)
    out += [
        ("Total mult-adds", f"{t.macs:,} ({si(t.macs)}): kernel (conv, dense, linear) and matrix-product "
                            "MACs, bias excluded (torchinfo's also counts bias and BatchNorm: --convention torchinfo)"),
        ("FLOPs", f"{t.flops:,} ({si(t.flops)}) = 2 x mult-adds"),
        ("Other ops", f"{other} (not in the mult-adds)" if other else "none"),
        ("Input size", f"{input_b:,} B ({megabytes(input_b)})"),
        ("Params size", f"{params_b:,} B ({megabytes(params_b)})"),
    ]
    if t.buffers:
        out.append(("Buffers size", f"{buffers_b:,} B ({megabytes(buffers_b)})"))
    out += [
        ("Forward pass size", f"{peak.bytes:,} B ({megabytes(peak.bytes)}): the peak of "
                              f"{'a training forward pass' if an.training else 'inference'}, at "
                              f"{peak.at}, each output freed after its last consumer (all {t.layers:,} "
                              f"outputs held at once: {t.activation_bytes:,} B)"),
        ("Estimated total size", f"{t.param_bytes + peak.bytes:,} B ({megabytes(t.param_bytes + peak.bytes)}) "
                                 f"= params{' + buffers' if t.buffers else ''} + forward pass"),
        ("Bytes", f"{an.dtype}, {bpv} B a value; 1 MB = 1,000,000 B as torchinfo prints (Keras's \"MB\" is "
                  "a MiB, 1,048,576 B)"),
        ("Outputs", ", ".join(f"{r.name} {fmt(r.output_shape)}" for r in an.outputs)),
    ]
    if (text := training_text(an)) is not None:
        out.append(("Training-only", text))
    if step is not None:  # --train: the cost of a training step (archcalc.training)
        from .training import lines
        out += lines(step)
    return out + _convention_lines(an, convention, torch)


def _convention_lines(an: Analysis, convention: str | None, torch: dict[str, str] | None) -> list[tuple[str, str]]:
    if not convention:
        return []
    from . import profiles
    p = profiles.PROFILES[convention]
    b = profiles.breakdown(an, convention, torch=torch)
    tot = sum(b.values())
    rest = ", ".join(f"{k} {v:,}" for k, v in b.items() if k != "macs") or "nothing else"
    note = f" (batch {an.batch}: {p.rules['per sample']})" if "per sample" in p.rules and an.batch > 1 else ""
    out = [(f"{p.name} total", f"{tot:,} ({si(tot)}): what {p.tool} prints as '{p.headline}' = MACs + {rest}{note}")]
    if p.name == "torchinfo":
        out.append(("torchinfo sizes", _torchinfo_sizes(an)))
    return out


def _torchinfo_sizes(an: Analysis) -> str:
    """torchinfo 1.8's own memory lines: its forward/backward pass keeps twice the output of every
    layer with parameters (the output and its gradient), and its total adds the input and the
    parameters (buffers left out). ResNet-50: 177.83 and 280.66 MB, as torchinfo prints."""
    from . import memory
    from .training import torchinfo_pass_bytes
    t = an.totals
    fwd = torchinfo_pass_bytes(an)
    total = memory.input_bytes(an) + fwd + t.torch_params * an.bytes_per_value
    return (f"Forward/backward pass size (MB): {fwd / 10**6:.2f} (twice the outputs of the layers with "
            f"parameters); Estimated Total Size (MB): {total / 10**6:.2f} (input + that + params)")


def totals_block(an: Analysis, convention: str | None = None, torch: dict[str, str] | None = None,
                 step: Any = None) -> list[Line]:
    """The totals as `key  value` prose lines, keys aligned."""
    lines = totals_lines(an, convention, torch, step)
    w = max(len(k) for k, _ in lines)
    return [(f"{k:<{w}}  {v}", "prose") for k, v in lines]


class Extras:
    """Optional per-layer columns: receptive field, memory, a convention profile's count, and a
    training step's backward MACs and saved bytes (`step`, archcalc.training)."""

    def __init__(self, an: Analysis, rf: bool = False, memory: bool = False, convention: str | None = None,
                 torch: dict[str, str] | None = None, step: Any = None) -> None:
        self.an, self.rf, self.memory, self.convention, self.torch = an, rf, memory, convention, torch
        self.step = step
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
        h += ["backward MACs", "saved (B)"] if self.step is not None else []
        return h

    def values(self, r: Row) -> list[str | int]:
        """The row's cells: text (a receptive field) or figures."""
        from . import memory
        out: list[str | int] = []
        if self.rf:
            from .receptive import row_field
            f = row_field(self.an, r, self.fields)
            out.append(f.text() if f is not None else "-")
        if self.memory:
            out += [memory.param_bytes(self.an, r), memory.activation_bytes(self.an, r)]
        if self.convention:
            from .profiles import row_total
            out.append(row_total(self.an, r, self.layers))
        if self.step is not None:
            from .training import row_figures
            out += list(row_figures(self.step, r))
        return out

    def cells(self, r: Row) -> list[str]:
        return [v if isinstance(v, str) else f"{v:,}" for v in self.values(r)]

    def totals(self) -> list[str | int]:
        out: list[str | int] = [""] if self.rf else []
        if self.memory:
            t = self.an.totals
            out += [t.param_bytes, t.activation_bytes]
        if self.convention:
            out.append(sum(sum(d.values()) for d in self.layers))
        if self.step is not None:
            out += [self.step.backward_macs, self.step.saved_bytes]
        return out

    def footer(self) -> list[str]:
        return [v if isinstance(v, str) else f"{v:,}" for v in self.totals()]


def _cells(an: Analysis, r: Row, other: bool, shape: Callable[[Shape], str] = fmt) -> list[str]:
    cells = [r.name, _kind_cell(r), shape(r.output_shape),
             f"{torch_params(r):,}", f"{r.macs:,}", _share(r.macs, an.totals.macs)]
    if other:
        cells += [f"{r.other.get(k, 0):,}" for k in _other_cats(an)]
    return cells


COLUMNS = ["layer", "kind", "output", "params", "MACs", "% MACs"]


_EIGHTHS = " ▏▎▍▌▋▊▉"
BAR_WIDTH = 8
BARS = ("macs", "params")

#: How `summarize` fits a narrow terminal, step by step until the table fits (textable.layout):
#: share bars go first, then figures are rounded (the totals below stay exact), long names are
#: shortened in the middle, `% MACs` and `kind` are left out, and names shortened further.
#: Columns asked for (--other, --rf, --memory, --convention) are never left out.
SUMMARIZE_PLAN: tuple[tuple[object, ...], ...] = (
    ("drop", "MACs share"), ("drop", "params share"), ("compact",), ("names", 24), ("drop", "% MACs"),
    ("drop", "kind"), ("names", 12))


def bar(part: int, whole: int, width: int = BAR_WIDTH) -> str:
    """`part / whole` as a bar of at most `width` characters, in eighths of a character.

    Exact integer rounding (deterministic); a non-zero share never rounds away to nothing.
    """
    if whole <= 0 or part <= 0:
        return ""
    eighths = max(1, min(width * 8, (2 * part * width * 8 + whole) // (2 * whole)))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def figure_column(header: str, values: list[int], total: int | None, key: str = "", group: str = "") -> Column:
    """A right-aligned column of figures, exact, with a compact (K/M/G) form for narrow terminals."""
    return Column(header, [f"{v:,}" for v in values], None if total is None else f"{total:,}", True,
                  figures=values, figure_total=total, key=key, group=group)


def table(an: Analysis, depth: int | None = None, other: bool = False, extras: Extras | None = None,
          bars: tuple[str, ...] = (), width: int | None = None, shapes: str | None = None) -> list[Line]:
    """Conventions, one row per layer (or folded block), totals: styled lines (see textable).

    `bars` adds a column per figure in it ("macs", "params"): each row's share as a bar. With
    `width` (a terminal's), the table is fitted to it by SUMMARIZE_PLAN and says what it did.
    Depth 0 gives the totals alone.
    """
    for b in bars:
        if b not in BARS:
            raise ValueError(f"unknown bar {b!r}: one of {', '.join(BARS)}")
    tot = an.totals
    folded = an.folded(depth)
    shape = shaper(an, shapes)
    out: list[Line] = [(header(an, shapes), "dim"), ("", "")]
    if folded:
        cols = [Column("layer", [r.name for r in folded], "total", names=True),
                Column("kind", [_kind_cell(r) for r in folded], ""),
                Column("output", [shape(r.output_shape) for r in folded], ""),
                figure_column("params", [torch_params(r) for r in folded], tot.torch_params),
                figure_column("MACs", [r.macs for r in folded], tot.macs),
                Column("% MACs", [_share(r.macs, tot.macs) for r in folded], "100.0%" if tot.macs else "-", True)]
        if other:
            cols += [figure_column(k, [r.other.get(k, 0) for r in folded], tot.other_ops.get(k, 0))
                     for k in _other_cats(an)]
        if extras is not None:
            values = [extras.values(r) for r in folded]
            for i, (h, t) in enumerate(zip(extras.headers(), extras.totals(), strict=True)):
                if isinstance(t, str):
                    cols.append(Column(h, [str(v[i]) for v in values], t))
                else:
                    cols.append(figure_column(h, [int(v[i]) for v in values], t))
        for b in bars:
            part = [r.macs if b == "macs" else torch_params(r) for r in folded]
            whole = tot.macs if b == "macs" else tot.torch_params
            cols.append(Column(f"{'MACs' if b == 'macs' else b} share", [bar(p, whole) for p in part], ""))
        body, done = textable.layout(cols, width, SUMMARIZE_PLAN)
        out += [*body, *textable.fitted_note(done, width), ("", "")]
    return out + totals_block(an, extras.convention if extras else None, extras.torch if extras else None,
                              extras.step if extras else None)


def to_json(an: Analysis, depth: int | None = None, explain: bool = False, convention: str | None = None,
            torch: dict[str, str] | None = None) -> str:
    """The JSON document (`archcalc.report`); `explain` adds each layer's formulas."""
    from .report import to_json as report_json
    return report_json(an, depth, explain, convention, torch)


def to_csv(an: Analysis, depth: int | None = None, step: Any = None) -> str:
    """One row per layer; with a training `step` (--train), its backward MACs and saved bytes too."""
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cats = list(OTHER_OPS)
    w.writerow(["name", "kind", "inputs", "output_shape", "params", "trainable_params",
                "non_trainable_params", "macs", "flops", *cats, "training_only",
                *(["backward_macs", "saved_bytes"] if step is not None else [])])
    if step is not None:
        from .training import row_figures
    for r in an.folded(depth):
        w.writerow([r.name, r.kind, " ".join(r.inputs), "x".join(map(str, r.output_shape)),
                    r.params, r.trainable, r.non_trainable, r.macs, 2 * r.macs,
                    *(r.other.get(k, 0) for k in cats), str(r.training_only).lower(),
                    *(row_figures(step, r) if step is not None else ())])
    return buf.getvalue()


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def to_markdown(an: Analysis, depth: int | None = None, other: bool = False, extras: Extras | None = None,
                shapes: str | None = None) -> str:
    cols = COLUMNS + (_other_cats(an) if other else []) + (extras.headers() if extras is not None else [])
    right = [i >= 3 for i in range(len(cols))]
    lines = [f"**{_md_escape(an.name)}**: {_md_escape(header(an, shapes).split(': ', 1)[1])}", ""]
    folded = an.folded(depth)
    if folded:
        shape = shaper(an, shapes)
        lines += ["| " + " | ".join(cols) + " |", "|" + "|".join("---:" if r else "---" for r in right) + "|"]
        for r in folded:
            cells = _cells(an, r, other, shape) + (extras.cells(r) if extras is not None else [])
            lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
        t = an.totals
        tail = ["**total**", "", "", f"**{t.torch_params:,}**", f"**{t.macs:,}**", "100.0%" if t.macs else "-"]
        tail += [f"{t.other_ops.get(k, 0):,}" for k in _other_cats(an)] if other else []
        tail += extras.footer() if extras is not None else []
        lines += ["| " + " | ".join(tail) + " |", ""]
    lines += ["| total | value |", "|---|---|"]
    tl = totals_lines(an, extras.convention, extras.torch, extras.step) if extras is not None else totals_lines(an)
    lines += [f"| {k} | {_md_escape(v)} |" for k, v in tl]
    return "\n".join(lines) + "\n"


def to_html(an: Analysis, depth: int | None = None) -> str:
    """A notebook's view of an analysis: the header, the table (folded to `depth`), the totals."""
    from html import escape
    t = an.totals
    folded = an.folded(depth)
    out = [f"<div><p><b>{escape(an.name)}</b>: {escape(header(an).split(': ', 1)[1])}</p>"]
    if folded:
        right = ' style="text-align:right"'
        out.append("<table><thead><tr>" + "".join(f"<th{right if i >= 3 else ''}>{escape(c)}</th>"
                                                   for i, c in enumerate(COLUMNS)) + "</tr></thead><tbody>")
        for r in folded:
            out.append("<tr>" + "".join(f"<td{right if i >= 3 else ''}>{escape(c)}</td>"
                                        for i, c in enumerate(_cells(an, r, False))) + "</tr>")
        foot = ["total", "", "", f"{t.torch_params:,}", f"{t.macs:,}", "100.0%" if t.macs else "-"]
        out.append("</tbody><tfoot><tr>" + "".join(f"<td{right if i >= 3 else ''}><b>{escape(c)}</b></td>"
                                                   for i, c in enumerate(foot)) + "</tr></tfoot></table>")
    out.append("<table>" + "".join(f"<tr><th style=\"text-align:left\">{escape(k)}</th><td style=\"text-align:left\">"
                                    f"{escape(v)}</td></tr>" for k, v in totals_lines(an)) + "</table></div>")
    return "\n".join(out)


def explain(an: Analysis, convention: str | None = None, torch: dict[str, str] | None = None,
            depth: int | None = None, step: Any = None) -> str:
    """Every layer's shape, parameter, MAC and other-op formulas, with their numbers (text)."""
    return textable.plain(explain_lines(an, convention, torch, depth, step))


def explain_lines(an: Analysis, convention: str | None = None, torch: dict[str, str] | None = None,
                  depth: int | None = None, step: Any = None) -> list[Line]:
    """`explain` as lines: the sums are "sum" lines, wrapped under their first term on a terminal.

    With `depth`, a folded block is one entry whose figures are the sums of its layers'. With a
    training `step` (--train), each layer's backward MACs and what autograd saves for it too."""
    from .walk import explain_shape
    out: list[Line] = [(header(an), "dim"), ("", "")]
    rows = an.folded(depth)
    for r in rows:
        ins = ", ".join(fmt(s) for s in r.input_shapes)
        what = f"{r.kind}, {r.layers:,} layers" if r.layers != 1 else r.kind
        if r.training_only:
            what += ", training only" if an.training else ", training only: not run at inference"
        out.append((f"{r.name} ({what}): {ins + ' -> ' if ins else ''}{fmt(r.output_shape)}", "prose"))
        if r.node is None:  # a folded block: its figures are the sums of its layers'
            prefix = r.name + "/"
            inner = [x for x in an.rows if x.name.startswith(prefix)]
            if r.params:
                out.append((f"  params  {_sum([torch_params(x) for x in inner], torch_params(r))}"
                            + _buffers(r.non_trainable), "sum"))
            if r.macs:
                out.append((f"  MACs    {_sum([x.macs for x in inner], r.macs)}", "sum"))
            for k, v in r.other.items():
                out.append((f"  {k}  {_sum([x.other.get(k, 0) for x in inner], v)}", "sum"))
            if step is not None:
                from .training import row_figures
                bwd, kept = row_figures(step, r)
                figs = [row_figures(step, x) for x in inner]
                if bwd:
                    out.append((f"  backward  {_sum([b for b, _ in figs], bwd)}", "sum"))
                if kept:
                    out.append((f"  saved  {_sum([k for _, k in figs], kept)} B", "sum"))
            continue
        out.append((f"  shape   {explain_shape(r)}", "sum"))
        if r.params_formula is not None and r.params:
            out.append((f"  params  {r.params_formula.explain()}" + _buffers(r.non_trainable), "sum"))
        if r.macs_formula is not None and r.macs:
            out.append((f"  MACs    {r.macs_formula.explain()}", "sum"))
        for k, f in r.other_formulas.items():
            out.append((f"  {k}  {f.explain()}", "sum"))
        if step is not None:
            from .training import explain_row
            out += [(x, "sum") for x in explain_row(step, r)]
    out.append(("", ""))
    t = an.totals
    out.append((f"total params {t.torch_params:,} = " + _terms([torch_params(r) for r in rows]), "sum"))
    if t.buffers:
        out.append((f"buffers {t.buffers:,} = " + _terms([r.non_trainable for r in rows])
                    + " (BatchNorm running statistics: not PyTorch parameters)", "sum"))
    out.append((f"total MACs {t.macs:,} = " + _terms([r.macs for r in rows]), "sum"))
    if step is not None:
        from .training import lines, row_figures
        figs = [row_figures(step, r) for r in rows]
        out.append((f"backward MACs {step.backward_macs:,} = " + _terms([b for b, _ in figs]), "sum"))
        out.append((f"saved activations {step.saved_bytes:,} B = " + _terms([k for _, k in figs])
                    + " (each storage counted at the first layer that keeps it)", "sum"))
        out += [("", ""), *((f"{k}: {v}", "prose") for k, v in lines(step))]
    if convention:
        from .profiles import explain as profile_explain
        text = profile_explain(an, convention, torch=torch).rstrip("\n")
        out += [("", ""), *((x, "prose") for x in text.split("\n"))]
    return out


def _buffers(n: int) -> str:
    return f"  ({n:,} of them buffers: running mean and variance)" if n else ""


def _terms(values: list[int]) -> str:
    return " + ".join(f"{v:,}" for v in values if v) or "0"


def _sum(values: list[int], total: int) -> str:
    nonzero = [v for v in values if v]
    if len(nonzero) == 1:
        return f"{total:,} (one layer)"
    return f"sum of its layers = {_terms(values)} = {total:,}"
