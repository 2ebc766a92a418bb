"""The `archcalc` command: a thin layer over the library. The only package that prints or exits.

Each command is a module of this package exposing `command`; it is imported only when
run, so `archcalc summarize` never pays for another command's imports.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

import click

from ..errors import ArchcalcError, render
from ..source import TEXTS

INTERNAL_ERROR = 70


class LazyGroup(click.Group):
    """Finds commands as modules of this package, and turns library errors into exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        import pkgutil
        return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")
                      and m.name != "common")

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if not name.isidentifier() or name.startswith("_") or name == "common":
            return None
        try:  # importing the one module directly: listing the package costs more than the command
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                return None
            raise
        return getattr(module, "command", None)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            # Said here, not by click: click 8.1 takes a name such as `_x` for an option and
            # prints the help with exit 0. Name the closest command.
            from ..errors import close_matches
            close = close_matches(name, self.list_commands(ctx))
            raise click.UsageError(f"No such command {name!r}."
                                   + (f" Did you mean '{close[0]}'?" if close else ""), ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchcalcError as e:
            click.echo(render(e, TEXTS), err=True)
            ctx.exit(e.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `archcalc summarize x | head`
            sys.stderr.close()
            ctx.exit(0)
        except MemoryError:  # within every limit, but more than this machine has (--max-nodes raised far)
            click.echo("error: the machine ran out of memory for this spec\n"
                       "  hint: lower --max-nodes, or run it where more memory is free", err=True)
            ctx.exit(1)
        except Exception as e:  # noqa: BLE001 - the last line of defence: never a bare traceback
            if os.environ.get("ARCHCALC_DEBUG"):
                import traceback
                traceback.print_exc()
            click.echo(f"internal error: {type(e).__name__}: {e}\n"
                       "This is a bug in archcalc, not in your spec. Please report it with the spec; "
                       "set ARCHCALC_DEBUG=1 to see the traceback.", err=True)
            ctx.exit(INTERNAL_ERROR)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archcalc")
def cli() -> None:
    """What does this network cost? Shapes, parameters and MACs of a CNN from a YAML spec."""


def main() -> None:
    if "_ARCHCALC_COMPLETE" in os.environ:  # the shell asks for a script or for completions
        from ._completion import register
        register()
    cli(prog_name="archcalc")
