"""Options shared by the commands that report a convention profile (summarize, compare, check).

Not a command: the leading underscore keeps `LazyGroup` from listing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..errors import SpecError


def convention_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--convention NAME and --torch-op NODE=OP (repeatable)."""
    from ..profiles import NAMES
    f = click.option("--torch-op", "torch_ops", multiple=True, metavar="LAYER=OP",
                     help="Tell a convention profile which torch op computes LAYER when it is not the "
                          "kind's usual module, e.g. pool=F.adaptive_avg_pool2d (repeatable).")(f)
    return click.option("--convention", type=click.Choice(NAMES), default=None,
                        help="Also report what this tool would count (torchinfo, ptflops, fvcore, thop; "
                             "textbook = archcalc's MACs).")(f)


def parse_torch_ops(values: tuple[str, ...]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for v in values:
        name, sep, op = v.partition("=")
        if not sep or not name.strip() or not op.strip():
            raise SpecError(f"--torch-op takes LAYER=OP, received {v!r}",
                            hint="e.g. --torch-op avgpool=AdaptiveAvgPool2d")
        out[name.strip()] = op.strip()
    return out or None


def convention_torch_ops(values: tuple[str, ...], convention: str | None, training: bool = False
                         ) -> dict[str, str] | None:
    """--torch-op for commands where only --convention and a training step read it (summarize, compare):
    without either it would change nothing, so say so rather than ignore it."""
    torch = parse_torch_ops(values)
    if torch and convention is None and not training:
        raise click.UsageError("--torch-op tells a convention profile (or a training step's memory) which torch "
                               "op computes a layer: add --convention NAME (or --train)")
    return torch
