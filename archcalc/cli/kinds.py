"""`archcalc kinds [NAME]`: the layer kinds, their fields with defaults, and their formulas."""

from __future__ import annotations

import inspect

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
        lo, hi = cls.arity
        click.echo(f"inputs: {lo if lo == hi else f'{lo} or more' if hi is None else f'{lo}-{hi}'}")
        if cls.fields:
            click.echo("fields:")
            w = max(len(k) for k in cls.fields)
            for k, f in cls.fields.items():
                click.echo(f"  {k:<{w}}  {f.describe_type():<24} {_default(f):<10} {f.doc}")
        return
    width = max(14, *(len(k) for k in KINDS))  # windowattention is the longest name
    for k, cls in KINDS.items():
        doc = (inspect.getdoc(cls) or "").splitlines()[0]
        fields = ", ".join(k2 if f.required else f"{k2}={_default(f)}" for k2, f in cls.fields.items())
        click.echo(f"{k:<{width}} {doc}")
        if fields:
            click.echo(f"{'':<{width}}   fields: {fields}")
    click.echo("\nEvery layer also takes: name, from (input layer names), repeat (copies), "
               "when (a condition).\nOther-op categories (never folded into MACs):")
    for k, v in OTHER_OPS.items():
        click.echo(f"  {k:<17} {v}")
