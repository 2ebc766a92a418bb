"""`archcalc summarize SPEC`: every layer's shape, parameters and MACs, with totals."""

from __future__ import annotations

from typing import Any

import click

from ._completion import complete_spec
from ._conventions import convention_options, convention_torch_ops
from .common import (
    analyze_cli,
    depth_option,
    format_option,
    print_lines,
    shapes_option,
    spec_options,
    training_choice,
    training_options,
)


@click.command()
@click.argument("spec", metavar="SPEC", shell_complete=complete_spec)
@spec_options
@format_option
@depth_option(totals=True)
@click.option("--explain", is_flag=True, help="Print every layer's formulas with their numbers.")
@click.option("--other", is_flag=True, help="Add a column per category of other (non-MAC) operations.")
@click.option("--bars", type=click.Choice(["macs", "params", "both", "none"]), default="macs", show_default=True,
              help="Table only: a bar per row showing the layer's share of MACs, of parameters, or both.")
@convention_options
@click.option("--rf", is_flag=True, help="Add a receptive-field column (size, jump, start in input pixels).")
@click.option("--memory", is_flag=True, help="Add parameter-bytes and activation-bytes columns.")
@shapes_option
@training_options
def command(spec: str, fmt: str, depth: int | None, explain: bool, other: bool, bars: str, convention: str | None,
            torch_ops: tuple[str, ...], rf: bool, memory: bool, shapes: str | None, optimizer: str | None, amp: bool,
            checkpoint: tuple[str, ...], **opts: Any) -> None:
    """Summarise SPEC (a YAML file, or - for standard input): one row per layer, then totals.

    With --train, a training step as well: each layer's backward MACs and the activations autograd
    keeps for it, and the step's MACs, gradients, optimizer state and peak memory (docs/training.md).
    """
    from .. import render
    options = training_choice(opts.get("train", False), optimizer, amp, checkpoint)
    an = analyze_cli(spec, **opts)
    torch = convention_torch_ops(torch_ops, convention, training=options is not None)
    step = None
    if options is not None:
        from ..training import step as training_step
        step = training_step(an, options, torch=torch)
    extras = render.Extras(an, rf=rf, memory=memory, convention=convention, torch=torch, step=step)
    if fmt == "json":
        from ..report import iter_json
        for piece in iter_json(an, depth, explain, convention, torch, step):  # a layer at a time: finding 33
            click.echo(piece, nl=False)
    elif fmt == "csv":
        click.echo(render.to_csv(an, depth, step), nl=False)
    elif fmt == "markdown":
        click.echo(render.to_markdown(an, depth, other, extras, shapes), nl=False)
        if explain:
            click.echo("\n```\n" + render.explain(an, convention, torch, depth, step) + "```")
    elif explain:
        print_lines(lambda _width: render.explain_lines(an, convention, torch, depth, step))
    else:
        shown = {"macs": ("macs",), "params": ("params",), "both": ("macs", "params"), "none": ()}[bars]
        print_lines(lambda width: render.table(an, depth, other, extras, bars=shown, width=width, shapes=shapes))
