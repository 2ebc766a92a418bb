"""`archcalc export SPEC --to onnx|torch -o FILE`: a spec out as an ONNX model or PyTorch source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._completion import complete_spec
from .common import spec_options


@click.command()
@click.argument("spec", metavar="SPEC", shell_complete=complete_spec)
@click.option("--to", "to", type=click.Choice(["onnx", "torch"]), required=True, help="What to write.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="ONNX: seed of the executor's weights.")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False),
              help="ONNX: weights from an .npz keyed layer/weight (as `archcalc run --weights`).")
@spec_options
def command(spec: str, to: str, out: str, seed: int, weights: str | None, sets: tuple[str, ...] = (),
            input_: str | None = None, batch: int | None = None, max_nodes: int | None = None, **_: Any) -> None:
    """Export SPEC as an ONNX model (checked by onnx.checker) or as readable PyTorch source."""
    from .. import load
    from ..errors import ArchcalcError
    from ..graph import Limits, build
    from .common import parse_input, select
    if not Path(out).resolve().parent.is_dir():
        raise ArchcalcError(f"-o {out}: the folder {Path(out).resolve().parent} does not exist",
                            hint="create it, or give a path in an existing folder")
    path, variant, overrides = select(spec, sets)  # SPEC@VARIANT and zoo names, as every command takes them
    shape, layout = parse_input(input_) if input_ else (None, None)
    graph = build(load(Path(path)), overrides=overrides, input_shape=shape, input_layout=layout, batch=batch,
                  limits=Limits(max_nodes=max_nodes) if max_nodes else None, variant=variant)
    try:
        if to == "onnx":
            from ..bridge.onnx_out import export_onnx, save
            save(export_onnx(graph, seed=seed, weights=weights), out)
        else:
            from ..bridge.torch_out import export_torch
            Path(out).write_text(export_torch(graph), encoding="utf-8")
    except OSError as e:
        raise ArchcalcError(f"-o {out}: cannot write: {e.strerror or e}") from None
    click.echo(f"wrote {out}", err=True)
