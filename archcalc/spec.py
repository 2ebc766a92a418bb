"""Located tree -> Spec: the structure of a spec checked before any arithmetic.

Here we check what does not depend on variable values: known top-level keys, layer
kinds, field and argument names (with did-you-mean), required fields, block
definitions, stage tables, variants, and the block libraries a spec includes. All such
problems are collected and reported together. Values (`filters: 64 * alpha`) are
evaluated later, when the graph is built, because `--set` and variants may change them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ._gc import paused
from .errors import MAX_SHOWN, Diagnostic, Location, SpecError, describe, did_you_mean, short
from .kinds import REGISTRY
from .kinds.base import unknown_kind
from .record import Frozen
from .source import LList, LMap, Source, load_source, parse, read_text

TOP_KEYS = ("name", "description", "source", "include", "input", "layout", "batch", "vars", "variants", "blocks",
            "layers", "outputs", "torch_ops", "expect", "budget")
#: keys of a layer item that are not the kind's fields
ITEM_KEYS = ("kind", "name", "from", "repeat", "table", "when", "training_only")
BLOCK_KEYS = ("args", "layers", "output", "doc")
#: the keys of a block library, a file that `include:` names
LIBRARY_KEYS = ("description", "source", "include", "blocks")
#: the keys of one entry of `variants:`
VARIANT_KEYS = ("name", "description", "vars", "input", "expect", "budget")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
#: How many files one spec may include, directly or through its libraries, and how deeply
#: includes may nest. Each file is bounded as a spec is (archcalc.source: size, nesting, values).
MAX_INCLUDES = 64
MAX_INCLUDE_DEPTH = 16
#: names a table column cannot take: item keys, and the copy number every table sets
_RESERVED_COLUMNS = frozenset((*ITEM_KEYS, "index", "input", "in"))


class Table(Frozen):
    """A stage table: column names, then one row of values per copy of the item.

    Each row makes one copy (as `repeat:` does, named `<name>1`, `<name>2`, ...); in that copy
    every column is a variable of the item's expressions, and a column named as an argument
    of the block (or a field of the kind) that the item does not write fills it. `items` holds
    the item of each row: the fields its columns fill located at the row's cells.
    """

    __slots__ = ("columns", "rows", "loc", "items")

    def __init__(self, columns: tuple[str, ...], rows: tuple[LList, ...], loc: Location,
                 items: tuple[LMap, ...]) -> None:
        self.columns, self.rows, self.loc, self.items = columns, rows, loc, items


class LayerSpec(Frozen):
    """One item of a `layers:` list: a kind (or block) with raw, unevaluated values."""

    __slots__ = ("kind", "item", "name", "inputs", "repeat", "when", "is_block", "table", "train")

    def __init__(self, kind: str, item: LMap, name: str | None, inputs: tuple[str, ...] | None,
                 repeat: Any, when: Any, is_block: bool, table: Table | None = None, train: Any = None) -> None:
        self.kind = kind
        self.item = item          # the whole item, for value locations (with the fields a table fills)
        self.name = name
        self.inputs = inputs      # `from:`, None = the previous layer
        self.repeat, self.when, self.is_block = repeat, when, is_block
        self.table = table        # a stage table: one copy per row
        self.train = train        # `training_only:` as written (None: not marked)

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


class Variant(Frozen):
    """One entry of `variants:`: named settings of the spec's variables (and input), with
    its own `expect:` and `budget:` blocks (`root` is the entry's located mapping)."""

    __slots__ = ("name", "title", "root", "loc")

    def __init__(self, name: str, title: str, root: LMap, loc: Location) -> None:
        self.name, self.title, self.root, self.loc = name, title, root, loc

    @property
    def vars(self) -> LMap:
        v = self.root.get("vars")
        return v if isinstance(v, LMap) else LMap(self.root.loc)


class Spec(Frozen):
    """A parsed spec: structure validated, values still expressions."""

    __slots__ = ("source", "root", "name", "layers", "blocks", "variants", "included_from", "__weakref__")

    def __init__(self, source: Source, root: LMap, name: str, layers: tuple[LayerSpec, ...],
                 blocks: dict[str, BlockSpec] | None = None, variants: dict[str, Variant] | None = None,
                 included_from: dict[str, str] | None = None) -> None:
        self.source, self.root, self.name, self.layers = source, root, name, layers
        self.blocks = {} if blocks is None else blocks
        self.variants = {} if variants is None else variants
        #: display path of every included file -> where it was included from ("spec.yaml:3:12")
        self.included_from = {} if included_from is None else included_from

    def _values(self) -> tuple[Any, ...]:
        return (self.source, self.root, self.name, self.layers, self.blocks, self.variants)

    @property
    def is_library(self) -> bool:
        """A block library (what `include:` names): blocks only, no input or layers."""
        return "layers" not in self.root and "input" not in self.root

    def variant(self, name: str | None) -> Variant | None:
        """The variant of that name (None for None), or a SpecError naming the variants there are."""
        if name is None:
            return None
        v = self.variants.get(name)
        if v is None:
            at = f"{short(self.path, 60)}@{short(name, 40)}"  # as typed on the command line, cut to fit
            if not self.variants:
                raise SpecError(f"{at}: the spec has no variants, so '@{short(name, 40)}' selects nothing",
                                hint="write NAME=VALUE after '@' to set a variable, e.g. @resolution=160")
            raise SpecError(f"{at}: the spec has no variant '{short(name, 40)}'",
                            hint=did_you_mean(name, self.variants, "its variants"))
        return v

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
        #: an included library could not be read: its blocks are unknown, so a `kind:` that is
        #: neither a kind nor a known block is not reported (it may be one of them)
        self.blocks_missing = False
        self.blocks = blocks or {}
        self._fields: dict[str, tuple[frozenset[Any], list[Any], list[Any]]] = {}
        self._blocks_sorted: tuple[str, ...] | None = None
        #: display path of every included file -> where it was included from
        self.included_from: dict[str, str] = {}

    @property
    def hinting(self) -> bool:
        """Whether the next problem gets a hint worked out (the first HINTED do)."""
        return len(self.diags) < HINTED

    def add(self, message: str, loc: Location | None, hint: str | Callable[[], str] | None = None,
            notes: tuple[str, ...] = ()) -> None:
        """Record a problem; a `hint` given as a function is worked out only for the first HINTED."""
        if callable(hint):
            hint = hint() if self.hinting else None
        self.diags.append(Diagnostic(message, loc, hint, notes))
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

    def block_names(self) -> tuple[str, ...]:
        """The blocks' names, sorted once (not once per unknown kind)."""
        if self._blocks_sorted is None:
            self._blocks_sorted = tuple(sorted(str(b) for b in self.blocks))
        return self._blocks_sorted


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
        if cls is None or cls.internal:  # kinds.unknown_kind says what the name means, blocks included
            if not c.blocks_missing:
                if c.hinting:  # its typo search compares with every block: only for the errors printed
                    e = unknown_kind(kind, c.block_names())
                    c.add(e.message, raw.at("kind"), e.hint)
                else:
                    c.add(f"unknown layer kind '{kind}'", raw.at("kind"))
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
    table = None
    item = raw
    if "table" in raw:
        parsed = _parse_table(raw, kind, is_block, allowed, c)
        if parsed is None:
            ok = False
        else:
            table, item = parsed
    for f in required:
        if f not in item:
            c.add(f"'{kind}' needs `{f}`", raw.loc, f"add `{f}: ...` to this layer"
                  + (" or a column to its table" if table is not None else ""))
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
    return LayerSpec(kind, item, name, inputs, raw.get("repeat"), raw.get("when"), is_block, table,
                     raw.get("training_only"))


_TABLE_HINT = "write `table:` as rows of a list: first the column names, then one row per copy, "\
              "e.g. table: [[t, c, n, s], [1, 16, 1, 1], [6, 24, 2, 2]]"


def _parse_table(raw: LMap, kind: str, is_block: bool, allowed: list[str],
                 c: _Collector) -> tuple[Table, LMap] | None:
    """A layer's `table:`, checked; and the item with the fields its columns fill.

    A column named as an argument of the block (or a field of the kind) that the item does
    not write fills it, as if the item said `c: c`; any other column must be read by one of
    the item's expressions (otherwise it is a misspelt argument, and would silently do nothing).
    """
    t = raw["table"]
    where = raw.at("table")
    if "repeat" in raw:
        c.add("a layer takes `table:` or `repeat:`, not both", raw.key_at("repeat"),
              "a table makes one copy per row; to repeat each row's item, repeat inside a block")
        return None
    if not isinstance(t, LList) or len(t) < 2 or not all(isinstance(r, LList) for r in t):
        c.add(f"`table` is a list of rows (lists): column names, then at least one row; received {describe(t)}",
              where, _TABLE_HINT)
        return None
    header = t[0]
    cols: list[str] = []
    ok = True
    for j, col in enumerate(header):
        if not isinstance(col, str) or not col.isidentifier() or col.startswith("__"):
            c.add(f"a table column is named by a word, received {describe(col)}", header.at(j), _TABLE_HINT)
            ok = False
        elif col in _RESERVED_COLUMNS:
            c.add(f"'{col}' cannot name a table column: it is a layer key or set by archcalc", header.at(j),
                  "rename the column (and what reads it)")
            ok = False
        elif col in cols:
            c.add(f"two table columns are named '{col}'", header.at(j))
            ok = False
        cols.append(str(col))
    for i, row in enumerate(t[1:], start=1):
        if len(row) != len(header):
            c.add(f"table row {i} has {len(row)} values, but the table names {len(header)} columns "
                  f"({', '.join(map(str, header))})", t.at(i), "give every row one value per column")
            ok = False
        for j, cell in enumerate(row):
            if isinstance(cell, dict) or cell is None:
                c.add(f"a table cell is a number, a word, true/false or an expression, received {describe(cell)}",
                      row.at(j))
                ok = False
    if not ok:
        return None
    reads = _names_read(raw)
    filled = []
    for j, col in enumerate(cols):
        if col in allowed and col not in raw:
            filled.append(j)
        elif col not in reads and col not in allowed:
            what = f"an argument of block '{kind}'" if is_block else f"a field of '{kind}'"
            c.add(f"table column '{col}' is not {what}, and no value of this layer reads it", header.at(j),
                  lambda col=col: did_you_mean(col, allowed, "it takes") or "remove the column, or use it in a value")
            ok = False
    if not ok:
        return None

    def with_columns(locs: LList) -> LMap:
        item = LMap(raw.loc)
        item.update(raw)
        item.key_locs.update(raw.key_locs)
        item.val_locs.update(raw.val_locs)
        for j in filled:
            item[cols[j]] = cols[j]  # the column's value, read as a variable in each copy
            item.key_locs[cols[j]] = header.at(j)
            item.val_locs[cols[j]] = locs.at(j)
        return item
    rows = tuple(t[1:])
    return Table(tuple(cols), rows, where, tuple(with_columns(r) for r in rows)), with_columns(header)


def expression_names(values: Iterable[Any]) -> tuple[set[str], bool]:
    """The names the expressions among `values` (text, in nested lists) read, and whether all of
    them compiled (one that does not reads nothing here: evaluating it reports it)."""
    from .calc import CalcError, compile_expr
    out: set[str] = set()
    ok = True
    todo = list(values)
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            try:
                out |= compile_expr(v.strip()).names
            except CalcError:
                ok = False
        elif isinstance(v, list):
            todo += v
    return out, ok


def _names_read(item: LMap) -> set[str]:
    """The variables a layer item's values read."""
    return expression_names(v for k, v in item.items() if k not in ("kind", "name", "from", "table"))[0]


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
    """Check a located tree's structure; raise one SpecError listing every problem found (the
    first MAX_DIAGNOSTICS of them).

    A file with `blocks:` and neither `input:` nor `layers:` is a block library (what
    `include:` names): its blocks are checked and it comes back as a Spec without layers
    (`Spec.is_library`).
    """
    c = _Collector()
    try:
        spec = _check(src, c)
    except _Full:
        spec = None
    if c.diags or spec is None:
        inc = c.included_from
        err = SpecError("", diagnostics=[
            Diagnostic(d.message, d.loc, d.hint, (*d.notes, f"included from {inc[d.loc.path]}"))
            if d.loc is not None and d.loc.path in inc and not d.notes else d for d in c.diags])
        err.stopped = spec is None
        raise err
    return spec


def _check(src: Source, c: _Collector) -> Spec | None:
    root = src.root
    if not isinstance(root, LMap):
        loc = getattr(root, "loc", Location(src.path, 1, 1))
        raise SpecError(f"a spec is a mapping with `input:` and `layers:`, but this file holds {describe(root)}",
                        loc, "start from a shipped spec, e.g. specs/lenet5.yaml")
    library = "blocks" in root and "layers" not in root and "input" not in root
    keys = LIBRARY_KEYS if library else TOP_KEYS
    for k in root:
        if k not in keys:
            if library:
                _library_key(root, k, c)
            else:
                c.add(f"unknown top-level key '{k}'", root.key_at(k),
                      lambda k=k: did_you_mean(k, keys, "top-level keys"))
    if not library:
        for k in ("input", "layers"):
            if k not in root:
                c.add(f"the spec has no `{k}:`", root.loc,
                      "add `input: 32x32x1` (H x W x C)" if k == "input" else "add `layers:` with a list of layers")
    included_from = c.included_from
    pairs: list[tuple[Any, Any, Location]] = []   # (block name, definition, where its name stands)
    before = len(c.diags)
    _include(root, src.path, (_identity(src.path),), {}, pairs, included_from, c)
    c.blocks_missing = len(c.diags) > before  # a library that failed may define the kinds used
    raw_blocks = root.get("blocks") or LMap(root.loc)
    if not isinstance(raw_blocks, LMap):
        c.add("`blocks` is a mapping of block name -> {args, layers}", root.at("blocks"))
        raw_blocks = LMap(root.loc)
    pairs += [(bname, b, raw_blocks.key_at(bname)) for bname, b in raw_blocks.items()]
    variables = root.get("vars")
    if not isinstance(root.get("vars", LMap(root.loc)), LMap):
        c.add("`vars` is a mapping of name -> value", root.at("vars"))
    for vname in variables or {} if isinstance(variables, LMap) else ():
        if not isinstance(vname, str) or not vname.isidentifier() or vname.startswith("__"):
            c.add(f"a variable name is a word (letters, digits, _; not starting with __), received {describe(vname)}",
                  root["vars"].key_at(vname))
    good: dict[str, LMap] = {}
    where: dict[str, Location] = {}
    for bname, b, bloc in pairs:
        if not isinstance(bname, str) or not NAME_RE.match(bname):
            c.add(f"a block name is a word, received {describe(bname)}", bloc)
        elif bname in REGISTRY:
            c.add(f"block '{bname}' has the name of a built-in layer kind", bloc, "rename the block")
        elif bname in where:
            c.add(f"block '{bname}' is defined twice: first at {where[bname]}", bloc,
                  "rename one of them (blocks of the spec and of its libraries share one namespace)")
        elif not isinstance(b, LMap):
            c.add(f"block '{bname}' must be a mapping with `layers:` (and `args:`)", bloc)
        else:
            where[bname] = bloc
            _known_keys(b, BLOCK_KEYS, f"block '{bname}'", "a block has", c)
            args = b.get("args")
            if args is not None and not isinstance(args, LMap):
                c.add("`args` is a mapping of argument -> default (null = required)", b.at("args"))
            elif args is not None:
                for a in args:
                    if not isinstance(a, str) or not a.isidentifier() or a in ITEM_KEYS or a.startswith("__"):
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
                                  layers, out, where[bname], doc)
    layers = _parse_layers(root.get("layers"), root.at("layers"), good, c, "the spec") if "layers" in root else ()
    name = root.get("name")
    if name is not None and not isinstance(name, str):
        c.add(f"`name` is text, received {describe(name)}", root.at("name"))
    name = name if isinstance(name, str) and name else Path(src.path).stem
    variants = _parse_variants(root, name, c)
    return Spec(src, root, name, layers, blocks, variants, included_from)


def _known_keys(m: LMap, keys: tuple[str, ...], what: str, has: str, c: _Collector) -> None:
    """An error for every key of `m` that is not one of `keys` (with a did-you-mean)."""
    for k in m:
        if k not in keys:
            c.add(f"unknown key '{k}' in {what}", m.key_at(k), lambda k=k: did_you_mean(k, keys, has))


def _library_key(lib: LMap, k: Any, c: _Collector) -> None:
    """The error for a key a block library may not hold."""
    if k in TOP_KEYS:
        c.add(f"a block library holds {', '.join(LIBRARY_KEYS)}; '{k}' belongs in a spec", lib.key_at(k),
              "move it to the spec that includes this library")
    else:
        c.add(f"a block library holds {', '.join(LIBRARY_KEYS)}; '{k}' is not one of them", lib.key_at(k),
              lambda: did_you_mean(k, LIBRARY_KEYS, "library keys"))

def _identity(path: str) -> str:
    """The resolved file a display path names (text and standard input: a name of its own)."""
    return path if path.startswith("<") else str(Path(path).resolve())


def _folder(path: str) -> str:
    """The folder a spec's includes are relative to: its own (text and stdin: the current one)."""
    return "." if path.startswith("<") else os.path.dirname(path) or "."


def _include(root: LMap, path: str, stack: tuple[str, ...], seen: dict[str, str],
             pairs: list[tuple[Any, Any, Location]], included_from: dict[str, str], c: _Collector) -> None:
    """Read the libraries `root` includes (and theirs, depth first), adding their blocks to `pairs`.

    Each include is a path relative to the including file's folder, and must stay inside it;
    a file reached twice (two libraries including a third) is read once; a cycle, an escape, a
    missing file or too many files is an error at the `include:` entry.
    """
    raw = root.get("include")
    if raw is None:
        return
    entries = raw if isinstance(raw, LList) else [raw]
    for i, entry in enumerate(entries):
        loc = raw.at(i) if isinstance(raw, LList) else root.at("include")
        if not isinstance(entry, str) or not entry.strip():
            c.add(f"`include` is a path or a list of paths of block libraries, received {describe(entry)}", loc,
                  "e.g. include: lib/resnet_blocks.yaml (relative to this file's folder)")
            continue
        folder = _folder(path)
        if os.path.isabs(entry):
            c.add(f"include: {entry} is an absolute path", loc,
                  "name the library relative to this file's folder, so the specs can move together")
            continue
        shown = os.path.normpath(os.path.join(folder, entry))
        target = Path(shown).resolve()
        inside = Path(folder).resolve()
        if not target.is_relative_to(inside):
            c.add(f"include: {entry} is outside this file's folder ({folder})", loc,
                  "keep block libraries in the including file's folder or below it")
            continue
        ident = str(target)
        if ident in stack:
            chain = " -> ".join([*(os.path.basename(s) for s in stack[stack.index(ident):]), os.path.basename(ident)])
            c.add(f"include: {entry} includes itself ({chain})", loc, "a library may not include what includes it")
            continue
        if ident in seen:
            continue
        if len(seen) >= MAX_INCLUDES or len(stack) > MAX_INCLUDE_DEPTH:
            c.add(f"include: more than {MAX_INCLUDES} files, or includes nested more than {MAX_INCLUDE_DEPTH} deep",
                  loc, "include fewer, larger libraries")
            continue
        seen[ident] = shown
        note = str(loc) if path not in included_from else f"{loc}, {included_from[path]}"
        try:
            name, text = read_text(shown)
        except SpecError as e:  # the file itself: missing, a folder, unreadable, too large (named)
            c.add(f"include: {e.message}", loc, e.hint)
            continue
        try:
            lib = parse(text, name).root
        except SpecError as e:
            for d in e.diagnostics:  # counted toward MAX_DIAGNOSTICS like the spec's own
                c.add(d.message, d.loc, d.hint, (*d.notes, f"included from {note}"))
            continue
        included_from[shown] = note
        if not isinstance(lib, LMap) or "layers" in lib or "input" in lib or "blocks" not in lib:
            what = "a spec" if isinstance(lib, LMap) and ("layers" in lib or "input" in lib) else describe(lib)
            c.add(f"include: {entry} is {what}, not a block library", loc,
                  "an included file holds `blocks:` (and may `include:` others), and no input or layers")
            continue
        for k in lib:
            if k not in LIBRARY_KEYS:
                _library_key(lib, k, c)
        _include(lib, shown, (*stack, ident), seen, pairs, included_from, c)
        blocks = lib.get("blocks")
        if not isinstance(blocks, LMap):
            c.add("`blocks` is a mapping of block name -> {args, layers}", lib.at("blocks"))
            continue
        pairs += [(bname, b, blocks.key_at(bname)) for bname, b in blocks.items()]


def _parse_variants(root: LMap, name: str, c: _Collector) -> dict[str, Variant]:
    """`variants:`: name -> {name, description, vars, input, expect, budget}; every variable a
    variant sets must be one the spec declares."""
    raw = root.get("variants")
    if raw is None:
        return {}
    if not isinstance(raw, LMap) or not raw:
        c.add(f"`variants` is a mapping of variant name -> {{vars: ..., expect: ...}}, received {describe(raw)}",
              root.at("variants"), "e.g. variants: {b3: {vars: {width: 1.2, depth: 1.4, resolution: 300}}}")
        return {}
    declared = root.get("vars") if isinstance(root.get("vars"), LMap) else {}
    out: dict[str, Variant] = {}
    for vname, v in raw.items():
        vloc = raw.key_at(vname)
        if not isinstance(vname, str) or not NAME_RE.match(vname):
            c.add(f"a variant name is a word of letters, digits, _ . - , received {describe(vname)}", vloc,
                  "it is written after '@' on the command line: spec.yaml@NAME")
            continue
        if not isinstance(v, LMap):
            c.add(f"variant '{vname}' is a mapping with `vars:` (and `input:`, `expect:`), received {describe(v)}",
                  raw.at(vname))
            continue
        _known_keys(v, VARIANT_KEYS, f"variant '{vname}'", "a variant has", c)
        sets = v.get("vars")
        if sets is not None and not isinstance(sets, LMap):
            c.add(f"variant '{vname}': `vars` is a mapping of variable -> value", v.at("vars"))
        for k in sets if isinstance(sets, LMap) else ():
            if k not in declared:
                c.add(f"variant '{vname}' sets '{k}', which the spec does not declare under `vars:`", sets.key_at(k),
                      lambda k=k: did_you_mean(k, declared, "its variables") or "declare it under `vars:`")
        title = v.get("name")
        if title is not None and not isinstance(title, str):
            c.add(f"variant '{vname}': `name` is text, received {describe(title)}", v.at("name"))
            title = None
        out[vname] = Variant(vname, title or f"{name}@{vname}", v, vloc)
    return out


def _short(text: str) -> str:
    return short(text, 160)


def split_selector(arg: str) -> tuple[str, str | None, list[str]]:
    """`SPEC@variant`, `SPEC@name=value,...` or both (`SPEC@b3,resolution=320`) -> (path, variant,
    ["name=value", ...]).

    An argument naming an existing file is a path even if it holds '@'. After the last '@',
    items are separated by commas outside parentheses (`w=make_divisible(32 * 0.5, 8)` is one
    item); an item with '=' sets a variable, an item without names a variant (at most one).
    """
    if "@" not in arg or _exists(arg):
        return arg, None, []
    path, _, rest = arg.rpartition("@")
    if not path:
        raise SpecError(f"{_short(arg)}: no spec file before '@'",
                        hint="write SPEC@VARIANT or SPEC@NAME=VALUE, e.g. specs/mobilenet_v1.yaml@alpha=0.5")
    parts, depth, cur = [], 0, ""
    for ch in rest:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    parts.append(cur)
    items = [p.strip() for p in parts if p.strip()]
    if not items:  # `x.yaml@`, `x.yaml@@`: a typo (a file of that very name was read as a path above)
        raise SpecError(f"{_short(arg)}: nothing after the last '@'",
                        hint="write SPEC@VARIANT or SPEC@NAME=VALUE, or SPEC alone")
    if "@" in path and not _exists(path):  # said of the argument: `x.yaml@@0` is not about a file `x.yaml@`
        from . import zoo
        if zoo.find(path) is None:
            raise SpecError(f"{_short(arg)}: no such file: {_short(path)} (the part before the last '@')",
                            hint=zoo.suggest(path) or "check the path")
    names = [p for p in items if "=" not in p]
    if len(names) > 1:
        raise SpecError(f"{_short(arg)}: names two variants ({_short(', '.join(names))}); "
                        "a spec is taken in one variant",
                        hint="write SPEC@VARIANT, optionally followed by ,NAME=VALUE settings")
    return path, (names[0] if names else None), [p for p in items if "=" in p]


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
