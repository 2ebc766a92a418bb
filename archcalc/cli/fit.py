"""`archcalc fit SPEC --memory 24GiB`: the largest batch whose training step fits, and its memory."""

from __future__ import annotations

from typing import Any

import click

from ._completion import complete_spec
from .common import format_option, print_lines, training_options


def _rows(f: Any) -> list[tuple[str, str, str]]:
    """(what, bytes, note) of the memory at the peak of the step that fits, then the next batch's."""
    from ..render import human_bytes
    from ..training import where
    s = f.step
    out = [(k, f"{v:,}", human_bytes(v)) for k, v in s.peak.parts if v]
    out.append(("peak", f"{s.peak.bytes:,}", f"{human_bytes(s.peak.bytes)}, {where(s.peak)}"))
    o = f.over
    out.append((f"batch {f.batch + 1} would need", f"{o.bytes:,}", f"over by {o.bytes - f.memory:,} B, {where(o)}"))
    return out


@click.command()
@click.argument("spec", metavar="SPEC[@VARIANT][,NAME=VALUE...]", shell_complete=complete_spec)
@click.option("--memory", "memory_text", required=True, metavar="SIZE",
              help="The memory a step may use: 24GiB (powers of 1024; G alone is GiB), 80GB (powers of 1000), "
                   "or bytes.")
@training_options
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a spec variable (repeatable).")
@click.option("--input", "input_", metavar="HxWxC[:LAYOUT]", help="Override the input shape, e.g. 160x160x3.")
@click.option("--max-nodes", type=click.IntRange(min=1), default=None,
              help="Refuse specs that expand past this many layers (default 100,000).")
@format_option
def command(spec: str, memory_text: str, optimizer: str | None, amp: bool, checkpoint: tuple[str, ...],
            sets: tuple[str, ...], input_: str | None, max_nodes: int | None, fmt: str) -> None:
    """The largest batch whose training step fits in --memory: a forward in training mode, the backward,
    and one optimizer step, with the memory at their peak at that batch (docs/training.md).

    Exit 0 with the batch; exit 3 when not even batch 1 fits.
    """
    import json

    from ..fit import fit, parse_size
    from ..shape import fmt as fmt_shape
    from .common import analyze_cli, training_choice
    memory = parse_size(memory_text)
    options = training_choice(True, optimizer, amp, checkpoint)
    an = analyze_cli(spec, sets, input_, 1, "float32", max_nodes, train=True)
    f = fit(an, memory, options)
    from ..training import describe
    head = (f"{an.name}: input {fmt_shape(an.input_shape)}; a training step with "
            f"{describe(options, an.dtype)}, in {memory:,} B ({memory_text}).")
    if fmt == "json":
        click.echo(json.dumps({"schema_version": 1, "spec": {"name": an.name, "path": an.graph.spec.path,
                                                             "variant": an.graph.variant},
                               "input_shape": list(an.input_shape), "optimizer": options.optimizer, "amp": options.amp,
                               "checkpoint": list(options.checkpoint), **f.to_dict()}, indent=2))
    elif fmt == "csv":
        import csv
        import io
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        from ..training import PARTS
        parts = list(PARTS)
        w.writerow(["spec", "memory_bytes", "batch", "peak_bytes", "peak_phase", "peak_at", *parts,
                    "next_batch_peak_bytes", "optimizer", "amp"])
        s = f.step
        w.writerow([an.name, memory, f.batch, s.peak.bytes if s else "", s.peak.phase if s else "",
                    s.peak.at if s else "", *(dict(s.peak.parts).values() if s else [""] * len(parts)),
                    f.over.bytes, options.optimizer, str(options.amp).lower()])
        click.echo(buf.getvalue(), nl=False)
    elif f.step is None:
        click.echo(head)
        click.echo(f"No batch fits: {f.why}.")
    else:
        rows = _rows(f)
        if fmt == "markdown":
            click.echo(f"**{an.name}**: largest batch **{f.batch:,}**. {head.split(': ', 1)[1]}\n")
            click.echo(f"| at batch {f.batch:,} | bytes | |\n|---|---:|---|")
            for k, v, note in rows:
                click.echo(f"| {k} | {v} | {note} |")
        else:
            from ..textable import grid
            print_lines(lambda _w: [(head, "dim"), ("", ""), (f"Largest batch: {f.batch:,}", "bold"), ("", ""),
                                    *grid([f"at batch {f.batch:,}", "bytes", ""], [list(r) for r in rows], None,
                                          [False, True, False]),
                                    ("", ""), (f"Each sample adds {f.per_sample:,} B at the moment that limits the "
                                               f"batch; {f.fixed:,} B there do not grow with it.", "prose")])
    if f.step is None:
        click.get_current_context().exit(3)
