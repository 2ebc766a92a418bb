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


def parse_input(text: str, option: str = "--input") -> tuple[tuple[int, ...], str | None]:
    """`224x224x3` (H x W x C), `3x224x224:CHW` (C x H x W, PyTorch's order), `224x224x3:HWC`
    or `784` (a flat length): the sizes as written and the layout said (None: not said)."""
    from ..graph import layout_name
    from ..kinds.base import MAX_INT
    from ..shape import parse_shape_text
    dims_text, sep, layout = text.partition(":")
    try:
        dims = parse_shape_text(dims_text)
    except ValueError:  # int() refuses 4,300 digits and more: far past the largest size anyway
        dims = (MAX_INT + 1,)
    if dims is None:
        raise SpecError(f"{option} takes H x W x C such as 224x224x3 (or 3x224x224:CHW), received {_typed(text)!r}")
    if any(d < 1 for d in dims):
        raise SpecError(f"{option} sizes must be positive, received {_typed(text)!r}")
    if any(d > MAX_INT for d in dims):
        raise SpecError(f"{option} {_typed(text)}: a size is larger than the largest archcalc accepts, 2^63 - 1")
    return dims, (layout_name(layout, f"{option} {_typed(text)}") if sep else None)


def parse_shape(text: str, option: str = "--input") -> tuple[int, ...]:
    """`--input` as H x W x C: `224x224x3`, or `3x224x224:CHW` turned around (for the commands
    that take several shapes and no layout of their own: sweep, check)."""
    dims, layout = parse_input(text, option)
    if layout == "CHW" and len(dims) == 3:
        return (dims[1], dims[2], dims[0])
    return dims


def print_warnings(an_or_graph: Any) -> None:
    """A spec's warnings (an input that looks channels-first) on stderr, located like errors."""
    from ..errors import render_diagnostics
    from ..source import TEXTS
    graph = getattr(an_or_graph, "graph", an_or_graph)
    if graph.warnings:
        click.echo(render_diagnostics(graph.warnings, TEXTS, "warning"), err=True)


def parse_sets(values: tuple[str, ...] | list[str], option: str = "--set ") -> dict[str, str]:
    """`--set name=value` settings as typed, name -> value text. The values are evaluated by
    `settings_for` (`graph.overrides_for`) once the spec is read, after every name is checked
    against its variables. `option` is how errors name where it was written."""
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


def at(path: str | Path) -> str:
    """How errors name a setting written after a SPEC argument's '@' (`spec.yaml@alpha=2: ...`)."""
    return f"{_typed(str(path))}@"


def select(arg: str) -> tuple[str, str | None, dict[str, str]]:
    """`SPEC[@VARIANT][,NAME=VALUE...]` -> (path, variant, the settings after '@' as typed); the
    settings are evaluated by `settings_for` once the spec is read."""
    from ..spec import split_selector
    path, variant, own = split_selector(arg)
    return path, variant, parse_sets(tuple(own), at(path))


def settings_for(spec: Any, sets: dict[str, Any], own: dict[str, Any] | None = None,
                 path: str | Path = "") -> dict[str, Any]:
    """The overrides for `spec`: --set values, then the '@' settings of its argument `path` (which
    win), each name checked against the spec's variables before any value is evaluated, errors
    naming where the setting was written."""
    from ..graph import overrides_for
    return {**overrides_for(spec, sets), **(overrides_for(spec, own, at(path)) if own else {})}


#: --train, one definition for every command that analyses or runs a spec. It selects a
#: training pass (`training=True` in the library): training-only layers run. What else a
#: training pass costs (backward, optimizer state) hangs off this same flag.
TRAIN_HELP = ("Count a training pass: layers marked `training_only` (auxiliary heads) run, so their MACs, "
              "other operations, memory and outputs count; without it only their parameters do.")


def train_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--train (for commands that do not take all of `spec_options`, such as sweep)."""
    return click.option("--train", "train", is_flag=True, help=TRAIN_HELP)(f)


def _typed(text: str) -> str:
    from ..graph import _typed as cut
    return cut(text)


def spec_path(arg: str | Path) -> Path:
    """A SPEC argument as a path: always a file ('-' for standard input), never YAML text (which
    `archcalc.load` would take a string holding a colon for), and never empty (Path('') is '.')."""
    if not str(arg):
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


#: What --train adds where a training step is reported (summarize, compare, sweep, check).
TRAIN_STEP_HELP = (" With it, the cost of a training step too: backward MACs, gradients, optimizer state, the "
                   "activations autograd keeps, the peak memory (docs/training.md).")


def training_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--optimizer, --amp, --checkpoint: what a training step is made of (with --train; `fit` always)."""
    from ..training import DEFAULT_OPTIMIZER, OPTIMIZERS
    for opt in reversed([
        click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default=None,
                     help=f"The optimizer whose state a training step holds (default {DEFAULT_OPTIMIZER}: SGD with "
                          "momentum 0.9, torchvision's recipe for the zoo's CNNs)."),
        click.option("--amp", is_flag=True, help="Mixed precision: 2-byte activations, weights and gradients, "
                                                 "float32 master weights and optimizer moments (ZeRO's 16 B a "
                                                 "parameter for Adam)."),
        click.option("--checkpoint", multiple=True, metavar="DEPTH|PATTERN",
                     help="Recompute these block instances in the backward (torch.utils.checkpoint): a depth "
                          "(every block instance that deep) or a pattern over their paths (repeatable)."),
    ]):
        f = opt(f)
    return f


def training_choice(train: bool, optimizer: str | None, amp: bool, checkpoint: tuple[str, ...],
                    implied: bool = False) -> Any:
    """The `training.Options` asked for, or None without --train (then --optimizer, --amp and
    --checkpoint are a usage error: they describe a training step)."""
    if not train and not implied:
        given = [n for n, v in (("--optimizer", optimizer), ("--amp", amp), ("--checkpoint", checkpoint)) if v]
        if given:
            raise click.UsageError(f"{', '.join(given)} describe{'s' if len(given) == 1 else ''} a training step: "
                                   "add --train")
        return None
    from ..training import DEFAULT_OPTIMIZER, Options
    return Options(optimizer or DEFAULT_OPTIMIZER, amp, checkpoint)


def spec_options(f: Callable[..., Any] | None = None, *, dtypes: tuple[str, ...] | None = None) -> Any:
    """--set, --input, --batch, --dtype, --max-nodes: `@spec_options`, or `@spec_options(dtypes=...)`
    for a command that takes only some dtypes (the executor's), or none (`dtypes=()`: a command
    whose output no dtype changes offers no --dtype)."""
    if f is None:
        return lambda g: spec_options(g, dtypes=dtypes)
    from ..kinds.base import MAX_INT
    from ..walk import DTYPE_BYTES
    choices = list(DTYPE_BYTES) if dtypes is None else list(dtypes)
    for opt in reversed([
        click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Override a spec variable (repeatable), e.g. --set alpha=0.5."),
        click.option("--input", "input_", metavar="HxWxC[:LAYOUT]",
                     help="Override the input shape, e.g. 160x160x3; 3x160x160:CHW for PyTorch's order."),
        click.option("--batch", type=click.IntRange(min=1, max=MAX_INT),
                     help="Batch size (counts are totals over it)."),
        *([click.option("--dtype", type=click.Choice(choices), default="float32", show_default=True,
                        help="Value type for memory figures." if dtypes is None else "Value type to run in.")]
          if choices else []),
        click.option("--max-nodes", type=click.IntRange(min=1), default=None,
                     help="Refuse specs that expand past this many layers (default 100,000)."),
        train_option,
    ]):
        f = opt(f)
    return f


def analyze_cli(path: str | Any, sets: tuple[str, ...] = (), input_: str | None = None, batch: int | None = None,
                dtype: str = "float32", max_nodes: int | None = None, overrides: dict[str, Any] | None = None,
                train: bool = False, variant: str | None = None, note: str | None = None, **_: Any) -> Any:
    """Load (unless given a loaded Spec) and analyse one spec (SPEC[@VARIANT][,NAME=VALUE...]) with
    the shared options; its warnings go to stderr before the walk, so they come before any error the
    walk raises. `overrides` and `variant` are for a caller that has split the selector itself
    (`overrides` as typed after the argument's '@'); `note` says which argument that was, under a
    spec error its settings may have caused."""
    from ..errors import ArchcalcError
    from ..walk import walk
    graph = graph_cli(path, sets, input_, batch, max_nodes, train, overrides=overrides, variant=variant, note=note)
    try:
        return walk(graph, dtype=dtype)
    except ArchcalcError as e:
        raise noting(e, ", ".join(x for x in (note, settings_note(sets, input_, batch)) if x) or None) from None


def graph_cli(path: str | Any, sets: tuple[str, ...] = (), input_: str | None = None, batch: int | None = None,
              max_nodes: int | None = None, train: bool = False, *, overrides: dict[str, Any] | None = None,
              variant: str | None = None, note: str | None = None, noted_batch: bool = True) -> Any:
    """Load (unless given a loaded Spec) and expand one SPEC[@VARIANT][,NAME=VALUE...] with the
    shared options, for the commands that need the graph (run, verify, export) and for
    `analyze_cli`; warnings go to stderr. A spec error notes the settings it was found under
    (and `note`; --batch only when `noted_batch`: a batch an input array set was not typed)."""
    from .. import load
    from ..errors import ArchcalcError
    from ..graph import Limits, build
    shared = parse_sets(sets)
    shape, layout = parse_input(input_) if input_ else (None, None)
    if isinstance(path, (str, Path)):
        path, variant, own = select(str(path))
        # a command-line argument is always a path ('-' for standard input), never YAML text
        spec = load(spec_path(path))
    else:
        spec, own, path = path, {}, path.path
    try:
        graph = build(spec, overrides=settings_for(spec, shared, {**own, **(overrides or {})}, path),
                      input_shape=shape, input_layout=layout, batch=batch,
                      limits=Limits(max_nodes=max_nodes) if max_nodes else None, variant=variant, training=train)
    except ArchcalcError as e:
        given = settings_note(sets, input_, batch if noted_batch else None)
        raise noting(e, ", ".join(x for x in (note, given) if x) or None) from None
    print_warnings(graph)
    return graph


def format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    from ..render import FORMATS
    return click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                        help="Output format.")(f)


def depth_option(f: Callable[..., Any] | None = None, *, totals: bool = False) -> Any:
    """--depth N; with `totals`, --depth 0 is allowed and prints the totals alone."""
    def add(f: Callable[..., Any]) -> Callable[..., Any]:
        return click.option("--depth", "-d", type=click.IntRange(min=0 if totals else 1), default=None,
                            help="Fold blocks nested deeper than this into one row each"
                                 + ("; 0: the totals alone." if totals else "."))(f)
    return add if f is None else add(f)


def shapes_option(f: Callable[..., Any]) -> Callable[..., Any]:
    from ..shape import SHAPE_STYLES
    return click.option("--shapes", type=click.Choice(SHAPE_STYLES), default=None,
                        help="Write shapes as H x W x C (hwc), C x H x W (chw), or with the batch first "
                             "(nhwc; nchw is torchinfo's [1, 64, 112, 112]). Default: as the input is written.")(f)


def output_width() -> int | None:
    """The width to lay text out for: the terminal's; else $COLUMNS when set (so a pipe or a test
    can ask for 80 columns); else None, no limit (a file keeps every line whole)."""
    import os
    import shutil
    import sys
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() and int(cols) > 0 else None


def styled() -> bool:
    """Bold and dim only on a terminal that shows them: not under NO_COLOR, not on TERM=dumb."""
    import os
    import sys
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def print_lines(make: Callable[[int | None], list[tuple[str, str]]]) -> None:
    """Print styled lines (see `archcalc.textable`) made for the output's width (`output_width`),
    wrapping prose to it; styles only where `styled()`."""
    from ..textable import fit, plain
    width = output_width()
    lines = make(width) if width is None else fit(make(width), width)
    if styled():
        styles = {"bold": {"bold": True}, "dim": {"dim": True}, "prose": {}, "sum": {}, "": {}}
        click.echo("".join((click.style(t, **styles[s]) if styles[s] and t else t) + "\n" for t, s in lines), nl=False)
    else:
        click.echo(plain(lines), nl=False)


def seed_option(f: Callable[..., Any] | None = None, *,
                help: str = "Seed for random weights and input (a whole number >= 0).") -> Any:
    """--seed, a whole number >= 0 (NumPy's generators refuse a negative one), checked by click."""
    def add(f: Callable[..., Any]) -> Callable[..., Any]:
        return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help=help)(f)
    return add if f is None else add(f)


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
        seed_option,
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
                dtype: str = "float32", max_nodes: int | None = None, train: bool = False, seed: int = 0,
                weights: str | None = None, input_array: str | None = None, max_memory: int | None = None,
                keep: bool = False, analyze: bool = False) -> Any:
    """Build the graph with the shared options and run it: (graph or Analysis, Execution).

    Progress goes to stderr, and only when stderr is a terminal (not TERM=dumb)."""
    import os
    import sys

    from ..errors import ArchcalcError
    from ..execute import DTYPES, ExecError, execute, load_input_array, retain_freed_memory
    if dtype not in DTYPES:
        raise ExecError(f"the executor runs float32 or float64, received --dtype {dtype}")
    parse_sets(sets)  # errors in the options before any about the input file
    select(path)
    if input_:
        parse_input(input_)
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
    graph = graph_cli(path, sets, input_, batch, max_nodes, train, noted_batch=input_array is None)
    result: Any = graph
    if analyze:
        from ..walk import walk
        try:
            result = walk(graph, dtype=dtype)
        except ArchcalcError as e:
            raise noting(e, settings_note(sets, input_, batch if input_array is None else None)) from None
    kw = dict(seed=seed, weights=weights, input=x, dtype=dtype, keep=keep, max_memory=max_memory)
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":  # a progress bar redraws with escapes
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


def write_output(option: str, value: str, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to the file an output option names, an OSError becoming an
    error that names it."""
    from ..errors import ArchcalcError
    try:
        if isinstance(data, bytes):
            Path(value).write_bytes(data)
        else:
            Path(value).write_text(data, encoding="utf-8")
    except OSError as e:
        raise ArchcalcError(f"{option} {_typed(value)}: cannot write it: {e.strerror or e}",
                            hint="give a path you can write to") from None
