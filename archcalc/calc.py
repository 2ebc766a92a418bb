"""A small, closed arithmetic language for spec values: `64 * alpha`, `make_divisible(32 * w, 8)`.

Specs are data, so nothing here reaches `eval`: the text is parsed by `ast.parse` (a
parser, which runs nothing) and every node kind is checked against a whitelist, then
compiled once into closures and cached, so a sweep re-evaluates without re-parsing.
Numbers are exact: integers stay `int`, and decimals such as `0.75` become
`Fraction(3, 4)`, so `64 * 0.75` is exactly 48 and never 47.99999.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from .errors import close_matches, describe

#: Longest expression text accepted, and the largest number (in bits) any step may produce.
MAX_EXPR_CHARS = 1000
MAX_BITS = 4096

Number = int | Fraction
Env = Mapping[str, Any]


class CalcError(Exception):
    """An expression that cannot be parsed or evaluated; the caller adds the location."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def to_number(v: Any) -> Any:
    """Make YAML and command-line numbers exact: floats go through their decimal text."""
    if isinstance(v, float):
        if not math.isfinite(v):
            raise CalcError(f"{v} is not a finite number")
        return Fraction(repr(v))
    return v


def approx(x: Number, digits: int = 6) -> str:
    """A number as a short decimal, `digits` significant figures, at any size: `float(x)` alone
    overflows for the exact values specs may hold (2**1100/3 is 4.52766e+330, not an error)."""
    try:
        return f"{float(x):.{digits}g}"
    except OverflowError:
        from decimal import Context, Decimal
        d = Context(prec=digits + 2).divide(Decimal(x.numerator), Decimal(x.denominator))
        return f"{d.normalize():.{digits}g}"


def _round_half_up(x: Number) -> int:
    """round(): halves go away from zero (2.5 -> 3), as people expect, not Python's to-even."""
    x = Fraction(x)
    return int(math.floor(x + Fraction(1, 2))) if x >= 0 else -int(math.floor(-x + Fraction(1, 2)))


def make_divisible(v: Number, divisor: Number = 8, min_value: Number | None = None) -> int:
    """MobileNet's channel rounding, as in TensorFlow's and torchvision's `_make_divisible`:
    the nearest multiple of `divisor` (at least `min_value`), bumped up a step if it would
    lose more than 10% of `v`."""
    v, divisor = Fraction(v), Fraction(divisor)
    if divisor <= 0:
        raise CalcError("make_divisible: divisor must be positive")
    lo = divisor if min_value is None else Fraction(min_value)
    new = max(lo, int(v + divisor / 2) // divisor * divisor)
    if new < Fraction(9, 10) * v:
        new += divisor
    return _integral(new, "make_divisible")


def _integral(x: Number, what: str) -> int:
    x = Fraction(x)
    if x.denominator != 1:
        raise CalcError(f"{what} gave {x}, which is not whole")
    return int(x)


def _num(x: Any, fn: str) -> Number:
    if isinstance(x, bool) or not isinstance(x, (int, Fraction)):
        raise CalcError(f"{fn}() takes numbers, received {x!r}")
    return x


FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int, str]] = {
    # name: (function, min args, max args, doc)
    "round": (lambda x: _round_half_up(_num(x, "round")), 1, 1, "nearest integer, halves away from zero"),
    "floor": (lambda x: math.floor(_num(x, "floor")), 1, 1, "largest integer <= x"),
    "ceil": (lambda x: math.ceil(_num(x, "ceil")), 1, 1, "smallest integer >= x"),
    "int": (lambda x: math.trunc(_num(x, "int")), 1, 1, "drop the fraction (towards zero), as Python's int()"),
    "abs": (lambda x: abs(_num(x, "abs")), 1, 1, "absolute value"),
    "min": (lambda *a: min(_num(x, "min") for x in a), 1, 16, "smallest argument"),
    "max": (lambda *a: max(_num(x, "max") for x in a), 1, 16, "largest argument"),
    "make_divisible": (lambda v, d=8, m=None: make_divisible(_num(v, "make_divisible"), _num(d, "make_divisible"),
                                                             None if m is None else _num(m, "make_divisible")),
                       1, 3, "MobileNet channel rounding: make_divisible(v, divisor=8, min_value=divisor)"),
}
CONSTANTS: dict[str, Any] = {"true": True, "false": False}
#: Functions people write that mean one of FUNCTIONS, and ones with no counterpart here: an
#: unknown function is named for what it is, never matched to a different one by its spelling
#: (`sin` is not `min`).
FUNCTION_ALIASES = {"trunc": "int", "ceiling": "ceil", "minimum": "min", "maximum": "max", "fabs": "abs",
                    "make_divisable": "make_divisible", "_make_divisible": "make_divisible"}
UNSUPPORTED_FUNCTIONS = ("sqrt", "exp", "log", "log2", "log10", "pow", "sin", "cos", "tan", "sum", "prod",
                         "len", "range", "mod", "gcd", "lcm", "float", "str", "bool", "divmod")

#: `in.c` reads the input's shape. `in` is a Python keyword, so the text is rewritten before
#: parsing: `in.c` becomes the name `__in_c`, which no variable can be (they are checked words
#: that do not start with "__"). The graph builder puts these names into the environment.
IN_PREFIX = "__in_"
#: the attributes of `in`: H x W x C maps have h, w, c; sequences (L x C) l, c; vectors c
#: (L, as the kinds' formulas write a sequence's tokens: N is the batch)
IN_ATTRS: dict[str, str] = {"h": "height", "w": "width", "c": "channels (the last axis)",
                            "l": "tokens of a sequence (L x C)"}
#: the key under which the environment holds the input shape itself, for messages
IN_SHAPE = "__in_shape"
_IN_RE = re.compile(r"(?<![\w.])in\s*\.\s*([A-Za-z_]\w*)")
IN_HINT = "in.h, in.w and in.c read an H x W x C input; in.l and in.c a sequence (L x C); in.c a flat vector"


def in_attrs(shape: tuple[int, ...]) -> dict[str, int]:
    """The values `in.*` reads for an input of this shape (see IN_ATTRS)."""
    if len(shape) == 3:
        return {"h": shape[0], "w": shape[1], "c": shape[2]}
    if len(shape) == 2:
        return {"l": shape[0], "c": shape[1]}
    return {"c": shape[-1]} if shape else {}


def _rewrite_in(text: str) -> str:
    """`in.c // 2` -> `__in_c // 2`; an attribute other than h, w, c, l is refused here."""
    def sub(m: re.Match[str]) -> str:
        attr = m.group(1)
        if attr not in IN_ATTRS:
            raise CalcError(f"'in.{attr}' is not a property of the input", IN_HINT)
        return IN_PREFIX + attr
    return _IN_RE.sub(sub, text)


def _missing_in(name: str, env: Env) -> CalcError:
    """The error for `in.x` where the environment has no such value."""
    attr = name[len(IN_PREFIX):]
    shape = env.get(IN_SHAPE)
    if shape is None:
        return CalcError(f"'in.{attr}' cannot be read here",
                         "`in` is the input of the enclosing block (of the network, for top-level "
                         "layers): layer fields, block arguments, repeat, when and tables read it; "
                         "vars: cannot")
    return CalcError(f"'in.{attr}': the input here is {' x '.join(map(str, shape))}, which has no {IN_ATTRS[attr]}",
                     IN_HINT)


def _check_size(x: Any) -> Any:
    if isinstance(x, int):
        if x.bit_length() > MAX_BITS:
            raise CalcError(f"a number in this expression exceeds {MAX_BITS} bits")
    elif isinstance(x, Fraction):
        if x.numerator.bit_length() > MAX_BITS or x.denominator.bit_length() > MAX_BITS:
            raise CalcError(f"a number in this expression exceeds {MAX_BITS} bits")
    return x


def _arith(a: Any, b: Any, op: str) -> Any:
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
            raise CalcError(f"'{op}' needs numbers, received {v!r}")
    if op == "+":
        r = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    elif op in ("/", "//", "%"):
        if b == 0:
            raise CalcError("division by zero")
        r = Fraction(a) / b if op == "/" else (a // b if op == "//" else a % b)
    else:  # "**"
        if isinstance(b, Fraction) and b.denominator != 1:
            raise CalcError("'**' needs a whole exponent")
        b = int(b)
        if abs(b) > MAX_BITS or (a not in (0, 1, -1) and
                                 max(abs(Fraction(a)).numerator.bit_length(), 1) * abs(b) > MAX_BITS):
            raise CalcError(f"'**' would exceed {MAX_BITS} bits")
        if a == 0 and b < 0:
            raise CalcError("division by zero")
        r = Fraction(a) ** b if b < 0 else a ** b
    if isinstance(r, Fraction) and r.denominator == 1:
        r = int(r)
    return _check_size(r)


_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**"}


def _ordered(op: str, fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """An ordering comparison of numbers: a word or a list on either side is refused in words,
    rather than with Python's "'>' not supported between instances of 'str' and 'int'"."""
    def compare(a: Any, b: Any) -> bool:
        for v in (a, b):
            if not isinstance(v, (int, Fraction)):  # bool is an int: true > 0 holds
                raise CalcError(f"'{op}' compares numbers, received {describe(v)}",
                                "a variable holding a word (or a list) can be given to a field, not "
                                "ordered: give it a number, or true/false, to test it")
        return fn(a, b)
    return compare


_CMPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.Lt: _ordered("<", lambda a, b: a < b), ast.LtE: _ordered("<=", lambda a, b: a <= b),
    ast.Gt: _ordered(">", lambda a, b: a > b), ast.GtE: _ordered(">=", lambda a, b: a >= b)}


class Expression:
    """A compiled expression: its text, the variables it reads, and a function of an environment."""

    __slots__ = ("text", "names", "_fn")

    def __init__(self, text: str, names: frozenset[str], fn: Callable[[Env], Any]) -> None:
        self.text, self.names, self._fn = text, names, fn

    def __call__(self, env: Env) -> Any:
        try:
            return self._fn(env)
        except (OverflowError, MemoryError, RecursionError):
            raise CalcError(f"{_short(self.text)!r} is too large to evaluate") from None
        except (TypeError, ValueError) as e:  # e.g. comparing a word with a number
            raise CalcError(f"cannot evaluate {_short(self.text)!r}: {e}") from None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


_FLOAT_LITERAL = re.compile(r"^([0-9_]*\.?[0-9_]*)(?:[eE]([-+]?[0-9_]+))?$")


def _literal(src: str, node: ast.Constant) -> Fraction:
    """A decimal literal exactly as written: `0.75` is 3/4, `1e999` is 10**999 (Python reads it
    as inf, and `1e-999` as 0.0). An exponent too large for MAX_BITS is refused before the
    number is built."""
    text = (ast.get_source_segment(src, node) or "") if src else ""
    m = _FLOAT_LITERAL.match(text)
    if not m:  # no source to read it from: the float Python made of it
        return to_number(node.value)
    exp = int(m.group(2).replace("_", "")) if m.group(2) and len(m.group(2)) < 10 else None
    if m.group(2) and (exp is None or abs(exp) > MAX_BITS):  # 10**4096 is past 4,096 bits already
        raise CalcError(f"the number {_short(text)} exceeds {MAX_BITS} bits")
    return Fraction(text.replace("_", ""))


def _compile(node: ast.AST, names: set[str], depth: int, src: str = "") -> Callable[[Env], Any]:
    if depth > 50:
        raise CalcError("expression nests more than 50 levels deep")
    d = depth + 1
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CalcError(f"only numbers may be written in an expression, not {v!r}")
        v = _check_size(_literal(src, node) if isinstance(v, float) else v)
        return lambda env: v
    if isinstance(node, ast.Name):
        name = node.id
        if name in CONSTANTS:
            c = CONSTANTS[name]
            return lambda env: c
        names.add(name)

        def lookup(env: Env) -> Any:
            try:
                return env[name]
            except KeyError:
                if name.startswith(IN_PREFIX):
                    raise _missing_in(name, env) from None
                known = sorted(k for k in env if not k.startswith("_"))
                close = close_matches(name, known)
                hint = f"did you mean '{close[0]}'?" if close else (
                    f"known variables: {', '.join(known)}" if known else "define it under `vars:`")
                raise CalcError(f"unknown variable '{name}'", hint) from None
        return lookup
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        op = _BINOPS[type(node.op)]
        fa, fb = _compile(node.left, names, d, src), _compile(node.right, names, d, src)
        return lambda env: _arith(fa(env), fb(env), op)
    if isinstance(node, ast.UnaryOp):
        fa = _compile(node.operand, names, d, src)
        if isinstance(node.op, ast.USub):
            return lambda env: _arith(0, fa(env), "-")
        if isinstance(node.op, ast.UAdd):
            return lambda env: _arith(0, fa(env), "+")
        if isinstance(node.op, ast.Not):
            return lambda env: not fa(env)
    if isinstance(node, ast.Compare):
        parts = [_compile(node.left, names, d, src)] + [_compile(c, names, d, src) for c in node.comparators]
        ops = [_CMPS[type(o)] for o in node.ops if type(o) in _CMPS]
        if len(ops) != len(node.ops):
            raise CalcError("only ==, !=, <, <=, >, >= compare values")

        def compare(env: Env) -> bool:
            vals = [p(env) for p in parts]
            return all(op(vals[i], vals[i + 1]) for i, op in enumerate(ops))
        return compare
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, names, d, src) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: all(p(env) for p in parts)
        return lambda env: any(p(env) for p in parts)
    if isinstance(node, ast.IfExp):
        t, a, b = (_compile(x, names, d, src) for x in (node.test, node.body, node.orelse))
        return lambda env: a(env) if t(env) else b(env)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            fname = node.func.id if isinstance(node.func, ast.Name) else _short(ast.unparse(node.func))
            raise _unknown_function(fname)
        if node.keywords:
            raise CalcError(f"{node.func.id}() takes positional arguments only")
        fn, lo, hi, _ = FUNCTIONS[node.func.id]
        if not lo <= len(node.args) <= hi:
            raise CalcError(f"{node.func.id}() takes {lo}{'' if lo == hi else f' to {hi}'} arguments, "
                            f"received {len(node.args)}")
        args = [_compile(a, names, d, src) for a in node.args]
        return lambda env: _check_size(fn(*(a(env) for a in args)))
    what = type(node).__name__
    shown = _short(ast.unparse(node)) if hasattr(ast, "unparse") else what
    if isinstance(node, ast.Attribute):
        raise CalcError(f"'{shown}' is not allowed in an expression",
                        "only the input's shape is read with a dot: " + IN_HINT)
    raise CalcError(f"'{shown}' is not allowed in an expression",
                    "expressions hold numbers, variables, + - * / // % **, comparisons, "
                    "`a if cond else b` and the functions " + ", ".join(FUNCTIONS))


def _unknown_function(name: str) -> CalcError:
    """The error for a call of a function that is not in FUNCTIONS."""
    listing = f"the functions are {', '.join(FUNCTIONS)}"
    if name in FUNCTION_ALIASES:
        return CalcError(f"unknown function '{name}'", f"here it is called {FUNCTION_ALIASES[name]}()")
    if name in UNSUPPORTED_FUNCTIONS:
        extra = "; write x ** n for a power" if name == "pow" else "; write a % b" if name == "mod" else ""
        return CalcError(f"function '{name}' is not supported in expressions", listing + extra)
    from .errors import typo_of
    typo = typo_of(name, FUNCTIONS)
    if typo is not None:
        return CalcError(f"unknown function '{name}'", f"did you mean '{typo}'?")
    return CalcError(f"unknown function '{name}'", listing)


def _short(text: str, width: int = 60) -> str:
    """An expression as quoted in a message: long ones cut, so the error fits on a line."""
    return text if len(text) <= width else text[: width - 3] + "..."


_CACHE: dict[str, Expression] = {}


def compile_expr(text: str) -> Expression:
    """Parse and whitelist-check `text` once; later calls with the same text hit the cache."""
    hit = _CACHE.get(text)
    if hit is not None:
        return hit
    if len(text) > MAX_EXPR_CHARS:
        raise CalcError(f"expression is {len(text)} characters long (limit {MAX_EXPR_CHARS})")
    source = _rewrite_in(text) if "in" in text else text
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        hint = ("the input's shape is read as " + IN_HINT if re.search(r"(?<![\w.])in(?!\w)", text) else
                "write numbers and variables with + - * / and functions, e.g. 64 * alpha")
        raise CalcError(f"cannot read {_short(text)!r} as an expression ({e.msg})", hint) from None
    except (ValueError, RecursionError, MemoryError):
        raise CalcError(f"cannot read {text[:60]!r} as an expression") from None
    names: set[str] = set()
    expr = Expression(text, frozenset(), _compile(tree.body, names, 0, text.strip()))
    expr.names = frozenset(names)
    if len(_CACHE) < 100_000:
        _CACHE[text] = expr
    return expr


def evaluate(text: str, env: Env) -> Any:
    """Compile (cached) and evaluate `text` in `env`."""
    return compile_expr(text)(env)
