"""A JSON Schema (draft 2020-12) of the spec language, generated from the code.

Top-level keys come from `spec.TOP_KEYS`, layer keys from `spec.ITEM_KEYS`, block keys from
`spec.BLOCK_KEYS`, every built-in kind's fields (type, default, doc, range, choices) from its
`Field` definitions, the `expect:`/`budget:` figures from `check` and the tool names from
`profiles`, so the schema cannot drift from what `load` and `check` accept. Editors use it for
completion, hover text and early errors:

    # yaml-language-server: $schema=archcalc.schema.json

What a static schema can and cannot know:

- Values may be expressions over the spec's variables (`filters: 64 * alpha`) wherever a number
  is expected, so numeric fields take an integer or a string. The string must read as an
  expression (`32by32by3`, `3x3` do not: a number runs into a word).
- A name in an expression must be a variable (`vars:`) or, inside a block, an argument. Where
  neither can exist (no `vars:` at the top; a block without `args:`), only the functions,
  `true`/`false` and `index` may be named, so `filters: eight` is refused there. Elsewhere a
  schema cannot see which variables exist: `archcalc summarize` says.
- A layer's `kind` is a built-in kind or a block's name. Without `blocks:` only built-in kinds
  are accepted (`kind: cnov` is refused); with blocks, a name one letter away from a built-in
  kind (or a torch/Keras spelling such as `Conv2d`) is refused, and so is a block named so.
- A choice field takes one of its words (`padding: same`), or an expression; a word one letter
  away from a choice (`smae`) or another field's choice (`mode: same`) is refused.

Unknown keys are refused everywhere. A key that `spec` accepts but this module does not
describe is left out of the schema, so specs using it fail validation (and the test that runs
the schema over the shipped specs fails) until it is described here.
"""

from __future__ import annotations

import inspect
import json
import re
from fractions import Fraction
from typing import Any

from .calc import CONSTANTS, FUNCTIONS
from .check import _HWC
from .kinds import REGISTRY, Field, Kind
from .shape import _SHAPE_TEXT
from .spec import BLOCK_KEYS, ITEM_KEYS, NAME_RE, TOP_KEYS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: `input:` as text (H x W x C, also with commas, or a flat length): the pattern `shape.parse_shape_text` reads
SHAPE_TEXT = _SHAPE_TEXT.pattern
#: `expect.output_shape` as text: the pattern `check` reads
SHAPE_VALUE = _HWC.pattern
#: names an expression may use without a declaration (besides the choice words of the fields)
BUILTIN_NAMES = (*FUNCTIONS, *CONSTANTS, "index", "if", "else", "and", "or", "not")

_W = "A-Za-z0-9_"
#: characters of the expression language, and a number running into a word (`32by32by3`, `3x3`)
_EXPR_CHARS = r"^[A-Za-z0-9_.\s+\-*/%()<>=!,]+$"
_GLUED = rf"(^|[^{_W}.])[0-9][0-9_]*(\.[0-9_]*)?(?![eE][+-]?[0-9])[A-Za-z_]"


def _num(v: int | Fraction | float) -> int | float:
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else float(v)
    return v


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


def near_miss(words: tuple[str, ...] | list[str]) -> str:
    """A pattern for names one letter away from a word (a letter dropped, replaced or doubled, two
    neighbours swapped), or a word in other capitals or with a torch/Keras `1d`/`2d`/`3d` suffix:
    `cnov`, `cov`, `conb`, `convv`, `Conv`, `Conv2d`, `conv2d`. The words themselves do not match."""
    alts: list[str] = []
    for w in words:
        for i in range(len(w)):
            alts.append(re.escape(w[:i]) + "[a-z]?" + re.escape(w[i + 1:]))           # dropped, replaced
            alts.append(re.escape(w[: i + 1] + w[i] + w[i + 1:]))                     # doubled
            if i + 1 < len(w) and w[i] != w[i + 1]:
                alts.append(re.escape(w[:i] + w[i + 1] + w[i] + w[i + 2:]))           # swapped
        cased = "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in w)
        alts.append(cased + "(?:[123][dD])?")                                          # Conv2d, RELU
    return f"^(?!(?:{_alternatives(list(words))})$)(?:{'|'.join(alts)})$"


def _choice_words() -> dict[str, None]:
    """Every word any choice field takes (`valid`, `same`, `nearest`, ...), in order, once."""
    words: dict[str, None] = {"valid": None, "same": None}
    for cls in REGISTRY.values():
        for f in cls.fields.values():
            if f.type == "choice":
                words.update(dict.fromkeys(f.choices))
    return words


def free_name() -> str:
    """A pattern for a name in an expression that only a declaration could give a value."""
    known = [*BUILTIN_NAMES, *_choice_words()]
    return rf"(^|[^{_W}.])(?!(?:{_alternatives(known)})(?![{_W}]))[A-Za-z_][{_W}]*"


def _int(minimum: Any = 1, maximum: Any = None) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "integer", "minimum": _num(minimum)}
    if maximum is not None:
        s["maximum"] = _num(maximum)
    return {"anyOf": [s, {"$ref": "#/$defs/expr"}]}


def _pair(minimum: Any = 1, maximum: Any = None) -> dict[str, Any]:
    one = _int(minimum, maximum)
    return {"anyOf": [*one["anyOf"], {"type": "array", "items": one, "minItems": 2, "maxItems": 2}]}


def _words(choices: tuple[str, ...]) -> list[dict[str, Any]]:
    """A choice field's words, or an expression that is not a word of its own misspelt (see
    `_word_exprs`, which defines one such expression per set of choices)."""
    return [{"enum": list(choices)}, {"$ref": f"#/$defs/expr_for.{'|'.join(choices)}"}]


def _word_exprs() -> dict[str, Any]:
    """Per set of choices: an expression that is none of the other fields' words and not one
    letter away from one of its own (`padding: smae`, `mode: same`)."""
    sets = [("valid", "same")] + [f.choices for cls in REGISTRY.values() for f in cls.fields.values()
                                  if f.type == "choice"]
    out: dict[str, Any] = {}
    for choices in sets:
        others = [w for w in _choice_words() if w not in choices]
        expr: dict[str, Any] = {"allOf": [{"$ref": "#/$defs/expr"}, {"not": {"pattern": near_miss(choices)}}]}
        if others:
            expr["allOf"].append({"not": {"enum": others}})
        out[f"expr_for.{'|'.join(choices)}"] = expr
    return out


def field_schema(f: Field) -> dict[str, Any]:
    """One field's schema: its accepted values, with its doc and default for editors."""
    if f.type == "int":
        s = _int(f.min, f.max)
    elif f.type == "pair":
        s = _pair(f.min, f.max)
    elif f.type == "padding":
        zero = {"anyOf": [{"type": "integer", "minimum": 0}, {"$ref": "#/$defs/expr"}]}
        s = {"anyOf": [*_words(("valid", "same")), {"type": "integer", "minimum": 0},
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
        s = {"anyOf": _words(f.choices)}
    else:  # a new field type must be given a schema here (the schema tests fail until it is)
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
             "anyOf": [{"enum": []}, {"$ref": "#/$defs/block_name"}]},
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
    "source": {"type": "string", "description": "where the architecture comes from (paper, implementation)"},
    "input": {"description": "H x W x C (32x32x1 or [224, 224, 3]) or a flat length ([784])",
              "anyOf": [{"type": "string", "pattern": SHAPE_TEXT}, {"type": "integer", "minimum": 1},
                        {"$ref": "#/$defs/expr"},
                        {"type": "array", "items": _int(1), "minItems": 1, "maxItems": 1},
                        {"type": "array", "items": _int(1), "minItems": 3, "maxItems": 3}]},
    "layout": {"description": "how `input` is written: HWC (default) or CHW (PyTorch's order, read as "
                          "C x H x W)", "enum": ["HWC", "CHW", "hwc", "chw"]},
    "batch": {"description": "batch size (counts are totals over it)", **_int(1)},
    "vars": {"description": "variables usable in any value, overridable with --set NAME=VALUE",
             "type": "object", "propertyNames": {"pattern": IDENT},
             "additionalProperties": {"type": ["number", "string", "boolean", "array"]}},
    "blocks": {"description": "reusable groups of layers, used as `kind: <block name>`",
               "type": "object", "additionalProperties": {"$ref": "#/$defs/block"}},
    "layers": {"$ref": "#/$defs/layers"},
    "outputs": {"description": "the network's output layers (default: layers no other layer takes)",
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "torch_ops": {"description": "the torch op of layers whose torch model differs from their kind's module "
                                 "(for --convention): a layer path, a pattern (*, ?) or kind:NAME -> op, "
                                 "e.g. kind:relu: F.relu",
                  "type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
    "expect": {"$ref": "#/$defs/expect"},
    "budget": {"$ref": "#/$defs/budget"},
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


def _described(keys: tuple[str, ...], known: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The keys this module describes, in the spec parser's order (see the module's docstring)."""
    return {k: known[k] for k in keys if k in known}


def _figures() -> dict[str, Any]:
    """`expect:` and `budget:`, as `check.parse_expect` and `check.parse_budget` read them."""
    from .check import BUDGET_KEYS, CONVENTIONS, ENTRY_KEYS, EXPECT_KEYS, TORCH_OPS, TRAINING
    from .profiles import NAMES
    if set(ENTRY_KEYS) != {"value", "source", "tolerance"}:  # the tests fail until this is brought in line
        raise ValueError(f"check.ENTRY_KEYS is {ENTRY_KEYS}: describe the new keys in schema._figures")
    count = {"type": "integer", "minimum": 0}
    source = {"type": "string", "pattern": r"\S",
              "description": "where the figure comes from: a paper's table, an implementation's metadata, "
                             "or arithmetic written beside it"}
    entry = {"type": "object", "required": ["value", "source"], "additionalProperties": False,
             "properties": {"value": count, "source": source,
                            "tolerance": {**count, "description": "|computed - value| may be at most this"}}}
    shape = {"type": "object", "required": ["value", "source"], "additionalProperties": False,
             "properties": {"value": {"anyOf": [{"type": "array", "items": {"type": "integer", "minimum": 1},
                                                 "minItems": 1},
                                                {"type": "integer", "minimum": 1},
                                                {"type": "string", "pattern": SHAPE_VALUE}]},
                            "source": source}}
    ops = {"description": "layer -> the torch op that computes it, e.g. {avgpool: AdaptiveAvgPool2d}",
           "type": "object", "additionalProperties": {"type": "string", "pattern": r"\S"}}
    expect_props: dict[str, Any] = {k: dict(shape if k == "output_shape" else entry, description=d)
                                    for k, d in EXPECT_KEYS.items()}
    expect_props[CONVENTIONS] = {"description": "what other tools print, by profile", "type": "object",
                                 "additionalProperties": False,
                                 "properties": {**{n: {"$ref": "#/$defs/expect_entry"} for n in NAMES},
                                                TORCH_OPS: ops}}
    limit = {"type": "integer", "minimum": 1}
    budget_props: dict[str, Any] = {k: dict(limit, description=f"an upper bound on {m}")
                                    for k, m in BUDGET_KEYS.items()}
    budget_props[CONVENTIONS] = {"description": "upper bounds on what other tools count, by profile",
                                 "type": "object", "additionalProperties": False,
                                 "properties": {**{n: limit for n in NAMES}, TORCH_OPS: ops}}
    expect_props[TRAINING], budget_props[TRAINING] = _training(entry, limit)
    return {
        "expect_entry": entry,
        "expect": {"description": "figures the spec must produce, each with its source (archcalc check)",
                   "type": "object", "properties": expect_props, "additionalProperties": False},
        "budget": {"description": "upper bounds the spec must stay within (archcalc check)",
                   "type": "object", "properties": budget_props, "additionalProperties": False},
    }


def _training(entry: dict[str, Any], limit: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`expect.training` and `budget.training`: a step's setting and its figures (check.parse_training);
    one mapping, or a list of them."""
    from .check import TRAINING_BUDGET, TRAINING_EXPECT
    from .training import OPTIMIZERS
    setting = {"batch": {**limit, "description": "the step's batch (default: --batch, or the spec's)"},
               "optimizer": {"enum": list(OPTIMIZERS), "description": "default: --optimizer, or momentum"},
               "amp": {"type": "boolean", "description": "mixed precision (--amp)"},
               "checkpoint": {"anyOf": [{"type": ["string", "integer"]},
                                        {"type": "array", "items": {"type": ["string", "integer"]}}],
                              "description": "block instances run again in the backward: a depth or a pattern"},
               "memory": {**limit, "description": "bytes a step may use (for min_fit_batch)"}}
    out = []
    for figures, value, what in ((TRAINING_EXPECT, entry, "figures of a training step"),
                                 (TRAINING_BUDGET, limit, "bounds on a training step")):
        one = {"type": "object", "additionalProperties": False, "minProperties": 1,
               "properties": {**setting, **{k: dict(value, description=str(d)) for k, d in figures.items()}}}
        out.append({"description": f"{what} (archcalc.training), at its own batch and optimizer",
                    "anyOf": [one, {"type": "array", "items": one}]})
    return out[0], out[1]


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, as a plain dict."""
    kinds = builtin_kinds()
    item = _described(ITEM_KEYS, _ITEM)
    item["kind"] = json.loads(json.dumps(item["kind"]))
    item["kind"]["anyOf"][0]["enum"] = list(kinds)
    top = _described(TOP_KEYS, _TOP)
    block_props = _described(BLOCK_KEYS, _BLOCK)
    defs: dict[str, Any] = {
        "expr": {"type": "string", "pattern": _EXPR_CHARS, "not": {"pattern": _GLUED},
                 "description": "an expression over the spec's variables, e.g. 64 * alpha"},
        "no_free_names": {"description": "a value naming no variable (none can exist here)", "anyOf": [
            {"not": {"type": ["string", "array"]}},
            {"type": "string", "not": {"pattern": free_name()}},
            {"type": "array", "items": {"$ref": "#/$defs/no_free_names"}}]},
        "block_name": {"type": "string", "pattern": NAME_RE.pattern, "not": {"pattern": near_miss(list(kinds))}},
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/layer"}},
        "layer": {
            "type": "object", "required": ["kind"], "properties": item,
            "allOf": [{"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                       "then": {"$ref": f"#/$defs/kind.{k}"}} for k in kinds],
        },
        # a layer where no variable exists: its values name none (kind, name and from are names)
        "layer_without_variables": {"properties": {"kind": True, "name": True, "from": True},
                                    "additionalProperties": {"$ref": "#/$defs/no_free_names"}},
        "block": {"type": "object", "required": ["layers"], "properties": block_props,
                  "additionalProperties": False},
        **_word_exprs(),
        **_figures(),
    }
    defs.update({f"kind.{k}": _kind_schema(cls) for k, cls in kinds.items()})
    top["blocks"] = dict(top["blocks"], propertyNames={"$ref": "#/$defs/block_name",
                                                       "not": {"enum": sorted(REGISTRY)}})
    closed_layers = {"items": {"$ref": "#/$defs/layer_without_variables"}}
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
        "allOf": [
            {  # no `vars:`: the top-level layers, the input and a block without `args:` name no variable
                "if": {"not": {"required": ["vars"]}},
                "then": {"properties": {
                    "layers": closed_layers, "input": {"$ref": "#/$defs/no_free_names"},
                    "batch": {"$ref": "#/$defs/no_free_names"},
                    "blocks": {"additionalProperties": {"if": {"not": {"required": ["args"]}},
                                                        "then": {"properties": {"layers": closed_layers}}}}}},
            },
            {  # no `blocks:` and no `include:` of a block library: every top-level layer is of a built-in kind
                "if": {"not": {"anyOf": [{"required": ["blocks"]}, {"required": ["include"]}]}},
                "then": {"properties": {"layers": {"items": {"properties": {"kind": {"enum": list(kinds)}}}}}},
            },
        ],
        "$defs": defs,
    }


def to_json(indent: int = 2) -> str:
    return json.dumps(spec_schema(), indent=indent, ensure_ascii=False) + "\n"


__all__ = ["BUILTIN_NAMES", "DRAFT", "field_schema", "free_name", "near_miss", "spec_schema", "to_json"]
