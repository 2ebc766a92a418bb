"""Plain-text tables, for `summarize` and `sweep`: columns padded to width, two spaces apart.

rich lays a table out cell by cell through its measuring and styling pipeline, and importing
it costs as much again: for ResNet-50 that was four times the analysis and all its imports
together (issue 7: the summary must cost little more than importing click, rich and yaml).
Every cell here is ASCII or a one-column block character, so `len` is its width. Styles
(a bold header row, a dim conventions line) are names, applied only on a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

#: a line of output and its style: "" (a table row: never wrapped), "bold" (a header row),
#: "dim" (a conventions sentence), "prose" (a `key  value` line) or "sum" (`name  a = b + c`);
#: the last three are wrapped to a terminal's width, "prose" under its value, "sum" under what
#: follows its first "= "
Line = tuple[str, str]
WRAPPED = ("dim", "prose", "sum")

GAP = "  "


def grid(header: Sequence[str], rows: Iterable[Sequence[str]], footer: Sequence[str] | None = None,
         right: Sequence[bool] = ()) -> list[Line]:
    """Header (bold), rows, then the footer row; `right[i]` right-justifies column i."""
    rows = list(rows)
    widths = [len(h) for h in header]
    for r in (*rows, footer) if footer is not None else rows:
        for i, c in enumerate(r):
            if len(c) > widths[i]:
                widths[i] = len(c)
    just = [bool(right[i]) if i < len(right) else False for i in range(len(widths))]

    def line(cells: Sequence[str]) -> str:
        return GAP.join(c.rjust(w) if j else c.ljust(w) for c, w, j in zip(cells, widths, just, strict=True)).rstrip()

    out = [(line(header), "bold")]
    out += [(line(r), "") for r in rows]
    if footer is not None:
        out.append((line(footer), ""))
    return out


def width(lines: Iterable[Line]) -> int:
    return max((len(t) for t, _ in lines), default=0)


def plain(lines: Iterable[Line]) -> str:
    """The text of the lines, unstyled, each ending in a newline."""
    return "".join(t + "\n" for t, _ in lines)


def fit(lines: Iterable[Line], width: int) -> list[Line]:
    """Wrap the prose lines longer than `width` at spaces (table rows are left whole)."""
    out: list[Line] = []
    for text, style in lines:
        if style not in WRAPPED or len(text) <= width:
            out.append((text, style))
            continue
        import re
        import textwrap
        if style == "sum":
            eq = text.find("= ")
            key = None
            indent = " " * (eq + 2 if 0 <= eq < width // 2 else len(text) - len(text.lstrip()) + 4)
        else:
            key = re.match(r"\S.*?\s{2,}", text) if style == "prose" else None
            indent = " " * key.end() if key and key.end() < width // 2 else ""
        out += [(t, style) for t in textwrap.wrap(text, width, subsequent_indent=indent,
                                                   break_on_hyphens=False)]
    return out


# --- fitting a table into a width ---------------------------------------------------------------
#
# At 80 columns a table of ResNet-50 does not fit whole. Rows are never wrapped (a wrapped row is
# unreadable); instead each command gives an ordered plan of steps, applied one at a time until
# the table fits (docs/pictures.md lists each command's plan):
#   ("drop", key)   leave out the columns with this key (a decoration, then optional columns);
#   ("compact",)    figures as 3 significant digits with K, M, G, T, P, E (the exact ones
#                   stay in the totals below, and in JSON and CSV);
#   ("names", n)    names longer than n characters shortened in the middle, kept unique.
# What was done is said in a note under the table, so nothing is left out silently.

ELLIPSIS = "…"
_UNITS = "KMGTPE"


def compact(n: int) -> str:
    """A figure in at most 5 characters: 9408 -> '9.41K', 25557032 -> '25.6M', 4089184256 -> '4.09G'.

    Three significant digits, rounded half up on the exact integer (no float), so 999,999 is
    '1.00M', never '1000K'. Figures from 999.5 * 10^18 on are written 1.0E+21."""
    if n < 0:
        return "-" + compact(-n)
    if n < 1000:
        return str(n)
    for i, unit in enumerate(_UNITS):
        scale = 1000 ** (i + 1)
        for decimals in (2, 1, 0):
            q = (2 * n * 10**decimals + scale) // (2 * scale)  # n / scale rounded to `decimals`
            if q < 1000:  # three digits
                whole, frac = divmod(q, 10**decimals)
                return f"{whole}.{frac:0{decimals}d}{unit}" if decimals else f"{whole}{unit}"
    from decimal import Decimal
    return f"{Decimal(n):.1E}"


class Column:
    """One column of a table to fit: header, cells, footer, how it may shrink.

    `figures` (and `figure_total`) are the numbers of a figure column, shown as `compact()`
    figures when the exact ones do not fit (computed only then); `short` gives such narrow cells
    directly (a ratio's `9.68x fewer`, a missing layer's `-`); `names` marks the column of
    layer names, which may be shortened in the middle; `key` is what a ("drop", key) step names
    (several columns may share one, e.g. every spec's output); `group` a heading set above
    contiguous columns of the same group."""

    __slots__ = ("header", "cells", "footer", "right", "figures", "figure_total", "names", "key", "group",
                 "_compact")

    def __init__(self, header: str, cells: list[str], footer: str | None = None, right: bool = False,
                 figures: list[int] | None = None, figure_total: int | None = None, names: bool = False,
                 key: str = "", group: str = "", short: list[str] | None = None) -> None:
        self.header, self.cells, self.footer, self.right = header, cells, footer, right
        self.figures, self.figure_total = figures, figure_total
        self.names, self.key, self.group = names, key or header, group
        self._compact: tuple[list[str], str | None] | None = None if short is None else (short, footer)

    def shown(self, use_compact: bool) -> tuple[list[str], str | None]:
        """(cells, footer) as shown: the narrow ones when asked and the column has them."""
        if not use_compact or (self.figures is None and self._compact is None):
            return self.cells, self.footer
        if self._compact is None:
            assert self.figures is not None
            total = self.footer if self.figure_total is None else compact(self.figure_total)
            self._compact = ([compact(v) for v in self.figures], total)
        return self._compact

    def width(self, use_compact: bool) -> int:
        cells, footer = self.shown(use_compact)
        return max([len(self.header), len(footer or ""), *map(len, cells)])


def _candidates(name: str, w: int) -> Iterable[str]:
    """Shortenings of `name` to at most w characters, best first: whole path segments left out
    of the middle (`layer1/…/downsample_bn`), then characters (`layer1/bl…sample_bn`)."""
    parts = name.split("/")
    segs = []
    for k in range(1, len(parts)):
        for m in range(1, len(parts) - k):
            s = "/".join(parts[:k]) + "/" + ELLIPSIS + "/" + "/".join(parts[len(parts) - m:])
            if len(s) <= w:
                segs.append(s)
    yield from sorted(segs, key=len, reverse=True)
    for m in range(1, len(parts)):  # the last segments whole, as much of the start as fits
        tail = "/" + "/".join(parts[len(parts) - m:])
        if w - 1 - len(tail) >= 2:
            yield name[:w - 1 - len(tail)] + ELLIPSIS + tail
    keep = w - 1
    if keep < 2:
        return
    head = keep // 2
    for d in range(keep):  # balanced first, then more head or more tail
        for h in (head - d, head + d + 1) if d else (head,):
            if 1 <= h < keep:
                yield name[:h] + ELLIPSIS + name[len(name) - (keep - h):]


def shorten_names(names: list[str], w: int) -> list[str] | None:
    """Names longer than w shortened in the middle so that each shortening could come from one
    name only (and equals no other name); None when w is too narrow for that."""
    long = [n for n in names if len(n) > w]
    if not long:
        return names
    cands = {n: list(dict.fromkeys(_candidates(n, w))) for n in dict.fromkeys(long)}
    owners: dict[str, int] = {}
    for cs in cands.values():
        for c in cs:
            owners[c] = owners.get(c, 0) + 1
    full = set(names)
    chosen: dict[str, str] = {}
    for n, cs in cands.items():
        pick = next((c for c in cs if owners[c] == 1 and c not in full), None)
        if pick is None:
            return None
        chosen[n] = pick
    return [chosen.get(n, n) for n in names]


def _width(cols: list[Column], use_compact: bool) -> int:
    return sum(c.width(use_compact) for c in cols) + len(GAP) * (len(cols) - 1)


def layout(cols: list[Column], width: int | None, plan: Sequence[tuple[Any, ...]] = ()
           ) -> tuple[list[Line], list[str]]:
    """The table as lines (`grid`), after as many steps of `plan` as it takes to fit `width`
    (None: no limit), and what was done, for a note under it."""
    cols = list(cols)
    use_compact = False
    name_w: int | None = None
    names_col = next((c for c in cols if c.names), None)
    done: list[str] = []
    dropped: list[str] = []

    def current() -> list[Column]:
        if name_w is None or names_col is None or names_col not in cols:
            return cols
        short = shorten_names(names_col.cells, name_w)
        assert short is not None  # name_w is only set to a width that shortens uniquely
        return [Column(c.header, short, c.footer, c.right, names=True, key=c.key, group=c.group)
                if c is names_col else c for c in cols]

    def fits() -> bool:
        return width is None or _width(current(), use_compact) <= width

    for step in plan:
        if fits():
            break
        if step[0] == "drop":
            gone = [c for c in cols if c.key == step[1]]
            if gone:
                cols = [c for c in cols if c.key != step[1]]
                dropped.append(step[1])
        elif step[0] == "compact":
            use_compact = True
        elif step[0] == "names" and names_col is not None and names_col in cols:
            longest = max(map(len, names_col.cells), default=0)
            now = longest if name_w is None else name_w
            over = _width(current(), use_compact) - width  # type: ignore[operator]
            w = max(step[1], now - over)  # no shorter than needed, nor than the step allows
            while w < now and shorten_names(names_col.cells, w) is None:
                w += 1
            if w < now:
                name_w = w
    if name_w is not None and width is not None and names_col in cols:
        # columns left out since the names were shortened: give them back what room there is
        keep = name_w
        for w in range(max(map(len, names_col.cells)), keep, -1):
            if shorten_names(names_col.cells, w) is not None:
                name_w = w
                if fits():
                    break
        else:
            name_w = keep
        if name_w >= max(map(len, names_col.cells)):
            name_w = None
    if use_compact:
        done.append("figures rounded to 3 digits (K = 10^3, M = 10^6, G = 10^9)")
    if name_w is not None:
        done.append(f"names over {name_w} characters shortened in the middle ({ELLIPSIS})")
    if dropped:
        done.append(f"left out: {', '.join(dropped)}")
    out = current()
    shown = [c.shown(use_compact) for c in out]
    body = [[cells[i] for cells, _ in shown] for i in range(len(shown[0][0]) if shown else 0)]
    footer = [f or "" for _, f in shown] if any(f is not None for _, f in shown) else None
    lines = grid([c.header for c in out], body, footer, [c.right for c in out])
    if any(c.group for c in out):
        lines.insert(0, (_group_line(out, use_compact), "bold"))
    return lines, done


def _group_line(cols: list[Column], use_compact: bool) -> str:
    """The group headings, each starting over the first column of its group."""
    out, at, prev = "", 0, ""
    for c in cols:
        if c.group and c.group != prev:
            out = out.ljust(at) + c.group + " "
        prev = c.group
        at += c.width(use_compact) + len(GAP)
    return out.rstrip()


def fitted_note(done: list[str], width: int | None) -> list[Line]:
    """The note under a table fitted to `width`: empty when nothing was done."""
    if not done:
        return []
    return [(f"To fit {width} columns: {'; '.join(done)}. A wider terminal, or output to a file, "
             "shows every column exact.", "prose")]
