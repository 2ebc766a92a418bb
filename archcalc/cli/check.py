"""`archcalc check PATH...`: hold specs to their `expect:` figures and `budget:` limits.

Exit status: 0 when every figure holds, 3 when any differs (or a budget is exceeded),
1 when any spec is invalid (the other specs are still checked and reported).
"""

from __future__ import annotations

import json
from typing import Any

import click

from ._completion import complete_spec
from ._conventions import convention_options, parse_torch_ops
from .common import noting, parse_sets, parse_shape, settings_note, spec_options, training_choice, training_options

SCHEMA_VERSION = 1


def _line(r: Any) -> list[str]:
    from ..check import FAIL, INVALID, LIBRARY, PASS
    from ..errors import short
    name = f" ({short(r.name)})" if r.name else ""
    path = short(r.shown)
    if r.status == LIBRARY:
        return [f"LIB   {path}: {short(r.name)}, checked in the specs that include it"]
    if r.status == PASS:
        ex = sum(1 for f in r.findings if f.kind == "expect")
        bu = len(r.findings) - ex
        what = ", ".join(x for x in (f"{ex} figure{'s' * (ex != 1)}" if ex else "",
                                     f"{bu} budget{'s' * (bu != 1)}" if bu else "") if x)
        used = list(dict.fromkeys(f.convention for f in r.findings if f.convention))
        under = f" (tool counts: {', '.join(used)})" if used else ""
        return [f"PASS  {path}{name}: {what} hold{under}"]
    if r.status == FAIL:
        out = [f"FAIL  {path}{name}: {len(r.failures)} of {len(r.findings)} checks differ"]
        for f in r.failures:
            out.append(f"      {f.loc}: {f.describe()}")
            if f.convention:
                out.append(f"        {_composition(f.convention, r.conventions[f.convention])}")
        return out
    if r.status == INVALID:
        return [f"ERROR {path}: invalid spec (see the error above)"]
    return [f"SKIP  {path}{name}: no `expect:` or `budget:` block"]


def _composition(name: str, fig: dict[str, Any]) -> str:
    """`torchinfo 1.8 'Total mult-adds' 4,089,238,376 = macs 4,089,184,256 + batchnorm 53,120 + ...`"""
    parts = " + ".join(f"{k} {v:,}" for k, v in fig["breakdown"].items()) or "0"
    ops = ", ".join(f"{k}={v}" for k, v in fig["torch_ops"].items())
    return (f"{fig['tool']} '{fig['headline']}' {fig['total']:,} = {parts}"
            + (f" (torch ops: {ops})" if ops else ""))


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH[@VARIANT]...", shell_complete=complete_spec)
@spec_options
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@click.option("--skip-non-specs", is_flag=True,
              help="Ignore YAML files that are not archcalc specs (a spec has `layers:` and `input:` or a layer "
                   "with `kind:`), e.g. for pre-commit.")
@convention_options
@training_options
def command(paths: tuple[str, ...], fmt: str, skip_non_specs: bool, convention: str | None,
            torch_ops: tuple[str, ...], sets: tuple[str, ...], input_: str | None,
            batch: int | None, dtype: str, max_nodes: int | None, train: bool, optimizer: str | None, amp: bool,
            checkpoint: tuple[str, ...]) -> None:
    """Check spec files (or folders of them) against their `expect:` and `budget:` blocks.

    A spec with `variants:` is checked in each of them, each against its own `expect:`
    (SPEC@VARIANT checks one). Prints one verdict per spec and variant; each differing
    figure with its declared and computed values and the difference. Exit 0: all hold;
    3: a figure differs or a budget is exceeded; 1: a spec is invalid. With --convention,
    `macs` expectations and `max_macs` budgets are compared with what that tool would print.
    `training:` entries (docs/check.md) are checked at their own step; --optimizer, --amp,
    --checkpoint (with --train) and --batch fill what an entry leaves out.
    """
    from ..check import CONVENTION_KEYS, check_paths, exit_code
    from ..errors import SpecError, render
    from ..graph import Limits
    from ..profiles import PROFILES
    from ..source import TEXTS
    torch = parse_torch_ops(torch_ops)
    kw: dict[str, Any] = {
        "overrides": parse_sets(sets), "input_shape": parse_shape(input_) if input_ else None,
        "batch": batch, "dtype": dtype, "limits": Limits(max_nodes=max_nodes) if max_nodes else None,
        "convention": convention, "torch": torch, "training": train,
        "step": training_choice(train, optimizer, amp, checkpoint),
    }
    results = check_paths(paths, skip_non_specs=skip_non_specs, **kw)
    note = settings_note(sets, input_, batch)
    for r in results:  # an error found under --set, --input or --batch says so
        if r.error is not None:
            noting(r.error, note)
    analysed = [r for r in results if r.error is None]
    for layer, op in (torch or {}).items():  # a --torch-op that names no layer would change nothing, silently
        if analysed and not any(layer in r.torch_applied for r in analysed):
            from ..torch_ops import level
            what = f"a layer named {layer!r}" if level(layer) == 2 else f"a layer that {layer!r} selects"
            raise SpecError(f"--torch-op {layer}={op}: no checked spec has {what}",
                            hint="name a layer path as summarize lists it (e.g. avgpool or layer1/block0/conv1), "
                                 "a pattern such as '*/relu', or kind:NAME")
    code = exit_code(results)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "invalid", "unchecked", "library")}
    p = PROFILES[convention] if convention else None
    if fmt == "json":
        conv = None if p is None else {"name": p.name, "tool": p.tool, "headline": p.headline,
                                       "applies_to": list(CONVENTION_KEYS), "torch_ops": dict(torch or {})}
        click.echo(json.dumps({"schema_version": SCHEMA_VERSION, "ok": code == 0, "exit_code": code,
                               "convention": conv, "summary": counts, "specs": [r.to_dict() for r in results]},
                              indent=2))
    else:
        if p is not None:
            click.echo(f"--convention {p.name}: `macs` figures and `max_macs` budgets are compared with what "
                       f"{p.tool} prints as '{p.headline}', not archcalc's MACs")
        for r in results:
            if r.error is not None:
                click.echo(render(r.error, TEXTS), err=True)
            for line in _line(r):
                click.echo(line)
        n = len(results) - counts["library"]
        k = counts["library"]
        libs = f"; {k} block librar{'ies' if k != 1 else 'y'}" if k else ""
        click.echo(f"{n} spec{'s' * (n != 1)}: {counts['pass']} passed, "
                   f"{counts['fail']} failed, {counts['invalid']} invalid, {counts['unchecked']} without checks{libs}")
    ctx = click.get_current_context()
    ctx.exit(code)
