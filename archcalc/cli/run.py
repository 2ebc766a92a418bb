"""`archcalc run SPEC`: run the network forward on NumPy; per-layer output shapes and timings."""

from __future__ import annotations

from typing import Any

import click

from ..execute import DTYPES
from ._completion import complete_spec
from .common import exec_options, execute_cli, print_lines, shapes_option, spec_options

#: How `run` fits a narrow terminal (textable.layout): figures rounded, long names shortened in
#: the middle, `kind` left out, names shortened further.
RUN_PLAN: tuple[tuple[object, ...], ...] = (("compact",), ("names", 24), ("drop", "kind"), ("names", 12))


def lines(name: str, ex: Any, shape: Any, width: int | None) -> list[tuple[str, str]]:
    """The run as styled lines: a title, one row per layer, the total, a note when fitted."""
    from .. import textable
    from ..render import figure_column
    from ..textable import Column
    rows = ex.layers
    cols = [Column("layer", [r.name for r in rows], "total", names=True),
            Column("kind", [r.kind for r in rows], ""),
            Column("output", [shape(r.output_shape) for r in rows], "", True),
            figure_column("weights", [r.params for r in rows], ex.params),
            figure_column("mults", [r.macs for r in rows], ex.macs),
            Column("ms", [f"{r.seconds * 1e3:.2f}" for r in rows], f"{ex.seconds * 1e3:.2f}", True)]
    body, done = textable.layout(cols, width, RUN_PLAN)
    return [(f"{name}: executed at batch {ex.batch}, {ex.dtype}. weights: parameters and buffers "
             "(BatchNorm running statistics) allocated; mults: multiplications performed.", "dim"),
            ("", ""), *body, *textable.fitted_note(done, width)]


@click.command()
@click.argument("spec", metavar="SPEC", shell_complete=complete_spec)
@spec_options(dtypes=DTYPES)
@exec_options
@shapes_option
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, writable=True),
              help="Save the network's (last) output array as .npy.")
def command(spec: str, out: str | None, shapes: str | None, **opts: Any) -> None:
    """Run SPEC forward on NumPy (seeded random weights and input, unless given)."""
    from ..errors import ArchcalcError
    from ..shape import fmt_as, shape_style
    from .common import output_file
    if out is not None:  # say so before a long run, not after
        output_file("-o", out)
    graph, ex = execute_cli(spec, keep=out is not None, **opts)
    style = shape_style(shapes, graph.layout)
    name = graph.name + (" (a training pass)" if graph.training else "")
    print_lines(lambda width: lines(name, ex, lambda s: fmt_as(s, style, ex.batch), width))
    if out is not None:
        import numpy as np
        last = graph.nodes[graph.outputs[-1]].path
        try:
            np.save(out, ex.outputs[last])
        except OSError as e:
            raise ArchcalcError(f"-o {out}: cannot write the output: {e.strerror or e}",
                                hint="give a path you can write to") from None
