"""Located tree -> Spec: the structure of a spec checked before any arithmetic.

Here we check what does not depend on variable values: known top-level keys, layer
kinds, field and argument names (with did-you-mean), required fields, block
definitions. All such problems are collected and reported together. Values
(`filters: 64 * alpha`) are evaluated later, when the graph is built, because
`--set` may change them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._gc import paused
from .errors import MAX_SHOWN, Diagnostic, Location, SpecError, describe, did_you_mean
from .kinds import REGISTRY
from .record import Frozen
from .source import LList, LMap, Source, load_source, parse

TOP_KEYS = ("name", "description", "source", "input", "batch", "vars", "blocks", "layers",
            "outputs", "expect", "budget")
#: keys of a layer item that are not the kind's fields
ITEM_KEYS = ("kind", "name", "from", "repeat", "when")
BLOCK_KEYS = ("args", "layers", "output", "doc")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class LayerSpec(Frozen):
    """One item of a `layers:` list: a kind (or block) with raw, unevaluated values."""

    __slots__ = ("kind", "item", "name", "inputs", "repeat", "when", "is_block")

    def __init__(self, kind: str, item: LMap, name: str | None, inputs: tuple[str, ...] | None,
                 repeat: Any, when: Any, is_block: bool) -> None:
        self.kind = kind
        self.item = item          # the whole item, for value locations
        self.name = name
        self.inputs = inputs      # `from:`, None = the previous layer
        self.repeat, self.when, self.is_block = repeat, when, is_block

    @property
    def loc(self) -> Location:
        return self.item.loc

    def args(self) -> dict[str, Any]:
        return {k: v for k, v in self.item.items() if k not in ITEM_KEYS}


class BlockSpec(Frozen):
    """A reusable, parameterised group of layers."""

    __slots__ = ("name", "args", "layers", "output", "loc", "doc")

    def __init__(self, name: str, args: LMap, layers: tuple[LayerSpec, ...], output: str | None,
                 loc: Location, doc: str = "") -> None:
        self.name = name
        self.args = args          # arg -> default (None = required)
        self.layers, self.output, self.loc, self.doc = layers, output, loc, doc


class Spec(Frozen):
    """A parsed spec: structure validated, values still expressions."""

    __slots__ = ("source", "root", "name", "layers", "blocks", "__weakref__")

    def __init__(self, source: Source, root: LMap, name: str, layers: tuple[LayerSpec, ...],
                 blocks: dict[str, BlockSpec] | None = None) -> None:
        self.source, self.root, self.name, self.layers = source, root, name, layers
        self.blocks = {} if blocks is None else blocks

    def _values(self) -> tuple[Any, ...]:
        return (self.source, self.root, self.name, self.layers, self.blocks)

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def vars(self) -> LMap:
        v = self.root.get("vars")
        return v if isinstance(v, LMap) else LMap(self.root.loc)


#: Structural problems listed at once; past this many the check stops (a file of 80,000
#: misspelt layers needs no 80,000 messages, and collecting them would cost seconds).
MAX_DIAGNOSTICS = 1000
#: Diagnostics whose did-you-mean hint is worked out: as many as are printed. A hint compares
#: one word with every option (up to errors.MAX_COMPARED of them), so one for each of 1,000
#: unknown kinds against 3,000 block names would cost seconds for hints nobody reads; later
#: diagnostics carry no hint.
HINTED = MAX_SHOWN


class _Full(Exception):
    """MAX_DIAGNOSTICS problems are collected: stop looking for more."""


class _Collector:
    def __init__(self, blocks: dict[str, LMap] | None = None) -> None:
        self.diags: list[Diagnostic] = []
        self.blocks = blocks or {}
        self._fields: dict[str, tuple[frozenset[Any], list[Any], list[Any]]] = {}
        self._names: list[str] | None = None

    def add(self, message: str, loc: Location, hint: str | Callable[[], str] | None = None) -> None:
        """Record a problem; a `hint` given as a function is worked out only for the first HINTED."""
        if callable(hint):
            hint = hint() if len(self.diags) < HINTED else None
        self.diags.append(Diagnostic(message, loc, hint))
        if len(self.diags) >= MAX_DIAGNOSTICS:
            raise _Full

    def fields(self, kind: str, cls: type | None) -> tuple[frozenset[Any], list[Any], list[Any]]:
        """(allowed keys, their list, required keys) of a kind or block, worked out once per
        name rather than once per layer (a block of 2,000 arguments used 10,000 times)."""
        got = self._fields.get(kind)
        if got is None:
            if cls is None:
                bargs = self.blocks[kind].get("args")
                bargs = bargs if isinstance(bargs, LMap) else {}  # a malformed `args:` is reported once, above
                allowed = list(bargs)
                required = [a for a, d in bargs.items() if d is None]
            else:
                allowed = list(cls.fields)  # type: ignore[attr-defined]
                required = [f for f, d in cls.fields.items() if d.required]  # type: ignore[attr-defined]
            got = self._fields[kind] = (frozenset(allowed), allowed, required)
        return got

    def kind_names(self) -> list[str]:
        if self._names is None:
            self._names = sorted([k for k, v in REGISTRY.items() if not v.internal] + list(self.blocks))
        return self._names


def _parse_item(raw: Any, loc: Location, blocks: dict[str, LMap], c: _Collector) -> LayerSpec | None:
    if not isinstance(raw, LMap):
        c.add(f"a layer is a mapping such as {{kind: conv, filters: 6, kernel: 5}}, received {describe(raw)}",
              loc, "write each layer as `- kind: ...` with its fields below it")
        return None
    if "kind" not in raw:
        c.add("this layer has no `kind`", raw.loc,
              "add `kind: conv` (or another kind; see `archcalc kinds`), or the name of a block")
        return None
    kind = raw["kind"]
    if not isinstance(kind, str):
        c.add(f"`kind` must be a word, received {describe(kind)}", raw.at("kind"))
        return None
    is_block = kind in blocks
    if is_block:
        allowed_set, allowed, required = c.fields(kind, None)
    else:
        cls = REGISTRY.get(kind)
        if cls is None or cls.internal:  # as kinds.lookup says it, with the blocks in the hint
            c.add(f"unknown layer kind '{kind}'", raw.at("kind"),
                  lambda: did_you_mean(kind, c.kind_names(), "known kinds and blocks"))
            return None
        allowed_set, allowed, required = c.fields(kind, cls)
    ok = True
    for k in raw:
        if k in ITEM_KEYS:
            continue
        if k not in allowed_set:
            what = f"block '{kind}' has no argument" if is_block else f"'{kind}' has no field"
            hint: Any = lambda k=k: did_you_mean(k, [*allowed, *ITEM_KEYS], "it takes")  # noqa: E731
            if not str(k).isidentifier():  # `{filters: max(8, 4)}`: YAML split the value at the comma
                hint = "inside { } a comma ends the value: quote an expression with commas, "\
                       "e.g. filters: \"max(8, 4)\""
            c.add(f"{what} '{k}'", raw.key_at(k), hint)
            ok = False
    for f in required:
        if f not in raw:
            c.add(f"'{kind}' needs `{f}`", raw.loc, f"add `{f}: ...` to this layer")
            ok = False
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not NAME_RE.match(name)):
        c.add(f"a layer name is a word of letters, digits, _ . - , received {describe(name)}",
              raw.at("name"), "names may not contain '/': it separates block levels")
        ok = False
    if name == "input":
        c.add("'input' names the network's (or block's) input and cannot name a layer", raw.at("name"))
        ok = False
    inputs = raw.get("from")
    if inputs is not None:
        if isinstance(inputs, str):
            inputs = (inputs,)
        elif isinstance(inputs, list) and inputs and all(isinstance(x, str) for x in inputs):
            inputs = tuple(inputs)
        else:
            c.add(f"`from` is a layer name or a list of names, received {describe(inputs)}", raw.at("from"))
            ok = False
    if not ok:
        return None
    return LayerSpec(kind, raw, name, inputs, raw.get("repeat"), raw.get("when"), is_block)


def _parse_layers(raw: Any, loc: Location, blocks: dict[str, LMap], c: _Collector,
                  where: str) -> tuple[LayerSpec, ...]:
    if not isinstance(raw, LList) or not raw:
        c.add(f"{where} needs a non-empty list of layers", loc, "write `layers:` followed by `- kind: ...` items")
        return ()
    out = []
    for i, item in enumerate(raw):
        ls = _parse_item(item, raw.at(i), blocks, c)
        if ls is not None:
            out.append(ls)
    return tuple(out)


def from_source(src: Source) -> Spec:
    """Check a located tree's structure; raise one SpecError listing every problem found
    (the first MAX_DIAGNOSTICS of them)."""
    c = _Collector()
    try:
        spec = _check(src, c)
    except _Full:
        spec = None
    if c.diags or spec is None:
        err = SpecError("", diagnostics=c.diags)
        err.stopped = spec is None
        raise err
    return spec


def _check(src: Source, c: _Collector) -> Spec | None:
    root = src.root
    if not isinstance(root, LMap):
        loc = getattr(root, "loc", Location(src.path, 1, 1))
        raise SpecError(f"a spec is a mapping with `input:` and `layers:`, but this file holds {describe(root)}",
                        loc, "start from a shipped spec, e.g. specs/lenet5.yaml")
    for k in root:
        if k not in TOP_KEYS:
            c.add(f"unknown top-level key '{k}'", root.key_at(k),
                  lambda k=k: did_you_mean(k, TOP_KEYS, "top-level keys"))
    for k in ("input", "layers"):
        if k not in root:
            c.add(f"the spec has no `{k}:`", root.loc,
                  "add `input: 32x32x1` (H x W x C)" if k == "input" else "add `layers:` with a list of layers")
    raw_blocks = root.get("blocks") or LMap(root.loc)
    if not isinstance(raw_blocks, LMap):
        c.add("`blocks` is a mapping of block name -> {args, layers}", root.at("blocks"))
        raw_blocks = LMap(root.loc)
    if not isinstance(root.get("vars", LMap(root.loc)), LMap):
        c.add("`vars` is a mapping of name -> value", root.at("vars"))
    for vname in (root.get("vars") or {}) if isinstance(root.get("vars"), LMap) else ():
        if not isinstance(vname, str) or not vname.isidentifier():
            c.add(f"a variable name is a word (letters, digits, _), received {describe(vname)}",
                  root["vars"].key_at(vname))
    good: dict[str, LMap] = {}
    for bname, b in raw_blocks.items():
        bloc = raw_blocks.key_at(bname)
        if not isinstance(bname, str) or not NAME_RE.match(bname):
            c.add(f"a block name is a word, received {describe(bname)}", bloc)
        elif bname in REGISTRY:
            c.add(f"block '{bname}' has the name of a built-in layer kind", bloc, "rename the block")
        elif not isinstance(b, LMap):
            c.add(f"block '{bname}' must be a mapping with `layers:` (and `args:`)", bloc)
        else:
            for k in b:
                if k not in BLOCK_KEYS:
                    c.add(f"unknown key '{k}' in block '{bname}'", b.key_at(k),
                          lambda k=k: did_you_mean(k, BLOCK_KEYS, "a block has"))
            args = b.get("args")
            if args is not None and not isinstance(args, LMap):
                c.add("`args` is a mapping of argument -> default (null = required)", b.at("args"))
            elif args is not None:
                for a in args:
                    if not isinstance(a, str) or not a.isidentifier() or a in ITEM_KEYS:
                        c.add(f"argument name {describe(a)} is not usable (a word, not one of {', '.join(ITEM_KEYS)})",
                              args.key_at(a))
            good[bname] = b
    c.blocks = good
    blocks: dict[str, BlockSpec] = {}
    for bname, b in good.items():
        layers = _parse_layers(b.get("layers"), b.at("layers"), good, c, f"block '{bname}'")
        out = b.get("output")
        if out is not None and not isinstance(out, str):
            c.add("`output` names the block layer whose result the block returns", b.at("output"))
            out = None
        doc = b.get("doc") if isinstance(b.get("doc"), str) else ""
        blocks[bname] = BlockSpec(bname, b.get("args") if isinstance(b.get("args"), LMap) else LMap(b.loc),
                                  layers, out, raw_blocks.key_at(bname), doc)
    layers = _parse_layers(root.get("layers"), root.at("layers"), good, c, "the spec") if "layers" in root else ()
    name = root.get("name")
    if name is not None and not isinstance(name, str):
        c.add(f"`name` is text, received {describe(name)}", root.at("name"))
    return Spec(src, root, name or Path(src.path).stem, layers, blocks)


@paused
def load(source: str | Path | None = None, *, text: str | None = None, path: str | None = None) -> Spec:
    """Load a spec from a file path, from YAML text, or from standard input ('-').

    `load("specs/vgg16.yaml")` reads a file; `load(text="input: ...")` parses text. A string
    that is not an existing file but holds a newline or a colon is taken as YAML text.
    """
    if text is not None:
        return from_source(parse(text, path or "<text>"))
    if source is None:
        raise TypeError("load() needs a path or text=")
    s = str(source)
    if isinstance(source, Path) or s == "-" or _exists(s) or ("\n" not in s and ":" not in s):
        return from_source(load_source(source))
    return from_source(parse(s, path or "<text>"))


def _exists(s: str) -> bool:
    """Whether `s` names a file or folder; text too long to be a file name names none."""
    try:
        return Path(s).exists()
    except (OSError, ValueError):  # ENAMETOOLONG; a NUL in the text
        return False
