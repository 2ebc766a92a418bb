"""`archcalc import MODEL.onnx` (or `--torch pkg.module:callable`): a model in, a readable spec out."""

from __future__ import annotations

from typing import Any

import click


@click.command("import")
@click.argument("model", required=False, metavar="MODEL.onnx")
@click.option("--torch", "torch_ref", metavar="PKG.MODULE:CALLABLE",
              help="Import a PyTorch model: CALLABLE() returns the nn.Module (needs archcalc[torch]).")
@click.option("--input", "input_", metavar="CxHxW", default="3x224x224", show_default=True,
              help="With --torch: the example input's size, channels first.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), help="Write the spec here (default: stdout).")
@click.option("--flat", is_flag=True, help="One layer per line: no blocks for repeated modules.")
@click.option("--keep-unmapped", is_flag=True,
              help="Keep operators archcalc has no kind for as zero-cost `unmapped` layers (flagged).")
@click.option("--max-bytes", type=click.IntRange(min=1), default=None, help="Refuse files larger than this.")
@click.option("--max-nodes", type=click.IntRange(min=1), default=None, help="Refuse graphs with more nodes.")
def command(model: str | None, torch_ref: str | None, input_: str, out: str | None, flat: bool,
            keep_unmapped: bool, max_bytes: int | None, max_nodes: int | None) -> None:
    """Import an ONNX model (or a PyTorch one) as an archcalc spec; the summary goes to stderr."""
    from ..bridge.importer import import_onnx
    from .common import output_file, write_output
    if (model is None) == (torch_ref is None):
        raise click.UsageError("give an ONNX file, or --torch PKG.MODULE:CALLABLE (one of them)")
    if out is not None:
        output_file("-o", out)  # before any work: a missing folder, a folder, a name too long
    kw: dict[str, Any] = dict(keep_unmapped=keep_unmapped, flat=flat, max_bytes=max_bytes, max_nodes=max_nodes)
    if torch_ref is not None:
        from ..bridge.torch_in import import_torch
        text, imp = import_torch(torch_ref, input_, **kw)
    else:
        text, imp = import_onnx(model, **kw)  # type: ignore[arg-type]
    if out is None:
        click.echo(text, nl=False)
    else:
        write_output("-o", out, text)
    params = sum(lay.params for lay in imp.layers)
    if params == imp.initializer_floats:
        said = f"parameters {params:,} = the initializers' {imp.initializer_floats:,} float elements"
    elif params == imp.initializer_floats - imp.constant_floats:
        said = (f"parameters {params:,} = the initializers' {imp.initializer_floats:,} float elements less "
                f"{imp.constant_floats:,} of constants the exporter stored (see the spec's header)")
    else:
        said = (f"parameters {params:,}, initializers {imp.initializer_floats:,} "
                "(the difference belongs to unmapped operators)")
    click.echo(f"imported {len(imp.layers)} layers; {said}", err=True)
    if imp.folded_bn:
        click.echo(f"note: the exporter folded {imp.folded_bn} BatchNorm layers into convolutions: the model's own "
                   "parameter count has 4C more per BatchNorm", err=True)
    if imp.unmapped:
        click.echo("warning: unmapped operators kept at zero cost: "
                   + ", ".join(f"{k} x{len(v)}" for k, v in sorted(imp.unmapped.items())), err=True)
