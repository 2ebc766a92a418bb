"""`archcalc check PATH...`: hold specs to their `expect:` figures and `budget:` limits.

Exit status: 0 when every figure holds, 3 when any differs (or a budget is exceeded),
1 when any spec is invalid (the other specs are still checked and reported).
"""

from __future__ import annotations

import json
from typing import Any

import click

from .common import parse_sets, parse_shape, spec_options

SCHEMA_VERSION = 1


def _line(r: Any) -> list[str]:
    from ..check import FAIL, INVALID, PASS
    name = f" ({r.name})" if r.name else ""
    if r.status == PASS:
        ex = sum(1 for f in r.findings if f.kind == "expect")
        bu = len(r.findings) - ex
        what = ", ".join(x for x in (f"{ex} figure{'s' * (ex != 1)}" if ex else "",
                                     f"{bu} budget{'s' * (bu != 1)}" if bu else "") if x)
        return [f"PASS  {r.path}{name}: {what} hold"]
    if r.status == FAIL:
        out = [f"FAIL  {r.path}{name}: {len(r.failures)} of {len(r.findings)} checks differ"]
        out += [f"      {f.loc}: {f.describe()}" for f in r.failures]
        return out
    if r.status == INVALID:
        return [f"ERROR {r.path}: invalid spec (see the error above)"]
    return [f"SKIP  {r.path}{name}: no `expect:` or `budget:` block"]


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@spec_options
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--skip-non-specs", is_flag=True,
              help="Ignore YAML files that are not archcalc specs (no `layers:`), e.g. for pre-commit.")
def command(paths: tuple[str, ...], fmt: str, skip_non_specs: bool, sets: tuple[str, ...], input_: str | None,
            batch: int | None, dtype: str, max_nodes: int | None) -> None:
    """Check spec files (or folders of them) against their `expect:` and `budget:` blocks.

    Prints one verdict per spec; each differing figure with its declared and computed
    values and the difference. Exit 0: all hold; 3: a figure differs or a budget is
    exceeded; 1: a spec is invalid.
    """
    from ..check import check_paths, exit_code
    from ..errors import render
    from ..graph import Limits
    from ..source import TEXTS
    kw: dict[str, Any] = {
        "overrides": parse_sets(sets), "input_shape": parse_shape(input_) if input_ else None,
        "batch": batch, "dtype": dtype, "limits": Limits(max_nodes=max_nodes) if max_nodes else None,
    }
    results = check_paths(paths, skip_non_specs=skip_non_specs, **kw)
    code = exit_code(results)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "invalid", "unchecked")}
    if fmt == "json":
        click.echo(json.dumps({"schema_version": SCHEMA_VERSION, "ok": code == 0, "exit_code": code,
                               "summary": counts, "specs": [r.to_dict() for r in results]}, indent=2))
    else:
        for r in results:
            if r.error is not None:
                click.echo(render(r.error, TEXTS), err=True)
            for line in _line(r):
                click.echo(line)
        click.echo(f"{len(results)} spec{'s' * (len(results) != 1)}: {counts['pass']} passed, "
                   f"{counts['fail']} failed, {counts['invalid']} invalid, {counts['unchecked']} without checks")
    ctx = click.get_current_context()
    ctx.exit(code)
