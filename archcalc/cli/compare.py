"""`archcalc compare A B [C ...]`: totals side by side with exact ratios, layers aligned by name."""

from __future__ import annotations

from typing import Any

import click

from ._completion import complete_spec
from ._conventions import convention_options, convention_torch_ops
from .common import (
    depth_option,
    format_option,
    print_lines,
    shapes_option,
    spec_options,
    training_choice,
    training_options,
)


def split_spec(arg: str) -> tuple[str, list[str]]:
    """`specs/mobilenet_v1.yaml@alpha=0.5,resolution=160` -> (path, ["alpha=0.5", "resolution=160"]);
    a variant's name comes first in the list (`x.yaml@b3,resolution=300` -> (path, ["b3", ...])).
    See `archcalc.spec.split_selector`."""
    from ..spec import split_selector
    path, variant, sets = split_selector(arg)
    return path, ([variant] if variant is not None else []) + sets


def build(args: tuple[str, ...], sets: tuple[str, ...] = (), input_: str | None = None,
          batch: int | None = None, dtype: str = "float32", max_nodes: int | None = None,
          convention: str | None = None, torch: dict[str, str] | None = None, train: bool = False,
          training: Any = None) -> Any:
    """Load each spec file once and analyse it under the shared options and its own variant
    and overrides (SPEC[@VARIANT][,NAME=VALUE...])."""
    from .. import load
    from ..compare import Entry, compare, label
    from ..errors import ArchcalcError, short
    from ..graph import overrides_for
    from .common import analyze_cli, at, noting, select, spec_path
    loaded: dict[str, Any] = {}
    entries = []
    for i, arg in enumerate(args):
        path, variant, own = select(arg)
        if path not in loaded:
            loaded[path] = load(spec_path(path))
        where = f"[{label(i)}] {short(arg, 160)}" if own or variant else None
        try:
            mine = overrides_for(loaded[path], own, at(path))  # evaluated, for the titles
        except ArchcalcError as e:
            raise noting(e, where) from None
        an = analyze_cli(loaded[path], sets, input_, batch, dtype, max_nodes, overrides=mine, train=train,
                         variant=variant, note=where)
        entries.append(Entry(label(i), an, mine))
    return compare(entries, convention=convention, torch=torch, training=training)


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC[@VARIANT][,NAME=VALUE,...]...",
                shell_complete=complete_spec)
@spec_options
@format_option
@depth_option(totals=True)
@click.option("--totals", "totals_only", is_flag=True, help="Only the totals: no layer table.")
@click.option("--layers", "csv_layers", is_flag=True,
              help="With --format csv: one row per layer and spec instead of one row per spec.")
@convention_options
@click.option("--explain", is_flag=True,
              help="With --convention: the tool's count category by category, each spec's and the differences.")
@shapes_option
@training_options
def command(specs: tuple[str, ...], fmt: str, depth: int | None, totals_only: bool, csv_layers: bool,
            convention: str | None, torch_ops: tuple[str, ...], explain: bool, shapes: str | None,
            optimizer: str | None, amp: bool, checkpoint: tuple[str, ...], **opts: Any) -> None:
    """Compare specs: totals side by side, each with its exact ratio to the first, and their
    layers aligned by name.

    A spec may carry its own variant and variable settings after '@':
    `archcalc compare specs/mobilenet_v1.yaml specs/mobilenet_v1.yaml@alpha=0.5,resolution=160`,
    `archcalc compare specs/resnet50.yaml specs/resnet50.yaml@resnext50_32x4d`.
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
    training = training_choice(opts.get("train", False), optimizer, amp, checkpoint)
    torch = convention_torch_ops(torch_ops, convention, training=training is not None)
    c = build(specs, convention=convention, torch=torch, training=training, **opts)
    if fmt == "json":
        click.echo(cmp.to_json(c, depth, not totals_only), nl=False)
    elif fmt == "csv":
        click.echo(cmp.to_csv(c, depth, csv_layers), nl=False)
    elif fmt == "markdown":
        click.echo(cmp.to_markdown(c, depth, not totals_only, explain), nl=False)
    else:
        print_lines(lambda width: cmp.table(c, depth, not totals_only, explain, width, shapes))
