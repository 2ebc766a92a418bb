"""Spec -> Graph: evaluate variables, expand blocks and repeats, resolve inputs.

A node may take input only from layers above it (or its scope's `input`), so a graph
is always in topological order and a cycle cannot be written. Expansion is bounded
(nodes, block nesting) so that a hostile spec fails fast with a clear error.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

from ._gc import paused
from .calc import CONSTANTS, CalcError, to_number
from .errors import Diagnostic, Location, SpecError, close_matches
from .kinds import REGISTRY, FieldError, Kind
from .kinds.base import Field
from .kinds.reshape import Input
from .record import Frozen, Record
from .shape import Shape, parse_shape_text
from .source import LList, LMap
from .spec import LayerSpec, Spec

_INT0 = Field("int", min=0, name="repeat")
_POS = Field("int", min=1, name="dimension")


class Limits(Frozen):
    """Bounds on what a spec may expand to; raise them for legitimately huge graphs.

    `max_nodes` bounds the layers of the expanded graph, the input not counted (the largest
    published CNNs have a few thousand; expanding and walking cost about 5 us and 0.6 kB a
    layer, benchmarks/bench_analytic.py). Expansion work
    (layers, block instances and skipped layers) is bounded by `STEPS_PER_NODE` times it,
    and the characters of all layer paths by `PATH_CHARS_PER_NODE` times it, so no spec can
    take minutes or gigabytes before it is refused.
    """

    __slots__ = ("max_nodes", "max_depth")

    def __init__(self, max_nodes: int = 100_000, max_depth: int = 64) -> None:
        self.max_nodes, self.max_depth = max_nodes, max_depth


STEPS_PER_NODE = 4
PATH_CHARS_PER_NODE = 200


class Node(Record):
    """One layer of the expanded graph."""

    __slots__ = ("path", "kind", "inputs", "loc", "item")

    def __init__(self, path: str, kind: Kind, inputs: tuple[int, ...], loc: Location,
                 item: LMap | None = None) -> None:
        self.path = path          # hierarchical name, e.g. "stage3/block2/conv1"
        self.kind = kind
        self.inputs = inputs      # indices of earlier nodes
        self.loc = loc
        self.item = item          # the spec item, for the location of a field


class Instance(Frozen):
    """A block instance: where its nodes are, for folding rows with --depth."""

    __slots__ = ("path", "block", "loc", "output")

    def __init__(self, path: str, block: str, loc: Location, output: int) -> None:
        self.path, self.block, self.loc, self.output = path, block, loc, output


class Graph(Record):
    """The expanded layers in topological order, the outputs, the block instances."""

    __slots__ = ("spec", "nodes", "outputs", "instances", "batch", "env")

    def __init__(self, spec: Spec, nodes: list[Node], outputs: list[int], instances: dict[str, Instance],
                 batch: int, env: dict[str, Any] | None = None) -> None:
        self.spec, self.nodes, self.outputs, self.instances, self.batch = spec, nodes, outputs, instances, batch
        self.env = {} if env is None else env

    @property
    def input_shape(self) -> Shape:
        return self.nodes[0].kind.shape  # type: ignore[attr-defined]

    def reshaped(self, input_shape: Shape | None = None, batch: int | None = None) -> Graph:
        """This expansion with another input shape and batch (None: the spec's own), for sweeps.

        Expansion never reads a shape (blocks, `repeat` and `when` see variables only), so
        the layers stay as they are and only the input node changes; the walk then checks
        every layer against the new input, as for a fresh build.
        """
        shape = _input_shape(self.spec, self.env, input_shape)
        first = self.nodes[0]
        nodes = [Node(first.path, Input(shape), (), first.loc, first.item), *self.nodes[1:]]
        return Graph(self.spec, nodes, self.outputs, self.instances, _batch(self.spec, self.env, batch), self.env)


def _err(msg: str, loc: Location, hint: str | None = None) -> SpecError:
    return SpecError(msg, loc, hint)


def _literal(raw: Any, env: dict[str, Any]) -> Any:
    """A block argument or variable: a number, an expression, a list, or a bare word kept as text."""
    if isinstance(raw, list):
        return [_literal(x, env) for x in raw]
    if isinstance(raw, str):
        s = raw.strip()
        if s.isidentifier() and s not in env and s not in CONSTANTS:
            return s
        from .calc import compile_expr
        return compile_expr(s)(env)
    return to_number(raw)


def parse_override(text: str, option: str = "--set ") -> tuple[str, Any]:
    """`name=value` from the command line: the value is a number, an expression or a word.
    Errors quote the setting as typed, after `option` (`--set blocks1=1e999: ...`)."""
    if "=" not in text:
        raise SpecError(f"{option.strip()} takes name=value, received {text!r}", hint="e.g. --set alpha=0.5")
    name, _, value = text.partition("=")
    name = name.strip()
    if not name.isidentifier():
        raise SpecError(f"{option}{_typed(text)}: {name!r} is not a variable name")
    value = value.strip()
    try:
        return name, _literal(value, {})
    except CalcError as e:
        raise SpecError(f"{option}{_typed(text)}: {e.message}", hint=e.hint) from None


def _typed(text: str, width: int = 60) -> str:
    """A command-line setting as typed, cut to fit a message."""
    return text if len(text) <= width else text[: width - 3] + "..."


def check_override_names(spec: Spec, names: Any, option: str = "--set ") -> None:
    """Refuse a `--set` of a variable the spec does not have, before any value is evaluated
    (`--set é=1/0` is about `é` first, not about the division)."""
    raw = spec.vars
    unknown = [k for k in names if k not in raw]
    if unknown:
        close = close_matches(str(unknown[0]), list(raw))
        raise SpecError(f"{option}{unknown[0]}: the spec has no variable '{unknown[0]}'",
                        hint=f"did you mean '{close[0]}'?" if close else
                        (f"its variables: {', '.join(list(raw)[:12])}" if raw else "it defines no `vars:`"))


def overrides_for(spec: Spec, given: dict[str, Any] | None, option: str = "--set ") -> dict[str, Any]:
    """`--set` values for `spec`: the names checked first, then text values parsed as on the
    command line (`"0.5"` -> 1/2); other values are taken as they are. `option` is how errors
    say where a setting was written (`--set `, or `spec.yaml@` for compare)."""
    check_override_names(spec, given or {}, option)
    return {k: parse_override(f"{k}={v}", option)[1] if isinstance(v, str) else v
            for k, v in (given or {}).items()}


class _Builder:
    def __init__(self, spec: Spec, limits: Limits) -> None:
        self.spec, self.limits = spec, limits
        self.nodes: list[Node] = []
        self.instances: dict[str, Instance] = {}
        self.paths: dict[str, int] = {}
        self.steps = 0
        self.path_chars = 0
        self.max_nodes = limits.max_nodes
        self.max_steps = STEPS_PER_NODE * limits.max_nodes
        self.max_chars = PATH_CHARS_PER_NODE * limits.max_nodes
        # equal layers share one Kind object, converted once (walk counts each once too)
        self.kinds: dict[tuple[Any, ...], Kind] = {}
        self.raws: dict[int, tuple[Any, ...] | None] = {}
        self.declared: dict[int, set[str | None]] = {}
        self.reads: dict[tuple[Any, ...], tuple[str, ...] | None] = {}

    def add(self, node: Node) -> int:
        nodes = self.nodes
        index = len(nodes)
        if index > self.max_nodes:  # nodes[0] is the input, not a layer
            raise _err(f"the graph expands past {self.limits.max_nodes:,} layers", node.loc,
                       "check `repeat:` counts and blocks that use blocks several times; "
                       "raise the limit with --max-nodes if this is intended")
        self.path_chars += len(node.path)
        if self.path_chars > self.max_chars:
            raise _err(f"the layer names of this graph add up to more than {self.max_chars:,} characters",
                       node.loc, "use shorter layer and block-instance names, or raise --max-nodes")
        nodes.append(node)
        self.paths[node.path] = index
        return index

    # -- values -----------------------------------------------------------------------------
    def value(self, fld: Field, item: LMap, key: str, env: dict[str, Any], path: str, kind: str) -> Any:
        try:
            return fld.convert(item[key], env)
        except (FieldError, CalcError) as e:
            raise _err(f"layer '{path}' ({kind}): {key}: {e.message}", item.at(key), e.hint) from None

    # -- expansion --------------------------------------------------------------------------
    def too_many_steps(self, loc: Location) -> SpecError:
        """The error once `steps` (layers, block instances, skipped layers, `from:` references and
        block arguments expanded so far, counted inline by `expand`, the hot loop) passes
        `max_steps`. References and arguments count because each instance of a block repeats
        them: a 2,000-name `from:` list in a block used 2,000 times is 4,000,000 edges."""
        return _err(f"expanding this spec takes more than {self.max_steps:,} "
                    "steps (layers, block instances, skipped layers, `from:` references and block arguments)", loc,
                    "check `repeat:` counts; raise the limit with --max-nodes if this is intended")

    def expand(self, layers: tuple[LayerSpec, ...], prefix: str, env: dict[str, Any],
               input_idx: int, stack: tuple[str, ...], mult: int = 1) -> tuple[dict[str, int], int]:
        """Expand `layers` in a scope; `mult` is how many times the enclosing repeats will
        expand this scope (the product of their counts), to refuse a nested blow-up at once."""
        names: dict[str, int] = {"input": input_idx}
        declared = self.declared.get(id(layers))
        if declared is None:  # once per block definition, not once per instance
            declared = self.declared[id(layers)] = {ls.name for ls in layers if ls.name}
        counters: dict[str, int] = {}
        prev = input_idx
        for ls in layers:
            item = ls.item
            self.steps += 1 if ls.inputs is None else 1 + len(ls.inputs)
            if self.steps > self.max_steps:
                raise self.too_many_steps(item.loc)
            ins = (prev,) if ls.inputs is None else self.inputs(ls, names, declared, prefix)
            if ls.when is not None:
                try:
                    cond = _when(ls.when, env)
                except (FieldError, CalcError) as e:
                    raise _err(f"when: {e.message}", item.at("when"), e.hint) from None
                if not cond:  # a skipped layer passes its (first) input through
                    if ls.name:
                        names[ls.name] = ins[0]
                    prev = ins[0]
                    continue
            count = None
            if ls.repeat is not None:
                count = self.value(_INT0, item, "repeat", env, prefix + (ls.name or ls.kind), ls.kind)
                if count * mult > self.limits.max_nodes:
                    inside = f" inside {mult:,} copies of the enclosing blocks" if mult > 1 else ""
                    raise _err(f"repeat: {count:,} copies{inside} would expand past the limit of "
                               f"{self.limits.max_nodes:,} layers", item.at("repeat"),
                               "raise the limit with --max-nodes if this is intended")
                if count == 0:
                    if ls.name:
                        names[ls.name] = ins[0]
                    prev = ins[0]
                    continue
            for index in range(1, (count or 1) + 1):
                if ls.name:
                    name = f"{ls.name}{index}" if count is not None else ls.name
                else:
                    name = self.autoname(ls.kind, counters, declared, names)
                if name in names and name != "input":
                    raise _err(f"two layers are named '{prefix}{name}'", item.at("name") if ls.name else item.loc,
                               "give each layer its own name")
                # a layer over the scope's variables, not a copy of them all per copy (quadratic)
                ienv = env if count is None else ChainMap({"index": index}, env)
                if index > 1:
                    self.steps += 1
                    if self.steps > self.max_steps:
                        raise self.too_many_steps(item.loc)
                idx = self.instantiate(ls, prefix + name, ienv, ins if index == 1 else (prev,), stack,
                                       mult * (count or 1))
                names[name] = idx
                prev = idx
            if ls.name and count is not None:
                names.setdefault(ls.name, prev)
        return names, prev

    def autoname(self, kind: str, counters: dict[str, int], declared: set[str | None],
                 names: dict[str, int]) -> str:
        k = counters.get(kind, 0)
        while True:
            k += 1
            cand = f"{kind}{k}"
            if cand not in declared and cand not in names:
                counters[kind] = k
                return cand

    def inputs(self, ls: LayerSpec, names: dict[str, int], declared: set[str | None],
               prefix: str) -> tuple[int, ...]:
        """The node indices of a `from:` list."""
        out = []
        for i, ref in enumerate(ls.inputs or ()):
            if ref in names:
                out.append(names[ref])
                continue
            if "/" in ref and prefix + ref in self.paths:
                out.append(self.paths[prefix + ref])
                continue
            loc = ls.item.val_locs.get("from", ls.loc)
            if isinstance(ls.item.get("from"), LList):
                loc = ls.item["from"].at(i)
            if ref in declared or ref == ls.name:
                raise _err(f"'{ref}' is not defined above this layer", loc,
                           "a layer takes input only from layers above it (so no cycle can form): "
                           "move this layer below it")
            else:
                known = [n for n in names if n != "input"] + ["input"]
                close = close_matches(ref, known)
                raise _err(f"no layer named '{ref}' in {'block ' + repr(prefix.rstrip('/')) if prefix else 'the spec'}",
                           loc, f"did you mean '{close[0]}'?" if close else
                           f"known here: {', '.join(known[-8:])}")
        return tuple(out)

    def instantiate(self, ls: LayerSpec, path: str, env: dict[str, Any], ins: tuple[int, ...],
                    stack: tuple[str, ...], mult: int = 1) -> int:
        item = ls.item
        if ls.is_block:
            return self.block(ls, path, env, ins, stack, mult)
        cls = REGISTRY[ls.kind]
        lo, hi = cls.arity
        if len(ins) < lo or (hi is not None and len(ins) > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            raise _err(f"layer '{path}' ({ls.kind}) takes {want} input{'s' if want != '1' else ''}, "
                       f"received {len(ins)}", item.at("from") if "from" in item else item.loc,
                       "list its inputs: `from: [a, b]`" if lo > 1 else "give `from:` one name")
        key = self.kind_key(cls, item, env)
        kind = None
        if key is not None:
            try:
                kind = self.kinds.get(key)
            except TypeError:  # a variable holding a list: not hashable, not cached
                key = None
        if kind is None:
            values = dict(_defaults(cls))
            for name, fld in cls.fields.items():
                if name in item:
                    values[name] = self.value(fld, item, name, env, path, ls.kind)
            kind = cls(**values)
            if key is not None:
                self.kinds[key] = kind
        return self.add(Node(path, kind, ins, item.loc, item))

    def kind_key(self, cls: type[Kind], item: LMap, env: dict[str, Any]) -> tuple[Any, ...] | None:
        """What an item's field values depend on: its kind, its raw values and the variables
        its expressions read, each with its type (1, 1.0 and True convert differently).
        None: not cacheable (a value holding a mapping, an expression that does not compile,
        a variable holding a list)."""
        raw = self.raws.get(id(item), _UNKNOWN)
        if raw is _UNKNOWN:
            raw = self.raws[id(item)] = _raw_key(item)
        if raw is None:
            return None
        reads = self.reads.get(raw, _UNKNOWN)
        if reads is _UNKNOWN:
            reads = self.reads[raw] = _reads(item)
        if reads is None:
            return None
        if not reads:
            return (cls, raw)
        return (cls, raw, *((type(v), v) for v in (env.get(n, _UNKNOWN) for n in reads)))

    def block(self, ls: LayerSpec, path: str, env: dict[str, Any], ins: tuple[int, ...],
              stack: tuple[str, ...], mult: int = 1) -> int:
        b = self.spec.blocks[ls.kind]
        item = ls.item
        if ls.kind in stack:
            chain = " -> ".join((*stack[stack.index(ls.kind):], ls.kind))
            raise _err(f"block '{ls.kind}' instantiates itself ({chain})", item.at("kind"),
                       "a block may use other blocks, but not itself")
        if len(stack) >= self.limits.max_depth:
            raise _err(f"blocks nest more than {self.limits.max_depth} levels deep", item.loc)
        if len(ins) != 1:
            raise _err(f"block '{ls.kind}' takes one input, received {len(ins)}", item.at("from"),
                       "concatenate or add the inputs first")
        self.steps += len(b.args)
        if self.steps > self.max_steps:
            raise self.too_many_steps(item.loc)
        benv: Any = ChainMap({}, self.global_env)  # the arguments over the globals, not a copy of them
        for a, default in b.args.items():
            try:
                if a in item:
                    benv[a] = _literal(item[a], env)
                elif default is not None:
                    benv[a] = _literal(default, benv)
            except CalcError as e:
                loc = item.at(a) if a in item else b.args.at(a)
                raise _err(f"block '{ls.kind}' argument {a}: {e.message}", loc, e.hint) from None
        try:
            names, last = self.expand(b.layers, path + "/", benv, ins[0], (*stack, ls.kind), mult)
        except SpecError as e:  # name the instance: the location is in the block's definition
            _note(e, f"in block '{ls.kind}' used at {item.loc} as {path}")
            raise
        out = last
        if b.output is not None:
            if b.output not in names:
                raise _err(f"block '{b.name}' has no layer '{b.output}' to output", b.loc)
            out = names[b.output]
        self.instances[path] = Instance(path, ls.kind, item.loc, out)
        self.paths[path] = out
        return out


_MAX_NOTES = 3
_UNKNOWN: Any = object()
_ITEM_KEYS = frozenset(("kind", "name", "from", "repeat", "when"))


def typed(v: Any) -> Any:
    """`v` as a hashable key that also tells types apart (1, 1.0 and True convert differently);
    lists become tuples. TypeError for a mapping or another unhashable value."""
    if isinstance(v, list):
        return (list, tuple(typed(x) for x in v))
    if isinstance(v, dict):
        raise TypeError("a mapping")
    hash(v)
    return (type(v), v)


def _raw_key(item: LMap) -> tuple[Any, ...] | None:
    """An item's field values as written (typed, hashable), or None when one is a mapping."""
    out = []
    for k, v in item.items():
        if k in _ITEM_KEYS:
            continue
        if isinstance(v, (list, dict)):
            try:
                v = typed(v)
            except TypeError:
                return None
        out.append((k, type(v), v))
    return tuple(out)


def _reads(item: LMap) -> tuple[str, ...] | None:
    """The variables an item's field values read, sorted; None when an expression does not
    compile (the conversion then reports it, every time)."""
    from .calc import compile_expr
    names: set[str] = set()
    todo = [v for k, v in item.items() if k not in _ITEM_KEYS]
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            try:
                names |= compile_expr(v.strip()).names
            except CalcError:
                return None
        elif isinstance(v, list):
            todo += v
        elif isinstance(v, dict):
            return None
    return tuple(sorted(names))


def _note(e: SpecError, note: str) -> None:
    """Add a context line to the error's first diagnostic (innermost instance first)."""
    d = e.diagnostics[0]
    notes = d.notes
    if len(notes) < _MAX_NOTES:
        notes = (*notes, note)
    else:
        more = int(notes[-1].split()[2]) if len(notes) > _MAX_NOTES else 0
        notes = (*notes[:_MAX_NOTES], f"... and {more + 1} enclosing block instances")
    e.diagnostics[0] = Diagnostic(d.message, d.loc, d.hint, notes)


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type[Kind]) -> dict[str, Any]:
    d = _DEFAULTS.get(cls)
    if d is None:
        d = {k: (f.convert(f.default, {}) if f.type in ("pair", "padding") and f.default is not None
                 else f.default) for k, f in cls.fields.items() if not f.required}
        _DEFAULTS[cls] = d
    return d


def _when(raw: Any, env: dict[str, Any]) -> bool:
    v = _literal(raw, env) if isinstance(raw, str) else raw
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    raise FieldError(f"expected true, false or a condition, received {v!r}")


def _env(spec: Spec, overrides: dict[str, Any]) -> dict[str, Any]:
    raw = spec.vars
    check_override_names(spec, overrides)
    env: dict[str, Any] = {}
    for k, v in raw.items():
        if k in overrides:
            env[k] = overrides[k]
            continue
        try:
            env[k] = _literal(v, env)
        except CalcError as e:
            raise _err(f"variable {k}: {e.message}", raw.at(k), e.hint) from None
    return env


def _input_shape(spec: Spec, env: dict[str, Any], override: Shape | None) -> Shape:
    if override is not None:
        for d in override:
            try:
                _POS.convert(d, env)
            except (FieldError, CalcError) as e:
                raise SpecError(f"input shape {override!r}: {e.message}") from None
        return tuple(override)
    root = spec.root
    raw, loc = root["input"], root.at("input")
    if isinstance(raw, str):
        try:
            dims = parse_shape_text(raw)
        except ValueError:  # int() refuses 4,300 digits and more: far past the largest size anyway
            raise _err("input: a dimension is larger than the largest size archcalc accepts, 2^63 - 1", loc) from None
        if dims is not None:
            try:
                return tuple(_POS.convert(d, env) for d in dims)
            except (FieldError, ValueError) as e:
                raise _err(f"input: {getattr(e, 'message', 'a dimension is too large')}", loc) from None
        raw = [raw]
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) not in (1, 3):
        raise _err("`input` is H x W x C (e.g. 32x32x1 or [224, 224, 3]) or a flat length [n]", loc,
                   "write input: 32x32x1")
    dims = []
    for i, r in enumerate(raw):
        try:
            dims.append(_POS.convert(r, env))
        except (FieldError, CalcError) as e:
            raise _err(f"input: {e.message}", raw.at(i) if isinstance(raw, LList) else loc, e.hint) from None
    return tuple(dims)


def _batch(spec: Spec, env: dict[str, Any], batch: int | None) -> int:
    """The batch given (checked), else the spec's `batch:`, else 1."""
    if batch is not None:
        try:
            return _POS.convert(batch, {})
        except FieldError as e:
            raise SpecError(f"batch: {e.message}") from None
    if "batch" not in spec.root:
        return 1
    try:
        return _POS.convert(spec.root["batch"], env)
    except (FieldError, CalcError) as e:
        raise _err(f"batch: {e.message}", spec.root.at("batch"), e.hint) from None


@paused
def build(spec: Spec, *, overrides: dict[str, Any] | None = None, input_shape: Shape | None = None,
          batch: int | None = None, limits: Limits | None = None) -> Graph:
    """Expand a spec into a graph under the given variable overrides (no YAML is re-read)."""
    limits = limits or Limits()
    env = _env(spec, overrides or {})
    shape = _input_shape(spec, env, input_shape)
    batch = _batch(spec, env, batch)
    b = _Builder(spec, limits)
    b.global_env = env
    b.add(Node("input", Input(shape), (), spec.root.key_at("input")))
    names, last = b.expand(spec.layers, "", env, 0, ())
    outs_raw = spec.root.get("outputs")
    if outs_raw is not None:
        if isinstance(outs_raw, str):
            outs_raw = [outs_raw]
        if not isinstance(outs_raw, list) or not all(isinstance(o, str) for o in outs_raw):
            raise _err("`outputs` is a list of layer names", spec.root.at("outputs"))
        if not outs_raw:  # every report shows the (last) output: a network of none has nothing to show
            raise _err("`outputs` is an empty list", spec.root.at("outputs"),
                       "name at least one layer, or leave `outputs` out: by default every layer "
                       "that no other layer reads is an output")
        outputs = []
        for i, o in enumerate(outs_raw):
            idx = names.get(o, b.paths.get(o))
            if idx is None:
                close = close_matches(o, list(b.paths))
                loc = outs_raw.at(i) if isinstance(outs_raw, LList) else spec.root.at("outputs")
                raise _err(f"outputs: no layer named '{o}'", loc, f"did you mean '{close[0]}'?" if close else None)
            outputs.append(idx)
    else:
        used = {i for n in b.nodes for i in n.inputs}
        outputs = [i for i in range(len(b.nodes)) if i not in used and i != 0] or [last]
    return Graph(spec, b.nodes, outputs, b.instances, batch, env)
