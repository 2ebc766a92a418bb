"""A JSON Schema (draft 2020-12) of the spec language, generated from the code.

Top-level keys come from `spec.TOP_KEYS`, layer keys from `spec.ITEM_KEYS`, block keys
from `spec.BLOCK_KEYS`, and every built-in kind's fields (type, default, doc, range,
choices) from its `Field` definitions, so the schema cannot drift from what `load`
accepts. Editors use it for completion, hover text and early errors:

    # yaml-language-server: $schema=archcalc.schema.json

Values may be expressions over the spec's variables (`filters: 64 * alpha`) wherever a
number is expected, so numeric fields accept an integer or a string. A layer's `kind` is
a built-in kind or a block name (which no static schema can list): built-in kinds get
their fields checked (unknown keys rejected) through `if`/`then` on the `kind`; block
layers take any arguments.
"""

from __future__ import annotations

import inspect
import json
from fractions import Fraction
from typing import Any

from .kinds import REGISTRY, Field, Kind
from .spec import BLOCK_KEYS, ITEM_KEYS, NAME_RE, TOP_KEYS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
HWC = r"^\s*\d+\s*[x×X]\s*\d+\s*[x×X]\s*\d+\s*$"

EXPR: dict[str, Any] = {"type": "string", "minLength": 1,
                        "description": "an expression over the spec's variables, e.g. 64 * alpha"}


def _num(v: int | Fraction | float) -> int | float:
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else float(v)
    return v


def _int(minimum: Any = 1, maximum: Any = None) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "integer", "minimum": _num(minimum)}
    if maximum is not None:
        s["maximum"] = _num(maximum)
    return {"anyOf": [s, {"$ref": "#/$defs/expr"}]}


def _pair(minimum: Any = 1, maximum: Any = None) -> dict[str, Any]:
    one = _int(minimum, maximum)
    return {"anyOf": [*one["anyOf"], {"type": "array", "items": one, "minItems": 2, "maxItems": 2}]}


def field_schema(f: Field) -> dict[str, Any]:
    """One field's schema: its accepted values, with its doc and default for editors."""
    if f.type == "int":
        s = _int(f.min, f.max)
    elif f.type == "pair":
        s = _pair(f.min, f.max)
    elif f.type == "padding":
        zero = _int(0)
        s = {"anyOf": [{"enum": ["valid", "same"]}, *zero["anyOf"],
                       {"type": "array", "items": zero, "minItems": 2, "maxItems": 2},
                       {"type": "array", "items": zero, "minItems": 4, "maxItems": 4}]}
    elif f.type == "bool":
        s = {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/expr"}]}
    elif f.type == "real":
        r: dict[str, Any] = {"type": "number", "minimum": _num(f.min)}
        if f.max is not None:
            r["maximum"] = _num(f.max)
        s = {"anyOf": [r, {"$ref": "#/$defs/expr"}]}
    elif f.type == "choice":
        s = {"anyOf": [{"enum": list(f.choices)}, {"$ref": "#/$defs/expr"}]}
    else:  # pragma: no cover - a new field type must be given a schema here
        raise ValueError(f"field {f.name!r}: no schema for field type {f.type!r}")
    typ = f.describe_type()
    doc = f"{f.doc} ({typ})" if f.doc and f.type in ("int", "pair", "real") else f.doc or typ
    s = {"description": doc, **s}
    if not f.required:
        d = f.default
        s["default"] = list(d) if isinstance(d, tuple) else _num(d) if not isinstance(d, (bool, str)) else d
    return s


def builtin_kinds() -> dict[str, type[Kind]]:
    return {k: v for k, v in sorted(REGISTRY.items()) if not v.internal}


def _kind_schema(cls: type[Kind]) -> dict[str, Any]:
    doc = (inspect.getdoc(cls) or "").splitlines()
    props: dict[str, Any] = {k: True for k in ITEM_KEYS}
    props.update({k: field_schema(f) for k, f in cls.fields.items()})
    s: dict[str, Any] = {"description": doc[0] if doc else cls.name, "properties": props,
                         "additionalProperties": False}
    required = [k for k, f in cls.fields.items() if f.required]
    lo, _ = cls.arity
    if lo >= 2:  # the previous layer alone is one input: `from:` must list them
        required.append("from")
        props["from"] = {"type": "array", "items": {"type": "string"}, "minItems": lo,
                         "description": f"the {lo} or more layers whose outputs this layer takes"}
    if required:
        s["required"] = required
    return s


_ITEM: dict[str, dict[str, Any]] = {
    "kind": {"description": "a built-in layer kind (see `archcalc kinds`) or the name of a block",
             "anyOf": [{"enum": []}, {"type": "string", "pattern": NAME_RE.pattern}]},
    "name": {"description": "the layer's name, for `from:` and the report (auto-named when absent)",
             "type": "string", "pattern": NAME_RE.pattern, "not": {"const": "input"}},
    "from": {"description": "the input layer's name, or a list of names (default: the previous layer)",
             "anyOf": [{"type": "string", "minLength": 1},
                       {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]},
    "repeat": {"description": "how many copies, chained (name1, name2, ...; `index` counts from 1)",
               **_int(0)},
    "when": {"description": "a condition: the layer is skipped (its input passed through) when false",
             "anyOf": [{"type": "boolean"}, {"type": "integer"}, {"$ref": "#/$defs/expr"}]},
    "table": {"description": "a stage table: column names, then one row per copy (name1, name2, ...); "
                             "columns are variables of the layer's values and fill the block arguments "
                             "(or kind fields) they name",
              "type": "array", "minItems": 2,
              "prefixItems": [{"type": "array", "items": {"type": "string", "pattern": IDENT}}],
              "items": {"type": "array"}},
    "training_only": {"description": "the layer (or block) runs in training only, as an auxiliary head: "
                                     "its parameters count, its MACs and memory only with --train",
                      "anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/expr"}]},
}

_TOP: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "description": "the network's name (default: the file name)"},
    "description": {"type": "string"},
    "input": {"description": "H x W x C (32x32x1 or [224, 224, 3]) or a flat length ([784])",
              "anyOf": [{"type": "string", "pattern": HWC}, {"type": "integer", "minimum": 1},
                        {"$ref": "#/$defs/expr"},
                        {"type": "array", "items": _int(1), "minItems": 1, "maxItems": 1},
                        {"type": "array", "items": _int(1), "minItems": 3, "maxItems": 3}]},
    "batch": {"description": "batch size (counts are totals over it)", **_int(1)},
    "vars": {"description": "variables usable in any value, overridable with --set NAME=VALUE",
             "type": "object", "propertyNames": {"pattern": IDENT},
             "additionalProperties": {"type": ["number", "string", "boolean", "array"]}},
    "blocks": {"description": "reusable groups of layers, used as `kind: <block name>`",
               "type": "object", "additionalProperties": {"$ref": "#/$defs/block"}},
    "layers": {"$ref": "#/$defs/layers"},
    "outputs": {"description": "the network's output layers (default: layers no other layer takes)",
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "include": {"description": "block libraries (files of `blocks:`) whose blocks this spec uses, "
                               "relative to this file's folder",
                "anyOf": [{"type": "string", "minLength": 1},
                          {"type": "array", "items": {"type": "string", "minLength": 1}}]},
    "variants": {"description": "named settings of the variables (and input), each with its own expect: "
                                "block; selected as SPEC@NAME",
                 "type": "object", "propertyNames": {"pattern": NAME_RE.pattern},
                 "additionalProperties": {
                     "type": "object", "additionalProperties": False,
                     "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                                    "vars": {"type": "object", "propertyNames": {"pattern": IDENT}},
                                    "input": {}, "expect": {"type": "object"}, "budget": {"type": "object"}}}},
}

_BLOCK: dict[str, dict[str, Any]] = {
    "args": {"description": "argument -> default (null = required)", "type": "object",
             "propertyNames": {"pattern": IDENT, "not": {"enum": list(ITEM_KEYS)}}},
    "layers": {"$ref": "#/$defs/layers"},
    "output": {"type": "string", "description": "the block layer whose result the block returns (default: the last)"},
    "doc": {"type": "string"},
}


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, as a plain dict."""
    kinds = builtin_kinds()
    item = {k: _ITEM.get(k, {}) for k in ITEM_KEYS}
    item["kind"] = json.loads(json.dumps(item["kind"]))
    item["kind"]["anyOf"][0]["enum"] = list(kinds)
    top = {k: _TOP.get(k, {}) for k in TOP_KEYS}  # keys without a schema here (expect, budget) take anything
    block_props = {k: _BLOCK.get(k, {}) for k in BLOCK_KEYS}
    defs: dict[str, Any] = {
        "expr": EXPR,
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/layer"}},
        "layer": {
            "type": "object", "required": ["kind"], "properties": item,
            "allOf": [{"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                       "then": {"$ref": f"#/$defs/kind.{k}"}} for k in kinds],
        },
        "block": {"type": "object", "required": ["layers"], "properties": block_props,
                  "additionalProperties": False},
    }
    defs.update({f"kind.{k}": _kind_schema(cls) for k, cls in kinds.items()})
    top["blocks"] = dict(top["blocks"], propertyNames={"pattern": NAME_RE.pattern,
                                                       "not": {"enum": sorted(REGISTRY)}})
    return {
        "$schema": DRAFT,
        "title": "archcalc spec",
        "description": "A CNN architecture for archcalc: input, layers, blocks, variables (or a block "
                       "library of blocks only). Generated by `archcalc schema`.",
        "type": "object",
        # a spec has an input and layers; a block library (what `include:` names) blocks only
        "anyOf": [{"required": ["input", "layers"]},
                  {"required": ["blocks"], "not": {"anyOf": [{"required": ["input"]}, {"required": ["layers"]}]}}],
        "properties": top,
        "additionalProperties": False,
        "$defs": defs,
    }


def to_json(indent: int = 2) -> str:
    return json.dumps(spec_schema(), indent=indent, ensure_ascii=False) + "\n"


__all__ = ["DRAFT", "field_schema", "spec_schema", "to_json"]
