"""Errors that carry a place in a spec file.

Every failure a user can cause is an `ArchcalcError`; the CLI renders it as
`file:line:col: message`, the offending line, a caret and a hint. Nothing below
the CLI prints or exits, so library users get the same information as data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A 1-based position in a source text (`col` 0 when only the line is known)."""

    path: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        if self.col:
            return f"{self.path}:{self.line}:{self.col}"
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: where, what, and what to change."""

    message: str
    loc: Location | None = None
    hint: str | None = None


class ArchcalcError(Exception):
    """Base of every error a user can cause; `exit_code` is what the CLI returns."""

    exit_code = 1

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


def render(err: ArchcalcError, sources: dict[str, str] | None = None) -> str:
    """Format an error for a terminal: location, message, source line with caret, hint.

    `sources` maps a path to its text; the C YAML loader keeps no snippets, so the
    offending line is cut from the text we read ourselves.
    """
    out: list[str] = []
    for d in err.diagnostics:
        head = f"error: {d.loc}: {d.message}" if d.loc else f"error: {d.message}"
        out.append(head)
        text = (sources or {}).get(d.loc.path) if d.loc else None
        if text is not None and d.loc and d.loc.line >= 1:
            lines = text.splitlines()
            if d.loc.line <= len(lines):
                src = lines[d.loc.line - 1].replace("\t", " ")
                num = str(d.loc.line)
                out.append(f" {num} | {src}")
                if d.loc.col:
                    out.append(f" {' ' * len(num)} | {' ' * (d.loc.col - 1)}^")
        if d.hint:
            out.append(f"  hint: {d.hint}")
    return "\n".join(out)
