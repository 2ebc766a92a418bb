"""`archcalc graph SPEC`: the layer graph as a Mermaid or Graphviz DOT diagram."""

from __future__ import annotations

from typing import Any

import click

from .common import analyze_cli, depth_option, output_file, spec_options, write_output


@click.command()
@click.argument("spec", metavar="SPEC", type=click.Path(allow_dash=True))
@spec_options
@click.option("--format", "-f", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True, help="Mermaid (renders in GitHub/GitLab Markdown) or DOT (Graphviz).")
@depth_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Write to FILE instead of standard output; a .md file gets a fenced ```mermaid block.")
def command(spec: str, fmt: str, depth: int | None, output: str, **opts: Any) -> None:
    """Draw SPEC's layer graph: each node a layer (kind, output shape, cost), each edge an input.

    \b
    archcalc graph specs/examples/inception_module.yaml            # Mermaid
    archcalc graph specs/vgg16.yaml --depth 1 -f dot | dot -Tsvg > vgg16.svg
    """
    from .. import diagram
    if output != "-":
        output_file("-o", output)  # before the work: a missing folder is said at once
    an = analyze_cli(spec, **opts)
    text = diagram.render(an, fmt, depth)
    if output == "-":
        click.echo(text, nl=False)
        return
    if output.endswith(".md"):
        text = f"```{fmt}\n{text}```\n"
    write_output("-o", output, text)
    click.echo(f"wrote {output}", err=True)
