"""`archcalc kinds [NAME]`: the layer kinds, their fields with defaults, and their formulas."""

from __future__ import annotations

import inspect
import textwrap

import click

from ._completion import complete_kind


def _default(f) -> str:  # type: ignore[no-untyped-def]
    from fractions import Fraction
    if f.required:
        return "required"
    d = f.default
    if isinstance(d, Fraction):
        return f"{float(d):g}"
    if isinstance(d, bool):
        return str(d).lower()
    if f.name == "stride" and d == 0:
        return "size"
    return str(d)


def _field_lines(fields: dict) -> list[str]:  # type: ignore[type-arg]
    """One aligned row per field: name, type, default, meaning. On a terminal (or with $COLUMNS)
    the type and the meaning wrap within their own columns, so no row runs past the width."""
    import textwrap

    from ..textable import GAP
    from .common import output_width
    width = output_width()
    names = list(fields)
    types = [f.describe_type() for f in fields.values()]
    defaults = [_default(f) for f in fields.values()]
    docs = [f.doc for f in fields.values()]
    wn, wd = max(map(len, names)), max(map(len, defaults))
    wt = max(map(len, types)) if width is None else min(max(map(len, types)), 24)
    start = 2 + wn + wt + wd + 3 * len(GAP)
    wdoc = None if width is None else max(20, width - start)
    out = []
    for name, typ, default, doc in zip(names, types, defaults, docs, strict=True):
        tl = textwrap.wrap(typ, wt) if width is not None else [typ]
        dl = (textwrap.wrap(doc, wdoc) if wdoc is not None else [doc]) or [""]
        for k in range(max(len(tl), len(dl))):
            cells = [name if k == 0 else "", tl[k] if k < len(tl) else "", default if k == 0 else "",
                     dl[k] if k < len(dl) else ""]
            out.append(("  " + GAP.join(c.ljust(w) for c, w in zip(cells, (wn, wt, wd, 0), strict=True))).rstrip())
    return out


@click.command()
@click.argument("name", required=False, shell_complete=complete_kind)
def command(name: str | None) -> None:
    """List the layer kinds, or describe NAME: fields, defaults and formulas."""
    from .. import KINDS
    from ..errors import KindError, SpecError
    from ..kinds import OTHER_OPS, lookup
    if name:
        try:
            cls = lookup(name)
        except KindError as e:
            raise SpecError(e.message, hint=e.hint) from None
        click.echo(f"{cls.name}: {inspect.getdoc(cls)}\n")
        from ..torch_ops import allowed
        from .common import output_width
        kept = " ".join(inspect.cleandoc(cls.saved.__doc__ or "").split("\n\n")[0].split())
        click.echo(f"torch ops: {', '.join(allowed(cls.name))}")
        click.echo(textwrap.fill(f"training (docs/training.md): {kept}", output_width() or 100,
                                 subsequent_indent="  ") + "\n")
        lo, hi = cls.arity
        click.echo(f"inputs: {lo if lo == hi else f'{lo} or more' if hi is None else f'{lo}-{hi}'}")
        if cls.fields:
            click.echo("fields:")
            for line in _field_lines(cls.fields):
                click.echo(line)
        return
    w = max(map(len, KINDS))  # the names' column, as wide as the longest kind
    for k, cls in KINDS.items():
        doc = (inspect.getdoc(cls) or "").splitlines()[0]
        fields = ", ".join(k2 if f.required else f"{k2}={_default(f)}" for k2, f in cls.fields.items())
        click.echo(f"{k:<{w}}  {doc}")
        if fields:
            click.echo(f"{'':<{w}}    fields: {fields}")
    click.echo("\nEvery layer also takes: name, from (input layer names), repeat (copies), "
               "when (a condition).\nOther-op categories (never folded into MACs):")
    w = max(map(len, OTHER_OPS))
    for k, v in OTHER_OPS.items():
        click.echo(f"  {k:<{w}}  {v}")
