"""`archcalc sweep SPEC --set alpha=1,0.75 --set resolution=224,192`: one row per grid point."""

from __future__ import annotations

import re

import click

from ..walk import DTYPE_BYTES
from ._completion import complete_spec
from .common import format_option, print_lines, spec_path, train_option, training_choice, training_options


def split_top(text: str) -> list[str]:
    """Split on commas outside parentheses: `1, make_divisible(24, 8)` -> ['1', 'make_divisible(24, 8)']."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    parts.append(cur.strip())
    return parts


def parse_axes(sets: tuple[str, ...]) -> dict[str, list[str]]:
    from ..errors import SpecError
    axes: dict[str, list[str]] = {}
    for s in sets:
        if "=" not in s:
            raise SpecError(f"--set takes name=v1,v2,..., received {s!r}", hint="e.g. --set alpha=1,0.75,0.5")
        name, _, values = s.partition("=")
        name = name.strip()
        vals = [v for v in split_top(values) if v]
        if not vals:
            raise SpecError(f"--set {name}: no values given", hint=f"e.g. --set {name}=1,2,3")
        axes.setdefault(name, []).extend(vals)
    return axes


def parse_inputs(values: tuple[str, ...]) -> list[tuple[int, ...]]:
    """`--input 224x224x3,160x160x3` or repeated --input; a value without 'x' is one shape."""
    from .common import parse_shape
    out = []
    for v in values:
        parts = v.split(",") if any(c in v for c in "xX×") else [v]
        out += [parse_shape(p) for p in parts if p.strip()]
    return out


@click.command()
@click.argument("spec", metavar="SPEC[@VARIANT]", shell_complete=complete_spec)
@click.option("--set", "sets", multiple=True, metavar="NAME=V1,V2,...",
              help="A variable and the values to sweep (repeatable: the grid is every combination).")
@click.option("--input", "inputs", multiple=True, metavar="HxWxC[,HxWxC...]",
              help="Input shapes to sweep, e.g. --input 224x224x3,160x160x3 (repeatable).")
@click.option("--batch", "batches", metavar="N[,N...]", help="Batch sizes to sweep, e.g. --batch 1,8,32.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)),
              default="float32", show_default=True, help="Value type for memory figures.")
@click.option("--max-nodes", type=click.IntRange(min=1), default=None,
              help="Refuse specs that expand past this many layers (default 100,000).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw params and MACs against the swept variable (.png/.svg/.pdf; needs matplotlib).")
@train_option
@training_options
@format_option
def command(spec: str, sets: tuple[str, ...], inputs: tuple[str, ...], batches: str | None, dtype: str,
            max_nodes: int | None, fmt: str, plot_path: str | None, train: bool, optimizer: str | None, amp: bool,
            checkpoint: tuple[str, ...]) -> None:
    """Evaluate SPEC over a grid of variable values (and input shapes, batch sizes): one row per
    combination with parameters, MACs, FLOPs and memory. The first --set varies slowest.

    The spec is read once; each point re-expands it, so a sweep of thousands of points is quick.
    SPEC@VARIANT sweeps around one of the spec's variants (SPEC@VARIANT,NAME=VALUE fixes a
    variable as well).
    """
    from .. import load
    from .. import sweep as sw
    from ..errors import SpecError
    from ..graph import Limits
    bs = None
    if batches:
        from ..kinds.base import MAX_INT
        bs = []
        for b in split_top(batches):
            if b and (not re.fullmatch(r"[0-9]{1,19}", b) or not 1 <= int(b) <= MAX_INT):  # no sign, no 1e3, no ²
                raise SpecError(f"--batch {batches[:60]}: {b[:30]!r} is not a whole number from 1 to 2^63 - 1",
                                hint="e.g. --batch 1,8,32")
            bs += [int(b)] if b else []
    if plot_path:
        from .. import plot
        from .common import output_file
        plot.require_matplotlib()  # before the sweep: a missing extra is said at once
        plot.check_format(output_file("--plot", plot_path))  # and a path it cannot write
    from ..graph import overrides_for
    from .common import at, select
    options = training_choice(train, optimizer, amp, checkpoint)
    path, variant, own = select(spec)
    loaded = load(spec_path(path))
    s = sw.sweep(loaded, parse_axes(sets), inputs=parse_inputs(inputs) or None, batches=bs, dtype=dtype,
                 limits=Limits(max_nodes=max_nodes) if max_nodes else None, variant=variant, training=train,
                 overrides=overrides_for(loaded, own, at(path)), step=options)
    if plot_path and len(s.axes) != 1:  # checked before any output is printed
        raise SpecError(f"--plot draws cost against one swept variable; this sweep has {len(s.axes)} axes",
                        hint="sweep one variable (or --input, or --batch) to plot it")
    if fmt == "json":
        click.echo(sw.to_json(s), nl=False)
    elif fmt == "csv":
        click.echo(sw.to_csv(s), nl=False)
    elif fmt == "markdown":
        click.echo(sw.to_markdown(s, sw.conventions(s)), nl=False)
    else:
        print_lines(lambda _width: sw.table(s, sw.conventions(s)))
    if plot_path:
        _plot(s, plot_path)


def _plot(s: object, path: str) -> None:
    """Cost against the one swept axis (a variable, the input shape, or the batch)."""
    from .. import plot
    name = s.axes[0][0]  # type: ignore[attr-defined]  (exactly one axis: checked before the sweep)

    def x(p):  # type: ignore[no-untyped-def]
        if name == "input":
            return "x".join(map(str, p.input_shape))
        return p.batch if name == "batch" else p.values[name]
    # parameters as PyTorch counts them (summarize's headline): without the buffers
    rows = [(x(p), p.params - p.non_trainable_params, p.macs) for p in s.points]  # type: ignore[attr-defined]
    out = plot.plot_sweep(rows, name, path, title=s.name)  # type: ignore[attr-defined]
    click.echo(f"wrote {out}", err=True)
