"""`archcalc run SPEC`: run the network forward on NumPy; per-layer output shapes and timings."""

from __future__ import annotations

from typing import Any

import click

from .common import exec_options, execute_cli, print_renderable, spec_options


@click.command()
@click.argument("spec", metavar="SPEC")
@spec_options
@exec_options
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, writable=True),
              help="Save the network's (last) output array as .npy.")
def command(spec: str, out: str | None, **opts: Any) -> None:
    """Run SPEC forward on NumPy (seeded random weights and input, unless given)."""
    from rich.table import Table

    from ..errors import ArchcalcError
    from .common import output_file
    if out is not None:  # say so before a long run, not after
        output_file("-o", out)
    an_graph, ex = execute_cli(spec, keep=out is not None, **opts)
    t = Table(title=f"{an_graph.spec.name}: executed at batch {ex.batch}, {ex.dtype}")
    for col, just in (("layer", "left"), ("kind", "left"), ("output", "right"), ("params", "right"),
                      ("mults", "right"), ("ms", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in ex.layers:
        t.add_row(r.name, r.kind, " x ".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.macs:,}",
                  f"{r.seconds * 1e3:.2f}")
    t.add_section()
    t.add_row("total", "", "", f"{ex.params:,}", f"{ex.macs:,}", f"{ex.seconds * 1e3:.2f}")
    print_renderable(t)
    if out is not None:
        import numpy as np
        last = an_graph.nodes[an_graph.outputs[-1]].path
        try:
            np.save(out, ex.outputs[last])
        except OSError as e:
            raise ArchcalcError(f"-o {out}: cannot write the output: {e.strerror or e}",
                                hint="give a path you can write to") from None
