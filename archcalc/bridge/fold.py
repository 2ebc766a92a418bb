"""Repeated module instances -> blocks with arguments, and chains of equal instances -> `repeat`.

Input: layers in topological order, each with a path (module names, then its own name), a
kind label, its field values and its inputs. The module tree the paths describe is resolved
from the leaves up. A module becomes a block instance when it reads one value from outside,
gives one value to the outside, occupies consecutive layers, and has the structure (kinds and
wiring, inner blocks included) of at least one other module at its depth; otherwise its
layers join its parent under dotted names. Within a module, consecutive instances of one block
with equal arguments, each fed by the previous, become one item with `repeat:`.

Values that differ between a block's instances become its arguments, named after the field
(`filters`, `stride`; `count` for a repeat); a value that is a whole multiple of an argument
in every instance is written as one (`4 * filters`), as a person would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Leaf:
    path: tuple[str, ...]
    kind: str
    values: dict[str, Any]
    inputs: list[int]          # indices of earlier leaves; -1 the network's input


@dataclass
class Item:
    """One entry of a `layers:` list: a layer (leaf index) or a block instance."""

    name: str
    kind: str                  # the kind, or the block's name
    values: dict[str, Any]
    refs: list[str]            # local names of the inputs ("input": the scope's input)
    repeat: Any = None         # copies: a number, or an argument of the enclosing block
    leaf: int | None = None    # the leaf, for a layer
    block: bool = False


@dataclass
class Block:
    name: str
    args: list[str]
    items: list[Item]
    output: str | None         # the item the block returns, when not the last


@dataclass
class Folded:
    blocks: dict[str, Block]
    items: list[Item]


@dataclass
class _Mod:
    name: str
    depth: int
    children: list[Any] = field(default_factory=list)    # int (leaf) or _Mod
    leaves: list[int] = field(default_factory=list)
    entries: list[_Entry] = field(default_factory=list)
    sig: Any = None


@dataclass
class _Entry:
    """A child of a resolved module: a leaf, or an instance of a (not yet named) block."""

    name: str
    leaves: list[int]          # every leaf inside
    out: int                   # the leaf whose value it gives
    ins: list[int]             # outside leaves it reads
    leaf: int | None = None
    mod: _Mod | None = None
    repeat: int | None = None
    prefix: str = ""           # the dissolved modules it came through, dotted


def fold(leaves: list[Leaf], *, default: Callable[[str, str], Any], clean: Callable[[str, str], str],
         reserved: set[str] = frozenset()) -> Folded:  # type: ignore[assignment]
    """Fold `leaves` (see the module docstring); `default(kind, field)` fills a field one
    instance omits, `clean(name, fallback)` makes a name valid, `reserved` are names a block may
    not take (the kinds)."""
    root = _Mod("", 0)
    mods: dict[tuple[str, ...], _Mod] = {(): root}
    for i, lf in enumerate(leaves):
        parent = root
        for d in range(1, len(lf.path)):
            key = lf.path[:d]
            m = mods.get(key)
            if m is None:
                m = mods[key] = _Mod(lf.path[d - 1], d)
                parent.children.append(m)
            parent = m
        parent.children.append(i)
    for m in sorted(mods.values(), key=lambda m: -m.depth):
        m.leaves = sorted(i for c in m.children for i in ([c] if isinstance(c, int) else c.leaves))
    readers: dict[int, set[int]] = {}
    for i, lf in enumerate(leaves):
        for j in lf.inputs:
            readers.setdefault(j, set()).add(i)
    outputs_of_graph = {i for i in range(len(leaves)) if not readers.get(i)}
    f = _Folder(leaves, readers, outputs_of_graph, default, clean, set(reserved))
    depths = sorted({m.depth for m in mods.values()}, reverse=True)
    for d in depths:
        level = [m for m in mods.values() if m.depth == d]
        for m in level:
            f.resolve(m)
        if d == 0:
            break
        sigs: dict[Any, int] = {}
        for m in level:
            if m.sig is not None:
                sigs[m.sig] = sigs.get(m.sig, 0) + 1
        for m in level:
            if m.sig is not None and sigs[m.sig] < 2:
                m.sig = None
    f._registry = {}
    for m in mods.values():
        if m.sig is not None and m.depth > 0:
            f._registry.setdefault(m.sig, []).append(m)
    for ms in sorted(f._registry.values(), key=lambda ms: len(ms[0].entries)):  # the plainest variant
        f._block(ms[0])                                                       # takes the plain name
    return f.finish(root)


class _Folder:
    def __init__(self, leaves: list[Leaf], readers: dict[int, set[int]], graph_outs: set[int],
                 default: Callable[[str, str], Any], clean: Callable[[str, str], str], reserved: set[str]) -> None:
        self.leaves, self.readers, self.graph_outs = leaves, readers, graph_outs
        self.default, self.clean, self.reserved = default, clean, reserved
        self.blocks: dict[Any, Block] = {}
        self.names: set[str] = set(reserved)

    # -- structure ---------------------------------------------------------------------------
    def resolve(self, m: _Mod) -> None:
        """m.entries from its children (instances stay, other modules dissolve), then m.sig."""
        entries: list[_Entry] = []
        for c in m.children:
            if isinstance(c, int):
                entries.append(_Entry(self.leaves[c].path[-1], [c], c, self._outside([c], c), leaf=c))
            elif c.sig is not None:
                out = self._out(c.leaves)
                entries.append(_Entry(c.name, c.leaves, out, self._outside(c.leaves), mod=c))  # type: ignore[arg-type]
            else:
                for e in c.entries:
                    if len(c.entries) == 1 and not e.repeat:
                        e.name = c.name
                    else:
                        e.prefix = f"{c.name}.{e.prefix}" if e.prefix else c.name
                    entries.append(e)
        entries.sort(key=lambda e: e.leaves[0])
        m.entries = self._repeat(entries)
        m.sig = None
        if m.depth == 0:
            return
        lv = m.leaves
        if lv != list(range(lv[0], lv[0] + len(lv))) or len(m.entries) < 2:
            return
        outside = self._outside(lv)
        out = self._out(lv)
        if len(set(outside)) != 1 or out is None:
            return
        m.sig = self._signature(m)

    def _outside(self, lv: list[int], only: int | None = None) -> list[int]:
        s = set(lv)
        return sorted({j for i in ([only] if only is not None else lv) for j in self.leaves[i].inputs
                       if j not in s})

    def _out(self, lv: list[int]) -> int | None:
        s = set(lv)
        outs = [i for i in lv if i in self.graph_outs or any(r not in s for r in self.readers.get(i, ()))]
        return outs[0] if len(outs) == 1 else None

    def _refs(self, e: _Entry, entries: list[_Entry]) -> tuple[Any, ...]:
        """Where an entry's inputs come from: the position of a sibling, or 'in' (outside)."""
        pos = {x.out: k for k, x in enumerate(entries)}
        srcs = self.leaves[e.leaf].inputs if e.leaf is not None else e.ins
        return tuple(pos.get(j, "in") for j in srcs)

    def _repeat(self, entries: list[_Entry]) -> list[_Entry]:
        out: list[_Entry] = []
        for e in entries:
            prev = out[-1] if out else None
            if (prev is not None and e.mod is not None and prev.mod is not None and prev.mod.sig == e.mod.sig
                    and e.ins == [prev.out] and self._values(prev.mod) == self._values(e.mod)
                    and e.repeat is None):
                first = prev.leaves[0]
                prev.repeat = (prev.repeat or 1) + 1
                prev.leaves = prev.leaves + e.leaves
                prev.out = e.out
                prev.leaves.sort()
                assert prev.leaves[0] == first
                continue
            out.append(e)
        return out

    def _signature(self, m: _Mod) -> Any:
        sig = []
        for e in m.entries:
            refs = self._refs(e, m.entries)
            if e.leaf is not None:
                sig.append(("L", self.leaves[e.leaf].kind, refs))
            else:
                sig.append(("B", e.mod.sig, refs, e.repeat is not None))  # type: ignore[union-attr]
        outpos = next(k for k, e in enumerate(m.entries) if e.out == self._out(m.leaves))
        return (tuple(sig), outpos)

    def _values(self, m: _Mod) -> list[tuple[Any, ...]]:
        """Every value of a module instance, position by position (field name, value)."""
        vals: list[tuple[Any, ...]] = []
        for k, e in enumerate(m.entries):
            if e.leaf is not None:
                lf = self.leaves[e.leaf]
                for f, v in lf.values.items():
                    vals.append((k, f, _key(v)))
            else:
                vals.extend((k, *v) for v in self._values(e.mod))  # type: ignore[arg-type]
                if e.repeat is not None:
                    vals.append((k, "count", e.repeat))
        return vals

    # -- naming and arguments ------------------------------------------------------------------
    def finish(self, root: _Mod) -> Folded:
        items = [self._item(e, root.entries) for e in root.entries]
        return Folded({b.name: b for b in self.blocks.values()}, items)

    def _name(self, e: _Entry) -> str:
        """An entry's name in its scope: a repeated item is named by its stem (copies add 1, 2, ...)."""
        if not e.repeat:
            return self._plain_name(e)
        pre = f"{e.prefix}." if e.prefix else ""
        base = re.sub(r"_\d+$", "", self._block(e.mod).name)  # type: ignore[arg-type]
        if e.repeat:
            stem = self.clean(pre + (re.sub(r"[\d_.\-]+$", "", e.name) or base), base)
            taken = {self._plain_name(x) for x in self._scope if x is not e}
            here = next(k for k, x in enumerate(self._scope) if x is e)
            for x in self._scope[:here]:  # earlier repeated items: their stems and copies
                if x.repeat:
                    other = self._name(x)
                    taken |= {other, *(f"{other}{i}" for i in range(1, x.repeat + 1))}
            if stem in taken or any(f"{stem}{i}" in taken for i in range(1, e.repeat + 1)):
                stem = self.clean(pre + e.name, base) + "_"   # copies block7_1 ... block7_5
            return stem
        return self.clean(pre + e.name, base) if not e.name[0].isdigit() else f"{pre}{base}{e.name}"

    def _plain_name(self, e: _Entry) -> str:
        pre = f"{e.prefix}." if e.prefix else ""
        if e.repeat:
            return ""
        if e.leaf is not None:
            return self.clean(pre + e.name, self.leaves[e.leaf].kind)
        base = re.sub(r"_\d+$", "", self._block(e.mod).name)  # type: ignore[arg-type]
        return self.clean(pre + e.name, base) if not e.name[0].isdigit() else f"{pre}{base}{e.name}"

    def _item(self, e: _Entry, siblings: list[_Entry]) -> Item:
        self._scope = siblings
        refs = [("input" if r == "in" else self._name(siblings[r])) for r in self._refs(e, siblings)]
        if e.leaf is not None:
            lf = self.leaves[e.leaf]
            return Item(self._name(e), lf.kind, dict(lf.values), refs, leaf=e.leaf)
        block = self._block(e.mod)  # type: ignore[arg-type]
        name = self._name(e)
        vals = self._instance_args(e.mod, block)  # type: ignore[arg-type]
        return Item(name, block.name, vals, refs, repeat=e.repeat, block=True)

    def _block(self, m: _Mod) -> Block:
        b = self.blocks.get(m.sig)
        if b is not None:
            return b
        base = self.clean(re.sub(r"[\d_.\-]+$", "", m.name) or "block", "block")
        if base in self.reserved:  # `conv` names a kind
            base = f"{base}_block"
        name, k = base, 1
        if name in self.names:  # a variant: named by a layer the other lacks (block_downsample)
            other = next((b for b in self.blocks.values() if b.name == base), None)
            mine = [e.name for e in m.entries]
            theirs = {e.name for e in other._first.entries} if other is not None else set()  # type: ignore[attr-defined]
            extra = [x for x in mine if x not in theirs]
            if extra:
                name = self.clean(f"{base}_{extra[0]}", base)
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        b = Block(name, [], [], None)
        self.blocks[m.sig] = b
        b._first = m  # type: ignore[attr-defined]
        return b

    def _instance_args(self, m: _Mod, b: Block) -> dict[str, Any]:
        if not b.items:
            self._define(b)
        vals = {tuple(v[:-1]): v[-1] for v in self._values(m)}
        return {a: _unkey(vals[pos] if pos in vals else self._value_of(m, pos))
                for a, pos in b._argpos.items()}  # type: ignore[attr-defined]

    def _define(self, b: Block) -> None:
        """The block's items with literal values where all instances agree, arguments elsewhere."""
        first: _Mod = b._first  # type: ignore[attr-defined]
        insts = self._registry.get(first.sig, [first])
        table: dict[tuple[Any, ...], list[Any]] = {}
        for m in insts:
            for v in self._values(m):
                table.setdefault(tuple(v[:-1]), []).append(v[-1])
        # positions missing in some instance (a field one omitted) take the kind's default
        for pos, vs in table.items():
            if len(vs) < len(insts):
                table[pos] = [self._value_of(m, pos) for m in insts]
        argpos: dict[str, tuple[Any, ...]] = {}
        by_vec: dict[tuple[Any, ...], str] = {}
        expr: dict[tuple[Any, ...], Any] = {}
        def order(item: tuple[tuple[Any, ...], list[Any]]) -> Any:
            vs = item[1]  # arguments first for the smaller of two multiples: `4 * filters`, not filters / 4
            return (0, sum(vs)) if all(type(v) is int for v in vs) else (1, 0)
        for pos, vs in sorted(table.items(), key=order):
            vec = tuple(vs)
            if all(v == vec[0] for v in vec):
                expr[pos] = _unkey(vec[0])
                continue
            if vec in by_vec:
                expr[pos] = by_vec[vec]
                continue
            mult = self._multiple(vec, by_vec)
            if mult is not None:
                expr[pos] = mult
                continue
            a = base = str(pos[-1]) if str(pos[-1]).isidentifier() else "arg"
            k = 1
            while a in argpos or a in ("kind", "name", "from", "repeat", "when", "input", "index"):
                k += 1
                a = f"{base}{k}"
            argpos[a] = pos
            by_vec[vec] = a
            expr[pos] = a
        b.args = list(argpos)
        b._argpos = argpos  # type: ignore[attr-defined]
        b.items = self._def_items(first, (), expr)
        outpos = first.sig[1]
        b.output = None if outpos == len(first.entries) - 1 else b.items[outpos].name

    def _def_items(self, m: _Mod, prefix: tuple[Any, ...], expr: dict[tuple[Any, ...], Any]) -> list[Item]:
        items = []
        for k, e in enumerate(m.entries):
            it = self._item(e, m.entries)
            if e.leaf is not None:
                lf = self.leaves[e.leaf]
                it.values = {f: expr.get((*prefix, k, f), v) for f, v in lf.values.items()}
                for pos, v in expr.items():  # fields this instance omitted but others set
                    if pos[:-1] == (*prefix, k) and pos[-1] not in it.values \
                            and v != _unkey(_key(self.default(lf.kind, pos[-1]))):
                        it.values[pos[-1]] = v
            else:
                sub: Block = self.blocks[e.mod.sig]  # type: ignore[union-attr]
                it.values = {a: expr.get((*prefix, k, *p), it.values.get(a)) for a, p in sub._argpos.items()}  # type: ignore[attr-defined]
                if e.repeat is not None:
                    it.repeat = expr.get((*prefix, k, "count"), e.repeat)
            items.append(it)
        return items

    def _multiple(self, vec: tuple[Any, ...], by_vec: dict[tuple[Any, ...], str]) -> str | None:
        if not all(type(v) is int and v > 0 for v in vec):
            return None
        for u, a in by_vec.items():
            if all(type(x) is int and x > 0 for x in u) and vec[0] % u[0] == 0:
                k = vec[0] // u[0]
                if k > 1 and all(v == k * x for v, x in zip(vec, u, strict=True)):
                    return f"{k} * {a}"
        return None

    def _value_of(self, m: _Mod, pos: tuple[Any, ...]) -> Any:
        vals = {tuple(v[:-1]): v[-1] for v in self._values(m)}
        if pos in vals:
            return vals[pos]
        e = m.entries[pos[0]]
        while e.leaf is None and len(pos) > 2:  # a field inside an inner instance
            pos = pos[1:]
            e = e.mod.entries[pos[0]]  # type: ignore[union-attr]
        return _key(self.default(self.leaves[e.leaf].kind, pos[-1])) if e.leaf is not None else None

    _registry: dict[Any, list[_Mod]]


def _key(v: Any) -> Any:
    return tuple(_key(x) for x in v) if isinstance(v, list) else v


def _unkey(v: Any) -> Any:
    return [_unkey(x) for x in v] if isinstance(v, tuple) else v
