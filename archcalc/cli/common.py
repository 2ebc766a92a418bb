"""Options shared by the commands that analyse a spec (summarize, compare, sweep, check, ...).

A SPEC argument may select a variant and set variables after '@' (`densenet.yaml@densenet161`,
`mobilenet_v1.yaml@alpha=0.5,resolution=160`, or both): `select` reads it, for every command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import SpecError


def parse_shape(text: str) -> tuple[int, ...]:
    """`224x224x3` (H x W x C) or `784` (a flat length)."""
    from ..shape import parse_shape_text
    dims = parse_shape_text(text)
    if dims is None:
        raise SpecError(f"--input takes H x W x C such as 224x224x3, received {text!r}")
    if any(d < 1 for d in dims):
        raise SpecError(f"--input sizes must be positive, received {text!r}")
    return dims


def parse_sets(values: tuple[str, ...]) -> dict[str, Any]:
    from ..graph import parse_override
    out: dict[str, Any] = {}
    for v in values:
        k, val = parse_override(v)
        out[k] = val
    return out


def select(arg: str, sets: tuple[str, ...] = ()) -> tuple[str, str | None, dict[str, Any]]:
    """`SPEC[@VARIANT][,NAME=VALUE...]` and --set values -> (path, variant, overrides); a setting
    after '@' wins over --set."""
    from ..spec import split_selector
    path, variant, own = split_selector(arg)
    return path, variant, {**parse_sets(sets), **parse_sets(tuple(own))}


#: --train, one definition for every command that analyses or runs a spec. It selects a
#: training pass (`training=True` in the library): training-only layers run. What else a
#: training pass costs (backward, optimizer state) hangs off this same flag.
TRAIN_HELP = ("Count a training pass: layers marked `training_only` (auxiliary heads) run, so their MACs, "
              "other operations, memory and outputs count; without it only their parameters do.")


def train_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--train (for commands that do not take all of `spec_options`, such as sweep)."""
    return click.option("--train", "train", is_flag=True, help=TRAIN_HELP)(f)


def spec_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--set, --input, --batch, --dtype, --max-nodes, --train."""
    from ..walk import DTYPE_BYTES
    for opt in reversed([
        click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Override a spec variable (repeatable), e.g. --set alpha=0.5."),
        click.option("--input", "input_", metavar="HxWxC", help="Override the input shape, e.g. 160x160x3."),
        click.option("--batch", type=click.IntRange(min=1), help="Batch size (counts are totals over it)."),
        click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
                     help="Value type for memory figures."),
        click.option("--max-nodes", type=click.IntRange(min=1), default=None,
                     help="Refuse specs that expand past this many layers (default 100,000)."),
        train_option,
    ]):
        f = opt(f)
    return f


def analyze_cli(path: str, sets: tuple[str, ...] = (), input_: str | None = None, batch: int | None = None,
                dtype: str = "float32", max_nodes: int | None = None, train: bool = False, **_: Any) -> Any:
    """Load and analyse one spec (SPEC[@VARIANT][,NAME=VALUE...]) with the shared options."""
    from .. import analyze, load
    from ..graph import Limits
    limits = Limits(max_nodes=max_nodes) if max_nodes else None
    path, variant, overrides = select(path, sets)
    # a command-line argument is always a path ('-' for standard input), never YAML text
    return analyze(load(Path(path)), overrides=overrides, input_shape=parse_shape(input_) if input_ else None,
                   batch=batch, dtype=dtype, limits=limits, variant=variant, training=train)


def format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    from ..render import FORMATS
    return click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                        help="Output format.")(f)


def depth_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--depth", "-d", type=click.IntRange(min=1), default=None,
                        help="Fold blocks nested deeper than this into one row each.")(f)


def print_lines(make: Callable[[int | None], list[tuple[str, str]]]) -> None:
    """Print styled lines (see `archcalc.textable`) made for the terminal's width, or for no
    width limit when stdout is a pipe or file; styles only on a terminal, and not under NO_COLOR."""
    import os
    import shutil
    import sys

    from ..textable import fit, plain
    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if tty else None
    lines = make(width) if width is None else fit(make(width), width)
    if tty and not os.environ.get("NO_COLOR"):
        styles = {"bold": {"bold": True}, "dim": {"dim": True}, "prose": {}, "": {}}
        click.echo("".join((click.style(t, **styles[s]) if styles[s] and t else t) + "\n" for t, s in lines), nl=False)
    else:
        click.echo(plain(lines), nl=False)


def print_renderable(obj: Any) -> None:
    """Print a rich renderable to stdout: a terminal at its width, a pipe or file at the
    table's natural width (no wrapping); no colour when piped, no padding after the text."""
    import sys

    from rich.console import Console
    console = Console(width=None if sys.stdout.isatty() else 400)
    with console.capture() as cap:
        console.print(obj)
    click.echo("\n".join(line.rstrip() for line in cap.get().split("\n")), nl=False)


def exec_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--seed, --weights, --input-array, --exec-dtype, --max-memory (for run and verify)."""
    for opt in reversed([
        click.option("--seed", type=int, default=0, show_default=True, help="Seed for random weights and input."),
        click.option("--weights", type=click.Path(exists=True, dir_okay=False),
                     help="Weights from an .npz keyed layer/weight (layouts: docs/executor.md)."),
        click.option("--input-array", type=click.Path(exists=True, dir_okay=False),
                     help="Input from an .npy, N x H x W x C (or H x W x C)."),
        click.option("--max-memory", metavar="SIZE",
                     help="Refuse to run when the estimated peak exceeds this (e.g. 4G); "
                          "default: the memory available now."),
    ]):
        f = opt(f)
    return f


def execute_cli(path: str, sets: tuple[str, ...] = (), input_: str | None = None, batch: int | None = None,
                dtype: str = "float32", max_nodes: int | None = None, train: bool = False, seed: int = 0,
                weights: str | None = None, input_array: str | None = None, max_memory: str | None = None,
                keep: bool = False, analyze: bool = False) -> Any:
    """Build the graph with the shared options and run it: (graph or Analysis, Execution).

    Progress goes to stderr, and only when stderr is a terminal."""
    import sys

    from .. import load
    from ..execute import DTYPES, ExecError, execute, load_input_array, parse_bytes, retain_freed_memory
    from ..graph import Limits, build
    if dtype not in DTYPES:
        raise ExecError(f"the executor runs float32 or float64, received --dtype {dtype}")
    x = None
    if input_array is not None:  # its batch is the run's, so the analysis must be at that batch too
        x = load_input_array(input_array)
        n = x.shape[0] if x.ndim == 4 else 1
        if batch is not None and n != batch:
            raise ExecError(f"the input array holds a batch of {n}, but --batch is {batch}",
                            hint="drop --batch (the array's batch is used), or give an input of that many samples")
        batch = n
    retain_freed_memory()  # this process ends after the run: let each layer reuse what earlier ones freed
    limits = Limits(max_nodes=max_nodes) if max_nodes else None
    path, variant, overrides = select(path, sets)
    graph = build(load(Path(path)), overrides=overrides, input_shape=parse_shape(input_) if input_ else None,
                  batch=batch, limits=limits, variant=variant, training=train)
    result: Any = graph
    if analyze:
        from ..walk import walk
        result = walk(graph, dtype=dtype)
    kw = dict(seed=seed, weights=weights, input=x, dtype=dtype, keep=keep,
              max_memory=parse_bytes(max_memory) if max_memory else None)
    if not sys.stderr.isatty():
        return result, execute(graph, **kw)
    from rich.console import Console
    from rich.progress import Progress
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("running", total=len(graph.nodes))
        ex = execute(graph, progress=lambda done, total, name: bar.update(task, completed=done,
                                                                          description=name), **kw)
    return result, ex
