"""Spec -> Graph: evaluate variables, expand blocks, repeats and tables, resolve inputs.

A node may take input only from layers above it (or its scope's `input`), so a graph
is always in topological order and a cycle cannot be written. Expansion is bounded
(nodes, block nesting) so that a hostile spec fails fast with a clear error.

Expansion reads shapes only where a spec asks for them (`in.c` and the like): then the
shapes of the nodes built so far are computed on demand, by the kinds' own `out_shape`,
and the graph records what it read (`Graph.shape_reads`). A sweep reshapes such a graph for
another input only when every recorded value comes out the same there (MobileNetV2's `in.c`
over resolutions), and expands it afresh otherwise.

Training-only layers (`training_only:`, for auxiliary heads) are nodes like any other;
`Graph.train_only` lists them and `Graph.training` says whether this graph describes a
training pass. At inference (`training=False`) they hold their parameters but do not run:
no MACs, other operations or memory, and they are no outputs (`Graph.inactive`).
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

from ._gc import paused
from .calc import CONSTANTS, IN_PREFIX, IN_SHAPE, CalcError, in_attrs, to_number
from .errors import Diagnostic, KindError, Location, SpecError, close_matches
from .kinds import REGISTRY, FieldError, Kind
from .kinds.base import Field
from .kinds.reshape import Input
from .record import Frozen, Record
from .shape import Shape, fmt, parse_shape_text
from .source import LList, LMap
from .spec import ITEM_KEYS, LayerSpec, Spec, Table, Variant, expression_names

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
    """The expanded layers in topological order, the outputs, the block instances.

    `layout` is how the input shape was written ("HWC", or "CHW", read as C x H x W); `warnings`
    what the input's shape suggests (e.g. an input that looks channels-first).
    `train_only` holds the indices of training-only nodes; `training` whether the graph is
    a training pass, in which they run (otherwise `inactive`: counted for parameters only).
    `variant` is the variant of the spec it was built in; `shape_reads` what expansion read of
    shapes (`in.c`: the scope's input node and the values read); `overrides` and `limits` what
    it was built with, to rebuild it.
    """

    __slots__ = ("spec", "nodes", "outputs", "instances", "batch", "env", "layout", "warnings", "training",
                 "train_only", "variant", "shape_reads", "overrides", "limits")

    def __init__(self, spec: Spec, nodes: list[Node], outputs: list[int], instances: dict[str, Instance],
                 batch: int, env: dict[str, Any] | None = None, layout: str = "HWC",
                 warnings: list[Diagnostic] | None = None, *, training: bool = False,
                 train_only: frozenset[int] = frozenset(), variant: str | None = None,
                 shape_reads: tuple[tuple[int, tuple[tuple[str, int | None], ...]], ...] = (),
                 overrides: dict[str, Any] | None = None, limits: Limits | None = None) -> None:
        self.spec, self.nodes, self.outputs, self.instances, self.batch = spec, nodes, outputs, instances, batch
        self.env = {} if env is None else env
        self.layout = layout
        self.warnings = [] if warnings is None else warnings
        self.training, self.train_only, self.variant = training, train_only, variant
        self.shape_reads, self.overrides, self.limits = shape_reads, overrides or {}, limits

    @property
    def reads_shapes(self) -> bool:
        """Whether expansion read a shape (`in.c`), so that another input may expand differently."""
        return bool(self.shape_reads)

    @property
    def input_shape(self) -> Shape:
        return self.nodes[0].kind.shape  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        """The spec's name, or its variant's (`DenseNet-161`, or `densenet.yaml@densenet161`'s default title)."""
        v = self.spec.variant(self.variant)
        return v.title if v is not None else self.spec.name

    @property
    def inactive(self) -> frozenset[int]:
        """The nodes that do not run in this pass: the training-only ones, unless training."""
        return frozenset() if self.training else self.train_only

    def reshaped(self, input_shape: Shape | None = None, batch: int | None = None,
                 input_layout: str | None = None) -> Graph:
        """This expansion with another input shape and batch (None: the spec's own), for sweeps.

        When expansion read no shape (blocks, `repeat`, `when` and tables saw variables only),
        the layers stay as they are and only the input node changes; the walk then checks
        every layer against the new input, as for a fresh build. A spec that reads `in.*` is
        expanded afresh for a new input shape (a new batch alone changes no layer).
        """
        shape, layout, warnings = _oriented(self.spec, _input_shape(self.spec, self.env, input_shape,
                                                                    self.spec.variant(self.variant)),
                                            input_shape is not None, input_layout)
        first = self.nodes[0]
        nodes = [Node(first.path, Input(shape), (), first.loc, first.item), *self.nodes[1:]]
        if self.shape_reads and shape != self.input_shape and not _same_reads(nodes, self.shape_reads):
            return build(self.spec, overrides=self.overrides, input_shape=input_shape, batch=batch,
                         limits=self.limits, variant=self.variant, training=self.training, input_layout=input_layout)
        return Graph(self.spec, nodes, self.outputs, self.instances, _batch(self.spec, self.env, batch), self.env,
                     layout, warnings, training=self.training, train_only=self.train_only, variant=self.variant,
                     shape_reads=self.shape_reads, overrides=self.overrides, limits=self.limits)


def _same_reads(nodes: list[Node], reads: tuple[tuple[int, tuple[tuple[str, int | None], ...]], ...]) -> bool:
    """Whether expansion would read the same values of shapes from these nodes (a new input):
    then it would expand to the same nodes, so they can be kept. A shape error says no (the
    fresh expansion reports it where it stands)."""
    from .walk import checked_shape
    need = max(i for i, _ in reads)
    shapes: list[Shape] = []
    try:
        for node in nodes[:need + 1]:
            shapes.append(checked_shape(node.kind.out_shape([shapes[i] for i in node.inputs])))
    except KindError:
        return False
    return all(tuple((a, in_attrs(shapes[i]).get(a)) for a, _ in read) == read for i, read in reads)


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
                        "--train counts training-only layers" if unknown[0] in ("training", "train") else
                        (f"its variables: {', '.join(list(raw)[:12])}" if raw else "it defines no `vars:`"))


def overrides_for(spec: Spec, given: dict[str, Any] | None, option: str = "--set ") -> dict[str, Any]:
    """`--set` values for `spec`: the names checked first, then text values parsed as on the
    command line (`"0.5"` -> 1/2); other values are taken as they are. `option` is how errors
    say where a setting was written (`--set `, or `spec.yaml@` for compare)."""
    check_override_names(spec, given or {}, option)
    return {k: parse_override(f"{k}={v}", option)[1] if isinstance(v, str) else v
            for k, v in (given or {}).items()}


class _ShapeError(SpecError):
    """A shape error met while expansion read a shape (`in.c`): located at the failing node,
    with its block instances noted already (`node_path` says which node)."""

    node_path = ""


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
        # per layer list (a block definition, or the spec's layers): its declared names, and
        # what its values read of the scope input's shape (`in.c`: ("c",))
        self.scopes: dict[int, tuple[set[str | None], tuple[str, ...]]] = {}
        self.reads: dict[tuple[Any, ...], tuple[str, ...] | None] = {}
        self.train_only: set[int] = set()
        self.shapes: list[Shape] = []      # output shapes of nodes[:len(shapes)], computed on demand
        # what expansion read of shapes: (scope input node, ((attribute, value), ...)) per scope
        self.shape_reads: list[tuple[int, tuple[tuple[str, int | None], ...]]] = []
        self.global_env: dict[str, Any] = {}

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

    # -- shapes, for `in.*` -----------------------------------------------------------------
    def shape_of(self, idx: int) -> Shape:
        """The output shape of node `idx`, computing those of the nodes before it as needed."""
        from .walk import checked_shape, kind_error
        shapes, nodes = self.shapes, self.nodes
        while len(shapes) <= idx:
            node = nodes[len(shapes)]
            ins = [shapes[i] for i in node.inputs]
            try:
                shapes.append(checked_shape(node.kind.out_shape(ins)))
            except KindError as e:
                err = kind_error(node, tuple(ins), e, self.instances, _ShapeError)
                err.node_path = node.path  # type: ignore[attr-defined]
                raise err from None
        return shapes[idx]

    def in_env(self, env: dict[str, Any], input_idx: int, attrs: tuple[str, ...]) -> dict[str, Any]:
        """`env` with the scope input's shape readable as in.h, in.w, in.c (in.l); `attrs` are
        the ones the scope reads, recorded with their values."""
        shape = self.shape_of(input_idx)
        values = in_attrs(shape)
        self.shape_reads.append((input_idx, tuple((a, values.get(a)) for a in attrs)))
        # a layer over the scope's variables, not a copy of them all per instance (quadratic)
        top: dict[str, Any] = {IN_SHAPE: shape}
        for k, v in values.items():
            top[IN_PREFIX + k] = v
        return ChainMap(top, env)  # type: ignore[return-value]

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
               input_idx: int, stack: tuple[str, ...], mult: int = 1,
               train: bool = False) -> tuple[dict[str, int], int]:
        """Expand `layers` in a scope; `mult` is how many times the enclosing repeats will
        expand this scope (the product of their counts), to refuse a nested blow-up at once;
        `train` whether the scope is training-only (a block used with `training_only: true`)."""
        names: dict[str, int] = {"input": input_idx}
        scope = self.scopes.get(id(layers))
        if scope is None:  # once per block definition, not once per instance
            scope = self.scopes[id(layers)] = ({ls.name for ls in layers if ls.name}, _reads_input(layers))
        declared, reads_input = scope
        if reads_input:
            env = self.in_env(env, input_idx, reads_input)
        train_only = self.train_only
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
            ltrain = train
            if ls.train is not None and not train:
                try:
                    ltrain = _when(ls.train, env)
                except (FieldError, CalcError) as e:
                    raise _err(f"training_only: {e.message}", item.at("training_only"), e.hint) from None
            if train_only and not ltrain:
                self.check_inference_inputs(ls, ins, prefix)
            count = None
            table = ls.table
            if table is not None:
                count = len(table.rows)
                if count * mult > self.limits.max_nodes:
                    raise _err(f"table: {count:,} rows inside {mult:,} copies of the enclosing blocks would "
                               f"expand past the limit of {self.limits.max_nodes:,} layers", item.at("table"),
                               "raise the limit with --max-nodes if this is intended")
            elif ls.repeat is not None:
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
                    raise self.collision(ls, layers, name, prefix, count)
                # a layer over the scope's variables, not a copy of them all per copy (quadratic)
                ienv = env if count is None else ChainMap({"index": index}, env)
                if index > 1:
                    self.steps += 1
                    if self.steps > self.max_steps:
                        raise self.too_many_steps(item.loc)
                row_item = None
                if table is not None:
                    row_item = table.items[index - 1]
                    _row_env(table, index, env, ienv, prefix + name)
                idx = self.instantiate(ls, prefix + name, ienv, ins if index == 1 else (prev,), stack,
                                       mult * (count or 1), ltrain, row_item)
                names[name] = idx
                prev = idx
            if ls.name and count is not None:
                names.setdefault(ls.name, prev)
        return names, prev

    def check_inference_inputs(self, ls: LayerSpec, ins: tuple[int, ...], prefix: str) -> None:
        """A layer that runs at inference cannot read a training-only layer's output."""
        for i in ins:
            if i in self.train_only:
                src = self.nodes[i].path
                shown = prefix + (ls.name or ls.kind)
                above = " (the layer above it; `from:` names another)" if ls.inputs is None else ""
                raise _err(f"layer '{shown}' runs at inference, but takes input from '{src}', which is "
                           f"training-only{above}", ls.item.at("from") if "from" in ls.item else ls.item.loc,
                           "mark this layer `training_only: true` too, or take its input from a layer "
                           "that runs at inference")

    def collision(self, ls: LayerSpec, layers: tuple[LayerSpec, ...], name: str, prefix: str,
                  count: int | None) -> SpecError:
        """Two layers of one scope would be called `name`; say why when `repeat:` numbered one."""
        loc = ls.item.at("name") if ls.name else ls.item.loc
        here = layers.index(ls)
        other = None
        for prior in layers[:here]:
            if prior.name == name:
                other = f"the layer named '{name}' at line {prior.item.loc.line}"
                break
            copies = prior.repeat is not None or prior.table is not None
            if copies and prior.name and name.startswith(prior.name) and name[len(prior.name):].isdigit():
                how = "repeat:" if prior.table is None else "table:"
                other = (f"copy {name[len(prior.name):]} of '{prior.name}' ({how} at line {prior.item.loc.line} "
                         f"numbers its copies {prior.name}1, {prior.name}2, ...)")
                break
        if count is not None:
            how = "repeat" if ls.table is None else "table"
            what = (f"'{ls.name}' with {how}: {count} names its copies {ls.name}1 ... {ls.name}{count}, "
                    f"and copy '{name}' would take the name of {other or 'an earlier layer'}")
            return _err(f"{what} (in {'block ' + repr(prefix.rstrip('/')) if prefix else 'the spec'})", loc,
                        f"copies are numbered from 1: rename the repeated item (e.g. '{ls.name}_'), "
                        f"or the other layer")
        if other is not None and not other.startswith("the layer"):
            return _err(f"two layers are named '{prefix}{name}': this one and {other}", loc,
                        "rename this layer, or the repeated item (copies are numbered from 1)")
        return _err(f"two layers are named '{prefix}{name}'", loc, "give each layer its own name")

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
                    stack: tuple[str, ...], mult: int = 1, train: bool = False, item: LMap | None = None) -> int:
        item = ls.item if item is None else item
        if ls.is_block:
            return self.block(ls, path, env, ins, stack, mult, train, item)
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
        idx = self.add(Node(path, kind, ins, item.loc, item))
        if train:
            self.train_only.add(idx)
        return idx

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
              stack: tuple[str, ...], mult: int = 1, train: bool = False, item: LMap | None = None) -> int:
        b = self.spec.blocks[ls.kind]
        item = ls.item if item is None else item
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
            names, last = self.expand(b.layers, path + "/", benv, ins[0], (*stack, ls.kind), mult, train)
        except SpecError as e:  # name the instance: the location is in the block's definition
            if not isinstance(e, _ShapeError) or e.node_path.startswith(path + "/"):
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


def _row_env(table: Table, index: int, env: dict[str, Any], ienv: dict[str, Any], path: str) -> None:
    """Add row `index`'s values (evaluated in the item's scope `env`) to `ienv`, by column."""
    row = table.rows[index - 1]
    for j, col in enumerate(table.columns):
        try:
            ienv[col] = _literal(row[j], env)
        except CalcError as e:
            raise _err(f"'{path}': table row {index}, column {col}: {e.message}", row.at(j), e.hint) from None


def _reads_input(layers: tuple[LayerSpec, ...]) -> tuple[str, ...]:
    """What the values of these items (fields, arguments, repeat, when, tables) read of `in`:
    the attributes, sorted (empty: nothing)."""
    names, _ = expression_names(v for ls in layers for k, v in ls.item.items() if k not in ("kind", "name", "from"))
    return tuple(sorted(n[len(IN_PREFIX):] for n in names if n.startswith(IN_PREFIX)))


_MAX_NOTES = 3
_UNKNOWN: Any = object()
_ITEM_KEYS = frozenset(ITEM_KEYS)


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
    names, ok = expression_names(v for k, v in item.items() if k not in _ITEM_KEYS)
    return tuple(sorted(names)) if ok else None


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


def _env(spec: Spec, overrides: dict[str, Any], variant: Variant | None = None) -> dict[str, Any]:
    """The variables, in order: each as the variant (if any) or the spec defines it, unless
    `overrides` (--set) gives its value; a variable sees the ones above it."""
    raw = spec.vars
    check_override_names(spec, overrides)
    sets = variant.vars if variant is not None else {}
    env: dict[str, Any] = {}
    for k in raw:
        if k in overrides:
            env[k] = overrides[k]
            continue
        where = sets if k in sets else raw
        try:
            env[k] = _literal(where[k], env)
        except CalcError as e:
            of = f" (variant '{variant.name}')" if where is sets and variant is not None else ""
            raise _err(f"variable {k}{of}: {e.message}", where.at(k), e.hint) from None  # type: ignore[union-attr]
    return env


def _input_shape(spec: Spec, env: dict[str, Any], override: Shape | None,
                 variant: Variant | None = None) -> Shape:
    if override is not None:
        for d in override:
            try:
                _POS.convert(d, env)
            except (FieldError, CalcError) as e:
                raise SpecError(f"input shape {override!r}: {e.message}") from None
        return tuple(override)
    root = variant.root if variant is not None and "input" in variant.root else spec.root
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


#: How an input shape may be written: H x W x C (archcalc's, the notes' and Keras's default) or
#: C x H x W (PyTorch's, without the batch). Shapes are H x W x C inside archcalc either way.
LAYOUTS = ("HWC", "CHW")


def layout_name(raw: Any, where: str, loc: Location | None = None) -> str:
    """`HWC` or `CHW` (any case) from a spec's `layout:` or an `--input` suffix, else a SpecError."""
    if isinstance(raw, str) and raw.strip().upper() in LAYOUTS:
        return raw.strip().upper()
    from .errors import describe, did_you_mean
    raise SpecError(f"{where}: expected HWC or CHW, received {describe(raw)}", loc,
                    did_you_mean(str(raw).upper(), LAYOUTS, "layouts"))


def _oriented(spec: Spec, dims: Shape, override: bool, override_layout: str | None
              ) -> tuple[Shape, str, list[Diagnostic]]:
    """The input as H x W x C, the layout it was written in, and a warning when it looks
    channels-first but no layout was said (`3x224x224` read as H x W x C is nonsense)."""
    root = spec.root
    if override:
        layout, said, loc = override_layout, override_layout is not None, None
        where = "--input"
    else:
        said = "layout" in root
        loc = root.at("input")
        layout = layout_name(root["layout"], "layout", root.at("layout")) if said else None
        where = "input"
    layout = layout or "HWC"
    if len(dims) != 3:
        return dims, layout, []
    if layout == "CHW":
        c, h, w = dims
        return (h, w, c), layout, []
    h, w, c = dims
    if said or not (h <= 4 < min(w, c)):
        return dims, layout, []
    if override:
        hint = f"if it is, write --input {w}x{c}x{h} or --input {h}x{w}x{c}:CHW; if not, --input {h}x{w}x{c}:HWC"
    else:
        hint = f"if it is, write `input: {w}x{c}x{h}` or add `layout: CHW`; if not, add `layout: HWC`"
    return dims, layout, [Diagnostic(
        f"{where} {fmt(dims)} is read as H x W x C (height {h}, width {w}, {c} channels); it looks "
        f"channels-first (C x H x W), which would be {w} x {c} x {h}", loc, hint)]


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


def include_note(spec: Spec, err: SpecError) -> SpecError:
    """Say which spec included the file an error stands in (a block library), once."""
    d = err.diagnostics[0]
    where = spec.included_from.get(d.loc.path) if d.loc is not None else None
    if where is not None and not any(n.startswith(f"{d.loc.path} is included") for n in d.notes):
        err.diagnostics[0] = Diagnostic(d.message, d.loc, d.hint,
                                        (*d.notes, f"{d.loc.path} is included from {where}"))  # type: ignore[union-attr]
    return err


@paused
def build(spec: Spec, *, overrides: dict[str, Any] | None = None, input_shape: Shape | None = None,
          batch: int | None = None, limits: Limits | None = None, variant: str | None = None,
          training: bool = False, input_layout: str | None = None) -> Graph:
    """Expand a spec into a graph under the given variable overrides (no YAML is re-read).

    `variant` selects one of the spec's `variants:` (its variables and input; `overrides` still
    win). `training` describes a training pass: training-only layers run (see the module doc).
    `input_shape` replaces the spec's input, written in `input_layout` ("HWC" or "CHW"; None:
    not said, so H x W x C, with a warning in `Graph.warnings` when it looks channels-first)."""
    if spec.is_library:
        raise SpecError(f"{spec.path} is a block library (blocks only), not a network", spec.root.loc,
                        hint="analyse a spec that includes it (`include:`), or add `input:` and `layers:`")
    limits = limits or Limits()
    v = spec.variant(variant)
    overrides = overrides or {}
    env = _env(spec, overrides, v)
    if input_layout is not None:
        input_layout = layout_name(input_layout, "input_layout")
    shape, layout, warnings = _oriented(spec, _input_shape(spec, env, input_shape, v), input_shape is not None,
                                        input_layout)
    batch = _batch(spec, env, batch)
    b = _Builder(spec, limits)
    b.global_env = env
    b.add(Node("input", Input(shape), (), spec.root.key_at("input")))
    try:
        names, last = b.expand(spec.layers, "", env, 0, ())
    except SpecError as e:
        raise include_note(spec, e) from None
    inactive = frozenset() if training else frozenset(b.train_only)
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
            if idx not in inactive:  # a training-only output is one in training only
                outputs.append(idx)
        if not outputs:
            raise _err("every layer in `outputs:` is training-only, so inference has no output",
                       spec.root.at("outputs"), "list the inference output too, or count a training pass (--train)")
    elif not inactive:
        used = {i for n in b.nodes for i in n.inputs}
        outputs = [i for i in range(len(b.nodes)) if i not in used and i != 0] or [last]
    else:  # what nothing that runs reads, among what runs
        nodes = b.nodes
        used = {i for k, n in enumerate(nodes) if k not in inactive for i in n.inputs}
        outputs = [i for i in range(1, len(nodes)) if i not in used and i not in inactive]
        if not outputs:
            raise _err("every layer is training-only, so inference has no output", spec.root.at("layers"),
                       "count a training pass (--train), or leave the main path unmarked")
    return Graph(spec, b.nodes, outputs, b.instances, batch, env, layout, warnings, training=training,
                 train_only=frozenset(b.train_only), variant=variant, shape_reads=tuple(b.shape_reads),
                 overrides=overrides, limits=limits)
