"""Errors that carry a place in a spec file.

Every failure a user can cause is an `ArchcalcError`; the CLI renders it as
`file:line:col: message`, the offending line, a caret and a hint. Nothing below
the CLI prints or exits, so library users get the same information as data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .record import Frozen


class Location:
    """A 1-based position in a source text (`col` 0 when only the line is known).

    A plain value class rather than a dataclass: a spec of 10,000 layers makes a few hundred
    thousand of them, and a frozen dataclass's __init__ costs three times as much. Treat it
    as immutable.
    """

    __slots__ = ("path", "line", "col")

    def __init__(self, path: str, line: int, col: int = 0) -> None:
        self.path, self.line, self.col = path, line, col

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Location):
            return NotImplemented
        return (self.path, self.line, self.col) == (other.path, other.line, other.col)

    def __hash__(self) -> int:
        return hash((self.path, self.line, self.col))

    def __repr__(self) -> str:
        return f"Location(path={self.path!r}, line={self.line!r}, col={self.col!r})"

    def __str__(self) -> str:
        if self.col:
            return f"{self.path}:{self.line}:{self.col}"
        return f"{self.path}:{self.line}"


class Diagnostic(Frozen):
    """One problem: where, what, and what to change."""

    __slots__ = ("message", "loc", "hint", "notes")

    def __init__(self, message: str, loc: Location | None = None, hint: str | None = None,
                 notes: tuple[str, ...] = ()) -> None:
        self.message, self.loc, self.hint = message, loc, hint
        #: context lines, e.g. the block instances an error inside a block definition stands in
        self.notes = notes


class ArchcalcError(Exception):
    """Base of every error a user can cause; `exit_code` is what the CLI returns."""

    exit_code = 1
    #: True when checking stopped at a limit of diagnostics: more problems may follow
    stopped = False

    def __init__(self, message: str, loc: Location | None = None, hint: str | None = None,
                 *, diagnostics: list[Diagnostic] | None = None) -> None:
        self.diagnostics = diagnostics or [Diagnostic(message, loc, hint)]
        super().__init__(self._summary())

    def _summary(self) -> str:
        d = self.diagnostics[0]
        text = f"{d.loc}: {d.message}" if d.loc else d.message
        if len(self.diagnostics) > 1:
            text += f" (and {len(self.diagnostics) - 1} more)"
        return text

    @property
    def loc(self) -> Location | None:
        return self.diagnostics[0].loc

    @property
    def message(self) -> str:
        return self.diagnostics[0].message

    @property
    def hint(self) -> str | None:
        return self.diagnostics[0].hint


def add_note(err: ArchcalcError, note: str) -> None:
    """Append a context line to an error's first diagnostic (the command-line settings it was
    found under, say), after the notes already there."""
    d = err.diagnostics[0]
    err.diagnostics[0] = Diagnostic(d.message, d.loc, d.hint, (*d.notes, note))


class SpecError(ArchcalcError):
    """The spec text is malformed, mistyped, or describes an impossible network."""


class KindError(Exception):
    """Raised by a layer kind, which knows nothing of files.

    The walker turns it into a `SpecError` at the node's line, or at the line of
    `field` when the kind names the field at fault.
    """

    def __init__(self, message: str, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint


#: At most this many diagnostics are printed (the rest are counted), and this many
#: characters of a message or a source line, so an error always fits on one screen.
MAX_SHOWN = 5
MAX_WIDTH = 200


def _printable(text: str) -> str:
    """Control characters (a terminal escape in a quoted string, a NUL) shown as '?'."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def _clip(text: str, width: int = MAX_WIDTH) -> str:
    text = _printable(text)
    return text if len(text) <= width else text[: width - 3] + "..."


#: A hint longer than MAX_WIDTH (a list of every kind) is wrapped at spaces into lines this
#: wide, at most HINT_LINES of them: a list is cut between its words, never inside one.
HINT_WIDTH = 100
HINT_LINES = 8


def _wrap(text: str) -> list[str]:
    """`text` on lines of at most HINT_WIDTH characters, broken at spaces (continuations indented)."""
    text = _printable(text)
    if len(text) <= MAX_WIDTH:
        return [text]
    import textwrap
    lines = textwrap.wrap(text, width=HINT_WIDTH, subsequent_indent=" " * 8, break_long_words=False,
                          break_on_hyphens=False)
    if len(lines) > HINT_LINES:
        lines = lines[:HINT_LINES]
        words = lines[-1].split(" ")
        while words and len(" ".join(words)) > HINT_WIDTH - 4:
            words.pop()
        lines[-1] = " ".join(words) + " ..."
    return [_clip(line) for line in lines]


def short(text: str, width: int = 80) -> str:
    """A name (a path, a setting) cut in the middle to `width` characters, so that what a message
    says after it is never cut away with it."""
    return text if len(text) <= width else text[: width // 2 - 2] + "..." + text[-(width - width // 2 - 1):]


def _window(src: str, col: int, width: int = 100) -> tuple[str, int]:
    """Cut a long source line to `width` characters around column `col` (1-based)."""
    if len(src) <= width:
        return src, col
    start = max(0, min(col - 1 - width // 2, len(src) - width))
    piece = src[start: start + width]
    if start > 0:
        piece, col = "..." + piece[3:], col - start
    if start + width < len(src):
        piece = piece[:-3] + "..."
    return piece, col


def render(err: ArchcalcError, sources: dict[str, str] | None = None) -> str:
    """Format an error for a terminal: location, message, source line with caret, hint.

    `sources` maps a path to its text; the C YAML loader keeps no snippets, so the
    offending line is cut from the text we read ourselves. Long lines are cut around
    the caret and long lists of diagnostics are counted, never printed in full.
    """
    return render_diagnostics(err.diagnostics, sources, stopped=err.stopped)


def render_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str] | None = None,
                       label: str = "error", stopped: bool = False) -> str:
    """`render` for any diagnostics: errors, or with `label="warning"` what is not one. `stopped`:
    the check stopped at its limit of problems, so more may follow."""
    out: list[str] = []
    for d in diagnostics[:MAX_SHOWN]:
        msg = _clip(d.message)
        out.append(_printable(f"{label}: {d.loc}: {msg}" if d.loc else f"{label}: {msg}"))
        text = (sources or {}).get(d.loc.path) if d.loc else None
        if text is not None and d.loc and d.loc.line >= 1:
            lines = text.splitlines()
            if d.loc.line <= len(lines):
                src, col = _window(_printable(lines[d.loc.line - 1].replace("\t", " ")), d.loc.col)
                num = str(d.loc.line)
                out.append(f" {num} | {src}")
                if col:
                    out.append(f" {' ' * len(num)} | {' ' * (col - 1)}^")
        for note in d.notes[:MAX_SHOWN]:
            out.append(_clip(f"  note: {note}"))
        if d.hint:
            out.extend(_wrap(f"  hint: {d.hint}"))
    if len(diagnostics) > MAX_SHOWN:
        out.append(f"... and {len(diagnostics) - MAX_SHOWN:,} more {label}s"
                   + (" (the check stopped there; fix these first)" if stopped else ""))
    return "\n".join(out)


def describe(v: Any) -> str:
    """A received value as an error message names it: `'3x3' (text)`, `true (a boolean)`, `a list of 2`."""
    if isinstance(v, bool):
        return f"{str(v).lower()} (a boolean)"
    if isinstance(v, float):
        return f"{v!r} (a decimal number)"
    if isinstance(v, str):
        return f"'{v}' (text)"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "a mapping"
    if v is None:
        return "nothing (null)"
    return repr(v)


#: A hint that lists what there is names at most this many options (then how many in all).
MAX_LISTED = 12


def did_you_mean(word: Any, options: Iterable[Any], what: str = "known keys") -> str:
    """`did you mean 'conv'?` when a close match exists, else (some of) the list of `what` there is.

    Options that are not text (a YAML key written `null` or `3`) are left out: they are reported
    on their own, and no word is close to them.
    """
    opts = [o for o in options if isinstance(o, str)]
    close = close_matches(str(word), opts)
    if close:
        return f"did you mean '{close[0]}'?"
    if not opts:
        return ""
    more = f", ... ({len(opts):,} in all)" if len(opts) > MAX_LISTED else ""
    return f"{what}: {', '.join(opts[:MAX_LISTED])}{more}"


#: A did-you-mean compares the word with at most this many options (the first ones): difflib
#: costs a few microseconds an option, and a spec may name hundreds of thousands of things.
MAX_COMPARED = 10_000


def close_matches(word: str, options: Iterable[Any]) -> list[str]:
    """The closest option to `word`, if any is close (a list of at most one), for did-you-mean
    hints. difflib is imported here, on the error path only: it costs a millisecond at start-up."""
    import difflib
    from itertools import islice
    opts = list(islice((o for o in options if isinstance(o, str)), MAX_COMPARED))
    return difflib.get_close_matches(word, opts, n=1)


#: `typo_of` looks for a misspelling only in words up to this long: its edit distance costs the
#: product of two lengths, and no name people mistype by one letter is longer.
MAX_TYPO_LENGTH = 64


def typo_of(word: str, options: Iterable[str]) -> str | None:
    """The option `word` is a misspelling of, if any: one edit away (insert, delete, replace, or
    swap two neighbours: `covn` -> conv), two for words of eight letters or more. At most
    MAX_COMPARED options are compared, as for `close_matches`.

    Unlike `close_matches`, this never offers a different word that merely looks alike for a
    name that means something else: callers check their vocabulary first (`gelu` is not `relu`).
    """
    if len(word) > MAX_TYPO_LENGTH:
        return None
    from itertools import islice
    allowed = 1 if len(word) < 8 else 2
    best: tuple[int, str] | None = None
    for opt in islice((o for o in options if isinstance(o, str)), MAX_COMPARED):
        d = _edits(word, opt)
        if d <= allowed and (best is None or d < best[0]):
            best = (d, opt)
    return best[1] if best else None


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, replacements, adjacent swaps."""
    if abs(len(a) - len(b)) > 2:
        return 3
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]

