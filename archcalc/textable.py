"""Plain-text tables, for `summarize` and `sweep`: columns padded to width, two spaces apart.

rich lays a table out cell by cell through its measuring and styling pipeline, and importing
it costs as much again: for ResNet-50 that was four times the analysis and all its imports
together (issue 7: the summary must cost little more than importing click, rich and yaml).
Every cell here is ASCII or a one-column block character, so `len` is its width. Styles
(a bold header row, a dim conventions line) are names, applied only on a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: a line of output and its style: "" (a table row: never wrapped), "bold" (a header row),
#: "dim" (a conventions sentence) or "prose" (a `key  value` line); the last two are wrapped
#: to a terminal's width, "prose" under its value
Line = tuple[str, str]
WRAPPED = ("dim", "prose")

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
        key = re.match(r"\S.*?\s{2,}", text) if style == "prose" else None
        indent = " " * key.end() if key and key.end() < width // 2 else ""
        out += [(t, style) for t in textwrap.wrap(text, width, subsequent_indent=indent,
                                                   break_on_hyphens=False)]
    return out
