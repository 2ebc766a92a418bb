"""Options shared by the commands that analyse a spec (summarize, compare, sweep, check, ...)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import SpecError


def parse_shape(text: str, option: str = "--input") -> tuple[int, ...]:
    """`224x224x3` (H x W x C) or `784` (a flat length)."""
    from ..kinds.base import MAX_INT
    from ..shape import parse_shape_text
    try:
        dims = parse_shape_text(text)
    except ValueError:  # int() refuses 4,300 digits and more: far past the largest size anyway
        dims = (MAX_INT + 1,)
    if dims is None:
        raise SpecError(f"{option} takes H x W x C such as 224x224x3, received {text!r}")
    if any(d < 1 for d in dims):
        raise SpecError(f"{option} sizes must be positive, received {text!r}")
    if any(d > MAX_INT for d in dims):
        raise SpecError(f"{option} {_typed(text)}: a size is larger than the largest archcalc accepts, 2^63 - 1")
    return dims


def parse_sets(values: tuple[str, ...], option: str = "--set ") -> dict[str, str]:
    """`--set name=value` settings as typed, name -> value text. The values are evaluated by
    `archcalc.analyze` (`graph.overrides_for`) once the spec is read, after every name is
    checked against its variables. `option` is how errors name where it was written."""
    from ..graph import _typed
    out: dict[str, str] = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep:
            raise SpecError(f"{option.strip()} takes name=value, received {_typed(v)!r}", hint="e.g. --set alpha=0.5")
        if not name.strip().isidentifier():
            raise SpecError(f"{option}{_typed(v)}: {_typed(name.strip())!r} is not a variable name",
                            hint="a name of letters, digits and _, as under `vars:`")
        out[name.strip()] = value.strip()
    return out


def _typed(text: str) -> str:
    from ..graph import _typed as cut
    return cut(text)


def spec_path(arg: str) -> Path:
    """A SPEC argument as a path: always a file ('-' for standard input), never YAML text (which
    `archcalc.load` would take a string holding a colon for), and never empty (Path('') is '.')."""
    if not arg:
        raise SpecError("the SPEC argument is empty", hint="name a .yaml file, or - for standard input")
    return Path(arg)


def settings_note(sets: tuple[str, ...] = (), input_: str | None = None, batch: int | None = None) -> str | None:
    """`with --set blocks1=x, --input 3x3x3`: the command-line settings a spec error was found
    under, as typed, for a note under an error they may have caused."""
    given = [f"--set {_typed(s)}" for s in sets]
    given += [f"--input {_typed(input_)}"] if input_ else []
    given += [f"--batch {batch}"] if batch is not None else []
    return "with " + ", ".join(given) if given else None


def noting(err: Any, note: str | None) -> Any:
    """`err` with `note` added when it is an error in the spec (it has a place there): an error
    about a setting itself already names it."""
    from ..errors import ArchcalcError, add_note
    if note and isinstance(err, ArchcalcError) and err.loc is not None:
        add_note(err, note)
    return err


def spec_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--set, --input, --batch, --dtype, --max-nodes."""
    from ..kinds.base import MAX_INT
    from ..walk import DTYPE_BYTES
    for opt in reversed([
        click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Override a spec variable (repeatable), e.g. --set alpha=0.5."),
        click.option("--input", "input_", metavar="HxWxC", help="Override the input shape, e.g. 160x160x3."),
        click.option("--batch", type=click.IntRange(min=1, max=MAX_INT),
                     help="Batch size (counts are totals over it)."),
        click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
                     help="Value type for memory figures."),
        click.option("--max-nodes", type=click.IntRange(min=1), default=None,
                     help="Refuse specs that expand past this many layers (default 100,000)."),
    ]):
        f = opt(f)
    return f


def analyze_cli(path: str, sets: tuple[str, ...] = (), input_: str | None = None, batch: int | None = None,
                dtype: str = "float32", max_nodes: int | None = None, **_: Any) -> Any:
    """Load and analyse one spec with the shared options."""
    from .. import analyze, load
    from ..errors import ArchcalcError
    from ..graph import Limits
    limits = Limits(max_nodes=max_nodes) if max_nodes else None
    overrides, shape = parse_sets(sets), parse_shape(input_) if input_ else None
    spec = load(spec_path(path))
    try:
        return analyze(spec, overrides=overrides, input_shape=shape, batch=batch, dtype=dtype, limits=limits)
    except ArchcalcError as e:
        raise noting(e, settings_note(sets, input_, batch)) from None


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


class ByteSize(click.ParamType):
    """A size such as 4G, 512M, 1.5GiB or 100000 (bytes, powers of 1024), checked by click, so
    `--max-memory inf` is a usage error naming the option and the value as typed."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        from ..execute import ExecError, parse_bytes
        try:
            return parse_bytes(str(value))
        except ExecError as e:
            why = "is less than 1 byte" if "at least 1 byte" in e.message else \
                "is not a size such as 4G, 512M or 1.5GiB (powers of 1024)"
            self.fail(f"{_typed(str(value))!r} {why}", param, ctx)


def exec_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--seed, --weights, --input-array, --exec-dtype, --max-memory (for run and verify)."""
    for opt in reversed([
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed for random weights and input (a whole number >= 0)."),
        click.option("--weights", type=click.Path(exists=True, dir_okay=False),
                     help="Weights from an .npz keyed layer/weight (layouts: docs/executor.md)."),
        click.option("--input-array", type=click.Path(exists=True, dir_okay=False),
                     help="Input from an .npy, N x H x W x C (or H x W x C)."),
        click.option("--max-memory", type=ByteSize(), metavar="SIZE",
                     help="Refuse to run when the estimated peak exceeds this (e.g. 4G, 512M, 1.5GiB); "
                          "default: the memory available now."),
    ]):
        f = opt(f)
    return f


def execute_cli(path: str, sets: tuple[str, ...] = (), input_: str | None = None, batch: int | None = None,
                dtype: str = "float32", max_nodes: int | None = None, seed: int = 0,
                weights: str | None = None, input_array: str | None = None, max_memory: int | None = None,
                keep: bool = False, analyze: bool = False) -> Any:
    """Build the graph with the shared options and run it: (graph or Analysis, Execution).

    Progress goes to stderr, and only when stderr is a terminal."""
    import sys

    from .. import load
    from ..errors import ArchcalcError
    from ..execute import DTYPES, ExecError, execute, load_input_array, retain_freed_memory
    from ..graph import Limits, build, overrides_for
    if dtype not in DTYPES:
        raise ExecError(f"the executor runs float32 or float64, received --dtype {dtype}")
    overrides, shape = parse_sets(sets), parse_shape(input_) if input_ else None
    x = None
    if input_array is not None:  # its batch is the run's, so the analysis must be at that batch too
        x = load_input_array(input_array)
        n = x.shape[0] if x.ndim == 4 else 1
        if n < 1:
            raise ExecError(f"--input-array {_typed(input_array)} holds no sample (a batch of 0)",
                            hint="save at least one sample, N x H x W x C")
        if batch is not None and n != batch:
            raise ExecError(f"the input array holds a batch of {n}, but --batch is {batch}",
                            hint="drop --batch (the array's batch is used), or give an input of that many samples")
        batch = n
    retain_freed_memory()  # this process ends after the run: let each layer reuse what earlier ones freed
    limits = Limits(max_nodes=max_nodes) if max_nodes else None
    spec = load(spec_path(path))
    try:
        graph = build(spec, overrides=overrides_for(spec, overrides), input_shape=shape, batch=batch, limits=limits)
        result: Any = graph
        if analyze:
            from ..walk import walk
            result = walk(graph, dtype=dtype)
    except ArchcalcError as e:
        raise noting(e, settings_note(sets, input_, batch if input_array is None else None)) from None
    kw = dict(seed=seed, weights=weights, input=x, dtype=dtype, keep=keep, max_memory=max_memory)
    if not sys.stderr.isatty():
        return result, execute(graph, **kw)
    from rich.console import Console
    from rich.progress import Progress
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("running", total=len(graph.nodes))
        ex = execute(graph, progress=lambda done, total, name: bar.update(task, completed=done,
                                                                          description=name), **kw)
    return result, ex


def output_file(option: str, value: str) -> Path:
    """The file named by an output option, checked before any work: its folder must exist and be
    writable, and the name must not be a folder (the error names the option and the value as typed)."""
    import os

    from ..errors import ArchcalcError
    p = Path(value)
    where = f"{option} {_typed(value)}"
    try:
        folder = p.resolve().parent
        if p.is_dir():
            raise ArchcalcError(f"{where}: is a folder, not a file", hint="give a file name inside it")
        exists = folder.is_dir()
    except OSError as e:  # a name too long for the file system, a loop of links
        raise ArchcalcError(f"{where}: cannot write there: {e.strerror or e}", hint="give a shorter path") from None
    except ValueError:  # a NUL in the name (a program's argument: no shell passes one)
        raise ArchcalcError(f"{where!r}: a file name holds no NUL character") from None
    if not exists:
        raise ArchcalcError(f"{where}: the folder {folder} does not exist",
                            hint="create it, or give a path in an existing folder")
    if not os.access(folder, os.W_OK):
        raise ArchcalcError(f"{where}: the folder {folder} is not writable",
                            hint="give a path in a folder you can write to")
    return p


def write_output(option: str, value: str, text: str) -> None:
    """Write `text` to the file an output option names, an OSError becoming an error that names it."""
    from ..errors import ArchcalcError
    try:
        Path(value).write_text(text, encoding="utf-8")
    except OSError as e:
        raise ArchcalcError(f"{option} {_typed(value)}: cannot write it: {e.strerror or e}",
                            hint="give a path you can write to") from None
