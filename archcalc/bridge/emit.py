"""Imported layers -> spec YAML a person can read: one flow mapping per layer, blocks first."""

from __future__ import annotations

import json
import re
from typing import Any

from .fold import Folded, Item, Leaf, fold
from .importer import Imported, clean

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(scalar(x) for x in v) + "]"
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s)


def _line(it: Item, prev: str | None) -> str:
    parts = [f"kind: {scalar(it.kind)}", f"name: {scalar(it.name)}"]
    if it.refs and (len(it.refs) > 1 or it.refs[0] != prev):
        parts.append(f"from: {scalar(it.refs[0]) if len(it.refs) == 1 else scalar(it.refs)}")
    vals = dict(it.values)
    if it.repeat:
        parts.append(f"repeat: {scalar(it.repeat)}")
    parts += [f"{k}: {scalar(v)}" for k, v in vals.items()]
    return "{" + ", ".join(parts) + "}"


def _items(items: list[Item], indent: str, first_prev: str = "input") -> list[str]:
    out, prev = [], first_prev
    for it in items:
        out.append(f"{indent}- {_line(it, prev)}")
        prev = it.name
    return out


def _default(kind: str, fld: str) -> Any:
    from ..kinds import REGISTRY
    from .ops.common import real
    f = REGISTRY[kind].fields.get(fld)
    if f is None or f.required:
        return None
    d = f.default
    from fractions import Fraction
    return real(float(d)) if isinstance(d, Fraction) else d


def folded(imp: Imported, flat: bool = False) -> Folded:
    """The imported layers as items (and blocks, unless `flat`)."""
    from ..kinds import REGISTRY
    leaves = [Leaf(lay.path, lay.kind, lay.fields, lay.inputs) for lay in imp.layers]
    if flat:
        names = [clean(".".join(lay.path), lay.kind) for lay in imp.layers]
        items = [Item(names[i], lay.kind, dict(lay.fields), [("input" if j < 0 else names[j]) for j in lay.inputs],
                      leaf=i) for i, lay in enumerate(imp.layers)]
        return Folded({}, items)
    return fold(leaves, default=_default, clean=clean, reserved=set(REGISTRY))


def to_yaml(imp: Imported, *, flat: bool = False, source: str = "") -> str:
    f = folded(imp, flat)
    lines = [f"# Imported by `archcalc import` from {source or imp.name}."]
    if imp.constant_floats:
        lines.append(f"# The file's initializers hold {imp.initializer_floats:,} float elements: the parameters "
                     f"below, and {imp.constant_floats:,} of constants the exporter computed (said below).")
    else:
        lines.append(f"# The file's initializers hold {imp.initializer_floats:,} float elements: the parameters below.")
    if imp.folded_bn:
        lines.append(f"# The exporter folded {imp.folded_bn} BatchNorm layers into the convolutions before them "
                     "(biases made of them):")
        lines.append("# the model's own parameter count includes 4C per BatchNorm that this file no longer holds.")
    for n in imp.notes:
        lines.append(f"# {n}")
    if imp.unmapped:
        lines.append("# UNMAPPED operators kept as zero-cost `unmapped` layers (their cost is NOT counted): "
                     + ", ".join(f"{k} x{len(v)}" for k, v in sorted(imp.unmapped.items())))
    lines.append(f"name: {scalar(imp.name)}")
    lines.append("input: " + ("x".join(map(str, imp.input)) if len(imp.input) == 3 else f"[{imp.input[0]}]"))
    if imp.batch != 1:
        lines.append(f"batch: {imp.batch}")
    if f.blocks:
        lines.append("blocks:")
        for b in f.blocks.values():
            lines.append(f"  {scalar(b.name)}:")
            lines.append("    args: {" + ", ".join(f"{a}: null" for a in b.args) + "}")
            if b.output:
                lines.append(f"    output: {scalar(b.output)}")
            lines.append("    layers:")
            lines += _items(b.items, "      ")
    lines.append("layers:")
    lines += _items(f.items, "  ")
    if len(imp.outputs) > 1:
        names = {}
        for it in f.items:
            if it.leaf is not None:
                names[it.leaf] = it.name
        outs = [names.get(o) for o in imp.outputs]
        if all(outs):
            lines.append(f"outputs: {scalar(outs)}")
    return "\n".join(lines) + "\n"
