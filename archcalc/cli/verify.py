"""`archcalc verify SPEC`: the executor's counts beside the walker's; exit 3 when any differs."""

from __future__ import annotations

from typing import Any

import click

from ..execute import DTYPES
from ._completion import complete_spec
from .common import exec_options, execute_cli, print_lines, shapes_option, spec_options

DISAGREE = 3

#: How `verify` fits a narrow terminal (textable.layout): figures rounded, long names shortened
#: in the middle, `kind` left out, then both output-shape columns (the verdict still covers
#: shapes, and stderr names every figure that differs), names shortened further.
VERIFY_PLAN: tuple[tuple[object, ...], ...] = (
    ("compact",), ("names", 24), ("drop", "kind"), ("drop", "output shape"), ("names", 12))


def compare(an: Any, ex: Any) -> list[tuple[str, str, str, Any, Any]]:
    """(layer, kind, figure, analytic, executed) for every figure that differs."""
    bad = []
    for row, run in zip(an.rows, ex.layers, strict=True):
        for what, a, e in (("output shape", tuple(row.output_shape), run.output_shape),
                           ("params", row.params, run.params), ("multiplications", row.macs, run.macs)):
            if a != e:
                bad.append((row.name, row.kind, what, a, e))
    return bad


def lines(an: Any, ex: Any, bad: list[tuple[str, str, str, Any, Any]], show_all: bool, shape: Any,
          width: int | None) -> list[tuple[str, str]]:
    """The comparison as styled lines: a title, the layers (all, or those that differ), the total."""
    from .. import textable
    from ..render import figure_column
    from ..textable import Column
    badnames = {b[0] for b in bad}
    pairs = [(row, run) for row, run in zip(an.rows, ex.layers, strict=True) if show_all or row.name in badnames]
    tot = an.totals
    cols = [Column("layer", [r.name for r, _ in pairs], "total", names=True),
            Column("kind", [r.kind for r, _ in pairs], ""),
            Column("analytic", [shape(r.output_shape) for r, _ in pairs], "", True, key="output shape",
                   group="output shape"),
            Column("executed", [shape(x.output_shape) for _, x in pairs], "", True, key="output shape",
                   group="output shape"),
            figure_column("analytic", [r.params for r, _ in pairs], tot.params, group="weights"),
            figure_column("executed", [x.params for _, x in pairs], ex.params, group="weights"),
            figure_column("analytic", [r.macs for r, _ in pairs], tot.macs, group="mults"),
            figure_column("executed", [x.macs for _, x in pairs], ex.macs, group="mults"),
            Column("verdict", ["DIFFERS" if r.name in badnames else "ok" for r, _ in pairs],
                   "DIFFERS" if bad else "ok")]
    body, done = textable.layout(cols, width, VERIFY_PLAN)
    mode = ", a training pass" if an.training else ""
    return [(f"{an.name}: analytic vs executed (batch {ex.batch}{mode}). weights: parameters and buffers "
             "(BatchNorm running statistics); mults: multiplications.", "dim"),
            ("", ""), *body, *textable.fitted_note(done, width)]


@click.command()
@click.argument("spec", metavar="SPEC", shell_complete=complete_spec)
@spec_options(dtypes=DTYPES)
@exec_options
@shapes_option
@click.option("--all", "show_all", is_flag=True, help="List every layer, not only those that differ.")
def command(spec: str, show_all: bool, shapes: str | None, **opts: Any) -> None:
    """Run SPEC on NumPy and check its shapes, parameters and multiplications against the analysis."""
    from ..shape import fmt_as, shape_style
    an, ex = execute_cli(spec, analyze=True, **opts)
    bad = compare(an, ex)
    style = shape_style(shapes, an.graph.layout)
    print_lines(lambda width: lines(an, ex, bad, show_all, lambda s: fmt_as(s, style, ex.batch), width))
    n = len(an.rows)
    tot = an.totals
    if bad:
        for name, kind, what, a, e in bad:
            click.echo(f"disagree: layer '{name}' ({kind}): {what}: analytic {a}, executed {e}", err=True)
        click.echo(f"{len({b[0] for b in bad})} of {n} layers disagree", err=True)
        click.get_current_context().exit(DISAGREE)
    verdict = (f"all {n} layers agree: shapes, {tot.params:,} weights (parameters and buffers), "
               f"{tot.macs:,} multiplications (executed in {ex.seconds * 1e3:.0f} ms)")
    print_lines(lambda _width: [(verdict, "prose")])
