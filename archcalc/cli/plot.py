"""`archcalc plot SPEC`: per-layer MACs and parameters as a bar chart (needs the `plot` extra)."""

from __future__ import annotations

from typing import Any

import click

from ._completion import complete_spec
from .common import analyze_cli, depth_option, output_file, spec_options


@click.command()
@click.argument("spec", metavar="SPEC", type=click.Path(allow_dash=True), shell_complete=complete_spec)
@spec_options(dtypes=())
@depth_option
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="cost.png", show_default=True,
              help="Image to write: .png, .svg or .pdf.")
@click.option("--all-layers", is_flag=True, help="Also show layers with neither parameters nor MACs.")
def command(spec: str, depth: int | None, output: str, all_layers: bool, **opts: Any) -> None:
    """Chart SPEC's per-layer MACs and parameters as bars (needs matplotlib: pip install matplotlib).

    \b
    archcalc plot specs/vgg16.yaml --depth 1 -o vgg16.svg
    """
    from .. import plot
    plot.require_matplotlib()  # before any work: the message names the extra to install
    plot.check_format(output_file("-o", output))  # and a path it cannot write
    an = analyze_cli(spec, **opts)
    path = plot.plot_costs(an, output, depth, all_layers)
    click.echo(f"wrote {path}", err=True)
