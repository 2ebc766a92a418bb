"""`archcalc schema`: the JSON Schema of the spec language, for editors and validators."""

from __future__ import annotations

from pathlib import Path

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
    text = to_json()
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
