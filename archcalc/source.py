"""YAML text -> a located tree: plain Python values plus a `Location` for every key and item.

We compose (not construct) the document so every node keeps its line and column, then
build the values ourselves. That lets us reject what PyYAML lets through silently
(duplicate keys, Python-specific tags) and bound what it would expand without limit
(alias "billion laughs" documents). Only the safe loaders are ever used.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from .calc import MAX_BITS
from .errors import Location, SpecError, short
from .record import Frozen

try:  # libyaml: 4-8x faster and keeps line/column marks (without snippets)
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _Loader = yaml.SafeLoader

#: The most values a document may hold once aliases are expanded.
MAX_VALUES = 2_000_000
#: The largest spec file (or standard input) read, in bytes; the rest is never read.
MAX_BYTES = 8 * 1024 * 1024
#: How deeply lists and mappings may nest in the YAML document.
MAX_NESTING = 100
#: A text with at most this many of the characters that open a level ('[', '{', '-', ':', '?': each
#: list or mapping has one of its own) cannot nest deeper, which libyaml's recursive composer takes
#: on any thread's stack (it crashes past 10,000 to 30,000 levels on the main thread's 8 MiB).
COMPOSE_SAFE = 1000

_CONSTRUCTOR = yaml.constructor.SafeConstructor()
#: Texts read so far, by display path, so an error can show its offending line.
TEXTS: dict[str, str] = {}
_T = "tag:yaml.org,2002:"


class LMap(dict):
    """A mapping that remembers where it, each key and each value stand."""

    __slots__ = ("loc", "key_locs", "val_locs")

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.key_locs: dict[Any, Location] = {}
        self.val_locs: dict[Any, Location] = {}

    def at(self, key: Any) -> Location:
        """Where the value of `key` stands (the mapping itself when the key is absent)."""
        return self.val_locs.get(key) or self.key_locs.get(key) or self.loc

    def key_at(self, key: Any) -> Location:
        return self.key_locs.get(key) or self.loc


class LList(list):
    """A sequence that remembers where it and each item stand."""

    __slots__ = ("loc", "item_locs")

    def __init__(self, loc: Location) -> None:
        super().__init__()
        self.loc = loc
        self.item_locs: list[Location] = []

    def at(self, i: int) -> Location:
        return self.item_locs[i] if 0 <= i < len(self.item_locs) else self.loc


class Source(Frozen):
    """A spec's text and its located tree; the text is kept to print offending lines."""

    __slots__ = ("path", "text", "root")

    def __init__(self, path: str, text: str, root: Any) -> None:
        self.path, self.text, self.root = path, text, root


def _loc(path: str, node: yaml.Node) -> Location:
    m = node.start_mark
    return Location(path, m.line + 1, m.column + 1)


def read_text(path: str | Path) -> tuple[str, str]:
    """Read a spec file (or standard input for '-') as UTF-8; return (display path, text)."""
    name = str(path)
    if name == "-":
        name = "<stdin>"
        data = _read_bounded(sys.stdin.buffer, name)
    else:
        if not name:  # Path("") is the current folder
            raise SpecError("the spec's path is empty", hint="name a .yaml file, or - for standard input")
        p = Path(path)
        try:
            if p.is_dir():
                raise SpecError(f"{short(name)} is a directory, not a spec file",
                                hint="name a .yaml file inside it")
            with p.open("rb") as f:
                data = _read_bounded(f, name)
        except FileNotFoundError:
            from . import zoo  # not a file: a model shipped with archcalc (`vgg16`)?
            shipped = zoo.find(name)
            if shipped is not None:
                return read_text(shipped)
            raise SpecError(f"no such file: {short(name)}", hint=zoo.suggest(name) or "check the path") from None
        except OSError as e:  # no permission; a name too long for the file system (is_dir raises it too)
            raise SpecError(f"cannot read {short(name)}: {e.strerror or e}") from None
        except ValueError:  # a NUL in the name (a program's string: no shell passes one)
            raise SpecError(f"cannot read {short(name)!r}: a file name holds no NUL character") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        # the column counts characters, as everywhere else, not bytes
        start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[start: e.start].decode("utf-8", "replace")) + 1
        TEXTS[name] = data.decode("utf-8", "replace")  # to show the line, with U+FFFD at the fault
        raise SpecError(f"byte 0x{data[e.start]:02x} is not valid UTF-8",
                        Location(name, line, col),
                        hint="save the file as UTF-8 (was it saved as Latin-1 or UTF-16?)") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return name, text


def _read_bounded(f: Any, name: str) -> bytes:
    """Read at most MAX_BYTES (so `/dev/zero` or an endless pipe cannot exhaust memory)."""
    data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise SpecError(f"{short(name)} is larger than {MAX_BYTES:,} bytes: not a spec",
                        hint="a spec is a short YAML file; raise archcalc.source.MAX_BYTES if it is truly one")
    return data


def _at(text: str, index: int, path: str) -> Location:
    """The location of a character index in `text`."""
    line = text.count("\n", 0, index) + 1
    return Location(path, line, index - (text.rfind("\n", 0, index) + 1) + 1)


_DEEP_HINT = "a spec needs a few levels; is a bracket unclosed?"


def _check_nesting(text: str, path: str) -> None:
    """Refuse deep nesting before composing: libyaml's composer recurses in C and would crash.

    The event stream is produced by a state machine without recursion, so this pass is safe
    on any input; it stops at the first event past the limit. A text too short to nest deeper
    than COMPOSE_SAFE levels (every spec in the zoo) is composed without it: `_size` then refuses
    the same first list or mapping past MAX_NESTING, with the same message and location.
    """
    if sum(map(text.count, "[{-:?")) <= COMPOSE_SAFE:
        return
    depth = 0
    for ev in yaml.parse(text, Loader=_Loader):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise SpecError(f"lists and mappings nest more than {MAX_NESTING} levels deep",
                                _loc(path, ev), hint=_DEEP_HINT)
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def parse(text: str, path: str = "<text>") -> Source:
    """Compose YAML text into a located tree, raising `SpecError` with a location on any fault."""
    TEXTS[path] = text
    try:
        _check_nesting(text, path)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1)
        problem = e.problem or e.context or "malformed YAML"
        if "maximum nesting depth" in problem:
            # libyaml 0.2.5 (PyYAML 6.0.4's wheels) stops flow collections at 1,000 levels while
            # scanning ahead, before the event check above sees level 101: one message either way
            raise SpecError(f"lists and mappings nest more than {MAX_NESTING} levels deep", loc,
                            hint=_DEEP_HINT) from None
        hint = None
        lines = text.splitlines()
        bad = lines[loc.line - 1] if 1 <= loc.line <= len(lines) else ""
        if "\t" in problem or "'\\t'" in problem or "\t" in bad[: len(bad) - len(bad.lstrip())]:
            hint = "YAML does not allow tabs for indentation: use spaces"
        elif "expected a single document" in str(e):
            hint = "a spec is one YAML document: remove the '---' separators"
        raise SpecError(f"YAML syntax error: {problem}", loc, hint) from None
    except yaml.reader.ReaderError as e:  # a control character; its position is a character index
        raise SpecError(f"character U+{e.character:04X} is not allowed in YAML",
                        _at(text, e.position, path), hint="remove it (a stray control character?)") from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML error: {e}", Location(path, 1)) from None
    except UnicodeEncodeError as e:  # a lone surrogate in text passed by a program
        raise SpecError("the text holds a lone surrogate, which is not a Unicode character",
                        _at(text, e.start, path)) from None
    except RecursionError:  # pragma: no cover - _check_nesting bounds the depth first
        raise SpecError("YAML nesting is too deep", Location(path, 1)) from None
    if node is None:
        raise SpecError("the spec is empty", Location(path, 1),
                        hint="start from a shipped spec, e.g. specs/lenet5.yaml")
    sizes: dict[int, int] = {}
    total = _size(node, sizes, 0, path)
    if total > MAX_VALUES:
        raise SpecError(f"the document expands to {total:,} values or more "
                        f"(limit {MAX_VALUES:,}); YAML aliases that repeat aliases?",
                        _loc(path, node), hint="write the repeated part as a block with `repeat:`")
    return Source(path, text, _build(node, path, {}))


def _size(node: yaml.Node, memo: dict[int, int], depth: int, path: str) -> int:
    """Count values as if aliases were expanded, stopping early past the limit; refuse a list or
    mapping nested more than MAX_NESTING deep (`depth` counts the ones around it), as
    `_check_nesting` would, for texts it lets through."""
    key = id(node)
    if key in memo:
        return memo[key]
    if depth >= MAX_NESTING and isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        raise SpecError(f"lists and mappings nest more than {MAX_NESTING} levels deep", _loc(path, node),
                        hint=_DEEP_HINT)
    n = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            n += _size(k, memo, depth + 1, path) + _size(v, memo, depth + 1, path)
            if n > MAX_VALUES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            n += _size(v, memo, depth + 1, path)
            if n > MAX_VALUES:
                break
    memo[key] = n
    return n


_STR, _INT, _FLOAT, _BOOL, _NULL = (_T + t for t in ("str", "int", "float", "bool", "null"))
#: the safe constructor's own function per plain tag (calling it directly skips its
#: generic dispatch, which cost more than the conversion)
_PLAIN = {_INT: _CONSTRUCTOR.construct_yaml_int, _FLOAT: _CONSTRUCTOR.construct_yaml_float,
          _BOOL: _CONSTRUCTOR.construct_yaml_bool, _NULL: _CONSTRUCTOR.construct_yaml_null}
#: what a value tagged explicitly (`!!int abc`) should have been, for the message
_WANTED = {_INT: "an integer", _FLOAT: "a number", _BOOL: "true or false", _NULL: "null (empty, ~ or null)"}
_NULLS = ("", "~", "null", "Null", "NULL")
_INFS = (".inf", ".Inf", ".INF")
_BAD: Any = object()
_DECIMAL = re.compile(r"^[-+]?[0-9_]+$")


def _scalar(node: yaml.ScalarNode, path: str) -> Any:
    """A plain scalar's value. The safe constructor trusts the resolver, so a value tagged
    explicitly (`!!float abc`, `!!bool maybe`, an empty `!!int`) reaches it unchecked and fails
    with whatever Python raises; each such value is refused here, at its place, by what it is."""
    tag = node.tag
    if tag == _STR:
        return node.value
    construct = _PLAIN.get(tag)
    if construct is not None:
        text = node.value
        try:
            v = construct(node) if tag != _NULL or text in _NULLS else _BAD
        except Exception:  # noqa: BLE001 - IndexError (''), KeyError (!!bool maybe), ValueError
            v = _BAD
        if tag == _INT and (v is _BAD and _DECIMAL.match(text) or v is not _BAD and v.bit_length() > MAX_BITS):
            # past Python's 4,300-digit limit int() refuses a decimal literal outright
            raise SpecError(f"the number {text[:20]}... is too large (limit {MAX_BITS} bits, "
                            f"about {MAX_BITS * 3 // 10} digits)", _loc(path, node))
        if v is _BAD:
            raise SpecError(f"{_shown(text)} is tagged !!{tag[len(_T):]} but is not {_WANTED[tag]}",
                            _loc(path, node), "remove the tag, or write a value of that type")
        if tag == _FLOAT and math.isinf(v) and text.lstrip("+-") not in _INFS:
            raise SpecError(f"the number {text[:40]} is too large for a decimal number (it overflows to "
                            "infinity)", _loc(path, node),
                            "a decimal number stops at about 1.8e308: write a whole number, or an "
                            "expression such as 10**400")
        return v
    if tag == _T + "timestamp":
        return node.value  # dates are text to us
    raise SpecError(f"unsupported YAML tag {tag!r}", _loc(path, node),
                    hint="specs hold plain numbers, strings, lists and mappings")


def _shown(text: str) -> str:
    return "an empty value" if not text else repr(text if len(text) <= 40 else text[:37] + "...")


def _build(node: yaml.Node, path: str, memo: dict[int, Any]) -> Any:
    key = id(node)
    if key in memo:  # an alias: share the built value (its size was bounded above)
        return memo[key]
    if isinstance(node, yaml.ScalarNode):
        out = _scalar(node, path)
    elif isinstance(node, yaml.SequenceNode):
        if node.tag != _T + "seq":
            raise SpecError(f"unsupported YAML tag {node.tag!r}", _loc(path, node))
        out = LList(_loc(path, node))
        for item in node.value:
            out.append(_build(item, path, memo))
            out.item_locs.append(_loc(path, item))
    elif isinstance(node, yaml.MappingNode):
        if node.tag != _T + "map":
            raise SpecError(f"unsupported YAML tag {node.tag!r}", _loc(path, node))
        out = LMap(_loc(path, node))
        merges: list[yaml.Node] = []
        for k, v in node.value:
            if k.tag == _T + "merge":
                merges.append(v)
                continue
            if not isinstance(k, yaml.ScalarNode):
                raise SpecError("a mapping key must be a plain word, not a list or mapping",
                                _loc(path, k))
            kv = _scalar(k, path)
            if kv in out:
                first = out.key_locs[kv]
                raise SpecError(f"duplicate key {kv!r} (first at line {first.line})",
                                _loc(path, k),
                                hint="YAML would silently keep only the last one: remove one")
            out[kv] = _build(v, path, memo)
            out.key_locs[kv] = _loc(path, k)
            out.val_locs[kv] = _loc(path, v)
        for m in merges:  # `<<: *anchor` fills in keys not written explicitly
            sources = m.value if isinstance(m, yaml.SequenceNode) else [m]
            for s in sources:
                built = _build(s, path, memo)
                if not isinstance(built, LMap):
                    raise SpecError("`<<` merges a mapping (an anchored `&name` mapping)",
                                    _loc(path, s))
                for kk, vv in built.items():
                    if kk not in out:
                        out[kk] = vv
                        out.key_locs[kk] = built.key_locs[kk]
                        out.val_locs[kk] = built.val_locs[kk]
    else:  # pragma: no cover - composer yields only the three node kinds
        raise SpecError("unsupported YAML node", _loc(path, node))
    memo[key] = out
    return out


def load_source(path: str | Path) -> Source:
    """Read and compose a spec file ('-' for standard input)."""
    name, text = read_text(path)
    return parse(text, name)
