"""`archcalc verify SPEC`: the executor's counts beside the walker's; exit 3 when any differs."""

from __future__ import annotations

from typing import Any

import click

from .common import exec_options, execute_cli, print_renderable, spec_options

DISAGREE = 3


def compare(an: Any, ex: Any) -> list[tuple[str, str, str, Any, Any]]:
    """(layer, kind, figure, analytic, executed) for every figure that differs."""
    bad = []
    for row, run in zip(an.rows, ex.layers, strict=True):
        for what, a, e in (("output shape", tuple(row.output_shape), run.output_shape),
                           ("params", row.params, run.params), ("multiplications", row.macs, run.macs)):
            if a != e:
                bad.append((row.name, row.kind, what, a, e))
    return bad


@click.command()
@click.argument("spec", metavar="SPEC")
@spec_options
@exec_options
@click.option("--all", "show_all", is_flag=True, help="List every layer, not only those that differ.")
def command(spec: str, show_all: bool, **opts: Any) -> None:
    """Run SPEC on NumPy and check its shapes, parameters and multiplications against the analysis."""
    from rich.table import Table
    an, ex = execute_cli(spec, analyze=True, **opts)
    bad = compare(an, ex)
    badnames = {b[0] for b in bad}
    mode = ", a training pass" if an.training else ""
    t = Table(title=f"{an.name}: analytic vs executed (batch {ex.batch}{mode})")
    for col, just in (("layer", "left"), ("kind", "left"), ("shape", "right"), ("executed", "right"),
                      ("params", "right"), ("executed", "right"), ("mults", "right"), ("executed", "right"),
                      ("verdict", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    shape = lambda s: " x ".join(map(str, s))  # noqa: E731
    for row, run in zip(an.rows, ex.layers, strict=True):
        if show_all or row.name in badnames:
            t.add_row(row.name, row.kind, shape(row.output_shape), shape(run.output_shape), f"{row.params:,}",
                      f"{run.params:,}", f"{row.macs:,}", f"{run.macs:,}",
                      "DIFFERS" if row.name in badnames else "ok")
    tot = an.totals
    t.add_section()
    t.add_row("total", "", "", "", f"{tot.params:,}", f"{ex.params:,}", f"{tot.macs:,}", f"{ex.macs:,}",
              "DIFFERS" if bad else "ok")
    print_renderable(t)
    n = len(an.rows)
    if bad:
        for name, kind, what, a, e in bad:
            click.echo(f"disagree: layer '{name}' ({kind}): {what}: analytic {a}, executed {e}", err=True)
        click.echo(f"{len(badnames)} of {n} layers disagree", err=True)
        click.get_current_context().exit(DISAGREE)
    click.echo(f"all {n} layers agree: shapes, {tot.params:,} parameters, {tot.macs:,} multiplications "
               f"(executed in {ex.seconds * 1e3:.0f} ms)")
