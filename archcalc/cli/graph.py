"""`archcalc graph SPEC`: the layer graph as Mermaid, Graphviz DOT, or an image drawn by Graphviz."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ._completion import complete_spec
from .common import analyze_cli, depth_option, output_file, spec_options, write_output

#: file suffix -> the format it holds (a .md file gets a fenced ```mermaid block)
SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".markdown": "mermaid",
            ".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf"}
FORMATS = ("mermaid", "dot", "svg", "png", "pdf")
LABELS = {"mermaid": "Mermaid", "dot": "DOT", "svg": "SVG", "png": "PNG", "pdf": "PDF"}
KNOWN = ".mmd or .md (Mermaid), .dot or .gv (DOT), .svg, .png or .pdf (drawn by Graphviz)"


def choose_format(fmt: str | None, output: str) -> str:
    """The format to write: from -o's suffix, which --format must agree with when both are given."""
    if output == "-":
        return fmt or "mermaid"
    suffix = Path(output).suffix.lower()
    implied = SUFFIXES.get(suffix)
    if implied is None:
        if fmt is None:
            what = f"the suffix {suffix!r}" if suffix else "a name without a suffix"
            raise click.UsageError(f"-o {output}: cannot tell the format from {what}; name the file {KNOWN}, "
                                   "or give --format")
        return fmt
    if fmt is not None and fmt != implied:
        raise click.UsageError(f"-o {output} names a {LABELS[implied]} file, but --format is {fmt}: drop --format "
                               f"(the suffix decides), or name the file for {LABELS[fmt]}")
    return implied


@click.command()
@click.argument("spec", metavar="SPEC", type=click.Path(allow_dash=True), shell_complete=complete_spec)
@spec_options(dtypes=())
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default=None,
              help="mermaid (renders in GitHub/GitLab Markdown; the default), dot (Graphviz), or svg, png, pdf "
                   "(drawn by Graphviz's dot). With -o, the file's suffix decides.")
@depth_option
@click.option("--max-edges", type=click.IntRange(min=0), default=500, show_default=True,
              help="Mermaid only: fold blocks (as --depth) until at most this many edges remain, Mermaid's "
                   "default limit; 0 never folds.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Write to FILE: .mmd or .md (Mermaid; .md gets a ```mermaid fence), .dot or .gv (DOT), "
                   ".svg, .png or .pdf (Graphviz).")
def command(spec: str, fmt: str | None, depth: int | None, max_edges: int, output: str, **opts: Any) -> None:
    """Draw SPEC's layer graph: each node a layer (kind, output shape, cost), each edge an input.

    \b
    archcalc graph specs/examples/inception_module.yaml            # Mermaid
    archcalc graph resnet50 -o resnet50.md                         # a Markdown file with the diagram
    archcalc graph vgg16 --depth 1 -o vgg16.svg                    # an image (needs Graphviz)
    """
    from .. import diagram
    fmt = choose_format(fmt, output)
    binary = fmt in ("png", "pdf")
    if output == "-" and binary and sys.stdout.isatty():
        raise click.UsageError(f"{LABELS[fmt]} is binary: write it with -o FILE.{fmt}, or redirect standard output")
    if output != "-":
        output_file("-o", output)  # before the work: a missing folder is said at once
    if fmt in diagram.IMAGES:
        diagram.require_dot(fmt)  # said before any work
    an = analyze_cli(spec, **opts)
    drawing = diagram.draw(an, "dot" if fmt in diagram.IMAGES else fmt, depth, max_edges)
    if drawing.note:
        click.echo(f"note: {drawing.note}", err=True)
    data: str | bytes = drawing.text
    if fmt in diagram.IMAGES:
        data = diagram.to_image(drawing.text, fmt)
    elif output.lower().endswith((".md", ".markdown")):
        data = f"```{fmt}\n{drawing.text}```\n"
    if output == "-":
        click.echo(data, nl=False)  # bytes go to the binary stream
        return
    write_output("-o", output, data)
    click.echo(f"wrote {output}", err=True)
