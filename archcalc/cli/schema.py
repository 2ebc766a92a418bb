"""`archcalc schema`: the JSON Schema of the spec language, for editors and validators."""

from __future__ import annotations

import click


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="Write to FILE instead of standard output.")
def command(output: str) -> None:
    """Print a JSON Schema (draft 2020-12) of the spec language, generated from the layer kinds.

    \b
    archcalc schema -o archcalc.schema.json
    then start a spec with:  # yaml-language-server: $schema=archcalc.schema.json
    """
    from ..schema import to_json
    from .common import output_file, write_output
    if output != "-":
        output_file("-o", output)
    text = to_json()
    if output == "-":
        click.echo(text, nl=False)
    else:
        write_output("-o", output, text)
        click.echo(f"wrote {output}", err=True)
