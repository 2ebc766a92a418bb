"""`archcalc compare A B [C ...]`: totals side by side with exact ratios, layers aligned by name."""

from __future__ import annotations

from typing import Any

import click

from ._conventions import convention_options, convention_torch_ops
from .common import depth_option, format_option, print_lines, spec_options


def split_spec(arg: str) -> tuple[str, list[str]]:
    """`specs/mobilenet_v1.yaml@alpha=0.5,resolution=160` -> (path, ["alpha=0.5", "resolution=160"]).

    An argument naming an existing file is a path even if it holds '@'. Commas inside
    parentheses (`make_divisible(32 * 0.5, 8)`) do not split.
    """
    from ..errors import SpecError
    if "@" not in arg or _is_file(arg):
        return arg, []
    path, _, rest = arg.rpartition("@")
    if not path:
        raise SpecError(f"{_typed(arg)}: no spec file before '@'",
                        hint="write SPEC@NAME=VALUE, e.g. specs/mobilenet_v1.yaml@alpha=0.5")
    parts, depth, cur = [], 0, ""
    for ch in rest:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    parts.append(cur)
    return path, [p.strip() for p in parts if p.strip()]


def _is_file(arg: str) -> bool:
    """Whether `arg` names an existing file (a name too long for the file system names none)."""
    from pathlib import Path
    try:
        return Path(arg).exists()
    except OSError:
        return False


def _typed(text: str) -> str:
    from ..graph import _typed as cut
    return cut(text)


def build(args: tuple[str, ...], sets: tuple[str, ...] = (), input_: str | None = None,
          batch: int | None = None, dtype: str = "float32", max_nodes: int | None = None,
          convention: str | None = None, torch: dict[str, str] | None = None) -> Any:
    """Load each spec file once and analyse it under the shared options and its own overrides."""
    from .. import analyze, load
    from ..compare import Entry, compare, label
    from ..errors import ArchcalcError, short
    from ..graph import Limits, overrides_for
    from .common import noting, parse_sets, parse_shape, settings_note, spec_path
    limits = Limits(max_nodes=max_nodes) if max_nodes else None
    shape = parse_shape(input_) if input_ else None
    shared = parse_sets(sets)
    loaded: dict[str, Any] = {}
    entries = []
    for i, arg in enumerate(args):
        path, own = split_spec(arg)
        mine = parse_sets(tuple(own), f"{_typed(path)}@")
        if path not in loaded:
            loaded[path] = load(spec_path(path))
        try:
            mine = overrides_for(loaded[path], mine, f"{_typed(path)}@")  # evaluated, for the titles
            an = analyze(loaded[path], overrides={**shared, **mine}, input_shape=shape, batch=batch,
                         dtype=dtype, limits=limits)
        except ArchcalcError as e:
            note = settings_note(sets, input_, batch)
            where = f"[{label(i)}] {short(arg, 160)}" if own else None
            raise noting(e, ", ".join(x for x in (where, note) if x) or None) from None
        entries.append(Entry(label(i), an, mine))
    return compare(entries, convention=convention, torch=torch)


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC[@NAME=VALUE,...]...")
@spec_options
@format_option
@depth_option
@click.option("--totals", "totals_only", is_flag=True, help="Only the totals: no layer table.")
@click.option("--layers", "csv_layers", is_flag=True,
              help="With --format csv: one row per layer and spec instead of one row per spec.")
@convention_options
@click.option("--explain", is_flag=True,
              help="With --convention: the tool's count category by category, each spec's and the differences.")
def command(specs: tuple[str, ...], fmt: str, depth: int | None, totals_only: bool, csv_layers: bool,
            convention: str | None, torch_ops: tuple[str, ...], explain: bool, **opts: Any) -> None:
    """Compare specs: totals side by side, each with its exact ratio to the first, and their
    layers aligned by name.

    A spec may carry its own variable settings after '@':
    `archcalc compare specs/mobilenet_v1.yaml specs/mobilenet_v1.yaml@alpha=0.5,resolution=160`.
    --set, --input, --batch and --dtype apply to every spec (an '@' setting wins over --set).
    --convention adds what that tool would count for each spec; --torch-op applies to every spec
    that has the layer.
    """
    from .. import compare as cmp
    if len(specs) < 2:
        raise click.UsageError("compare needs at least two specs (the same file twice with '@' settings "
                               "compares one network under two settings)")
    if explain and convention is None:
        raise click.UsageError("--explain breaks a convention's count down by category: add --convention NAME")
    if explain and fmt == "csv":
        raise click.UsageError("--explain is for table and markdown output (JSON carries every spec's "
                               "breakdown under specs[].convention)")
    torch = convention_torch_ops(torch_ops, convention)
    c = build(specs, convention=convention, torch=torch, **opts)
    if fmt == "json":
        click.echo(cmp.to_json(c, depth, not totals_only), nl=False)
    elif fmt == "csv":
        click.echo(cmp.to_csv(c, depth, csv_layers), nl=False)
    elif fmt == "markdown":
        click.echo(cmp.to_markdown(c, depth, not totals_only, explain), nl=False)
    else:
        print_lines(lambda _width: cmp.table(c, depth, not totals_only, explain))
