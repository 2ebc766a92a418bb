"""`archcalc export SPEC --to onnx|torch -o FILE`: a spec out as an ONNX model or PyTorch source."""

from __future__ import annotations

from typing import Any

import click

from ._completion import complete_spec
from .common import _typed, seed_option, spec_options


@click.command()
@click.argument("spec", metavar="SPEC[@VARIANT]", shell_complete=complete_spec)
@click.option("--to", "to", type=click.Choice(["onnx", "torch"]), required=True, help="What to write.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@seed_option(help="ONNX: seed of the executor's weights (a whole number >= 0).")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False),
              help="ONNX: weights from an .npz keyed layer/weight (as `archcalc run --weights`).")
@spec_options
def command(spec: str, to: str, out: str, seed: int, weights: str | None, sets: tuple[str, ...] = (),
            input_: str | None = None, batch: int | None = None, max_nodes: int | None = None, train: bool = False,
            **_: Any) -> None:
    """Export SPEC as an ONNX model (checked by onnx.checker) or as readable PyTorch source."""
    from ..errors import ArchcalcError
    from .common import graph_cli, output_file, write_output
    output_file("-o", out)  # before any work: a missing folder, a folder, a name too long
    graph = graph_cli(spec, sets, input_, batch, max_nodes, train)
    if to == "onnx":
        from ..bridge.onnx_out import export_onnx, save
        model = export_onnx(graph, seed=seed, weights=weights)
        try:
            save(model, out)
        except OSError as e:
            raise ArchcalcError(f"-o {_typed(out)}: cannot write it: {e.strerror or e}",
                                hint="give a path you can write to") from None
    else:
        from ..bridge.torch_out import export_torch
        write_output("-o", out, export_torch(graph))
    click.echo(f"wrote {out}", err=True)
