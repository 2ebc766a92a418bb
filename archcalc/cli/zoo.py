"""`archcalc zoo [NAME]`: the models shipped with archcalc, their sources and declared figures."""

from __future__ import annotations

import json
from typing import Any

import click

from ._completion import complete_zoo_name
from .common import print_lines

#: markers in the list: a figure declared with a tolerance (a rounded published figure), and a
#: parameter count of trainable parameters only (what torchvision's num_params counts)
ROUNDED, TRAINABLE = "~", "*"


def _figure(f: Any) -> str:
    if f is None:
        return ""
    return (ROUNDED if f.tolerance else "") + f"{f.value:,}"


def _params(e: Any) -> str:
    f = e.params
    return "" if f is None else _figure(f) + (f" {TRAINABLE}" if f.key == "trainable_params" else "  ")


def _table(entries: list[Any], width: int | None) -> list[tuple[str, str]]:
    from .. import __version__
    from ..textable import grid
    from ..zoo import root
    header = ["name", "params", "MACs", "model", "source"]
    rows = [[e.name, _params(e), _figure(e.macs), e.model, e.source] for e in entries]
    right = [False, True, True, False, False]
    lines = grid(header, rows, right=right)
    # a narrow terminal: drop the source, then the model's title (both in `archcalc zoo NAME`);
    # the figures stay whole, and a row is cut rather than wrapped only when nothing else fits
    for keep in (4, 3):
        if width is None or max(len(t) for t, _ in lines) <= width:
            break
        lines = grid(header[:keep], [r[:keep] for r in rows], right=right[:keep])
    if width is not None:
        lines = [(t if len(t) <= width else t[: width - 3] + "...", s) for t, s in lines]
    return [(f"{len(entries)} models shipped with archcalc {__version__} ({root()}); "
             "figures as each spec's `expect:` block declares them", "dim"),
            *lines,
            (f"{ROUNDED} declared with a tolerance (a rounded published figure); {TRAINABLE} trainable "
             "parameters only (torchvision's num_params: BatchNorm statistics are buffers)", "dim"),
            ("`archcalc zoo NAME` for a model's notes and every figure's source; `archcalc summarize NAME` "
             "to count it", "dim")]


def _detail(e: Any) -> str:
    out = [f"{e.name}: {e.model}", f"file: {e.path}", ""]
    out += [f"  {line}" if line else "" for line in e.header]
    if e.figures:
        out += ["", "declared figures (expect:):"]
        values = {k: (" x ".join(map(str, f.value)) if isinstance(f.value, tuple) else f"{f.value:,}")
                  + (f" ± {f.tolerance:,}" if f.tolerance else "") for k, f in e.figures.items()}
        w, v = max(map(len, values)), max(map(len, values.values()))
        out += [f"  {k:<{w}}  {values[k]:>{v}}  source: {f.source}" for k, f in e.figures.items()]
    out += ["", f"archcalc summarize {e.name}        # count it",
            f"archcalc zoo {e.name} --yaml > {e.name.rsplit('/', 1)[-1]}.yaml   # a copy to edit"]
    return "\n".join(out) + "\n"


@click.command()
@click.argument("name", required=False, shell_complete=complete_zoo_name)
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print NAME's spec itself (to copy and edit).")
@click.option("--path", "as_path", is_flag=True,
              help="Print where the zoo is installed (with NAME: that spec's file), e.g. for `archcalc check`.")
def command(name: str | None, fmt: str, as_yaml: bool, as_path: bool) -> None:
    """List the models shipped with archcalc with their sources and headline figures, or
    describe NAME. Any command that takes a spec takes a zoo name: `archcalc summarize vgg16`
    (a file of that name, if there is one, comes first).
    """
    from ..errors import SpecError
    from ..zoo import entries, entry, root
    if as_yaml and name is None:
        raise click.UsageError("--yaml prints one model's spec: give its NAME (see `archcalc zoo`)")
    if root() is None:
        raise SpecError("this archcalc has no zoo: its specs folder is missing",
                        hint="reinstall archcalc (pip install . from a checkout)")
    if name is None:
        if as_path:
            click.echo(str(root()))
        elif fmt == "json":
            click.echo(json.dumps({"schema_version": 1, "models": [e.to_dict() for e in entries()]}, indent=2))
        else:
            models = entries()
            print_lines(lambda width: _table(models, width))
        return
    e = entry(name)
    if as_path:
        click.echo(str(e.path))
    elif as_yaml:
        click.echo(e.path.read_text(encoding="utf-8"), nl=False)
    elif fmt == "json":
        click.echo(json.dumps({"schema_version": 1, **e.to_dict(), "header": e.header}, indent=2))
    else:
        click.echo(_detail(e), nl=False)
