"""The `Kind` contract: everything one layer kind knows, in one class.

A kind declares its fields (which drive spec validation, `archcalc kinds` and the JSON
Schema), and answers, for given input shapes: the output shape, the weight tensors
(parameters are derived from them), the MACs as a `Formula`, and other operations by
category. Defining a subclass with a `name` registers it: adding a kind is one class.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any, ClassVar

from ..calc import CalcError, approx, compile_expr, to_number
from ..errors import KindError, close_matches, describe, typo_of
from ..formula import ZERO, Formula, prod, q
from ..record import Frozen
from ..shape import Shape, fmt

#: Categories of operations that are not kernel MACs, reported in their own columns.
OTHER_OPS: dict[str, str] = {
    "bias_adds": "one add per output element of a conv, dense or linear layer (and attention projection) with bias",
    "comparisons": "max pooling (K - 1 per output), ReLU (1 per element), ReLU6 (2 per element), leaky ReLU",
    "elementwise_adds": "residual adds ((inputs - 1) per element), average-pool sums (K - 1 per output), "
                        "position embeddings, window attention's position bias and shift mask (1 per score)",
    "multiplies": "non-kernel multiplies and divides: average pooling's 1/K, bilinear weights, multiply, "
                  "layer scale, leaky slopes, attention's 1/sqrt(d) on Q, matmul's scale",
    "normalization": "BatchNorm (2 per element: x·a + b once folded), LRN (2·size + 3 per element), "
                     "LayerNorm and GroupNorm (5 per element, + 2 with gamma and beta)",
    "activations": "function evaluations: sigmoid, tanh, hard-swish, SiLU, GELU, softmax (1 per element; "
                   "attention: 1 per score)",
}

REQUIRED: Any = object()


class FieldError(Exception):
    """A field value of the wrong type or range; the caller adds the location."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def resolve(raw: Any, env: Any, *, words: tuple[str, ...] = ()) -> Any:
    """A raw YAML value -> a value: text is an expression over the spec's variables,
    except the given keywords (`same`, `max`, ...) and bare words naming no variable."""
    if isinstance(raw, str):
        s = raw.strip()
        if s in words:
            return s
        try:
            expr = compile_expr(s)
        except CalcError as e:
            raise FieldError(e.message, e.hint) from None
        if s.isidentifier() and s not in env:
            if words:
                close = close_matches(s, words)
                raise FieldError(f"received '{s}'", f"did you mean '{close[0]}'?" if close
                                 else f"expected one of: {', '.join(words)}")
            return expr(env) if not words else s  # raises "unknown variable"
        try:
            return expr(env)
        except CalcError as e:
            raise FieldError(e.message, e.hint) from None
    return to_number(raw)


class Field(Frozen):
    """One field of a kind: its type, default and meaning."""

    __slots__ = ("type", "default", "doc", "min", "max", "choices", "name")

    def __init__(self, type: str, default: Any = REQUIRED, doc: str = "", min: int | Fraction = 1,
                 max: int | Fraction | None = None, choices: tuple[str, ...] = (), name: str = "") -> None:
        self.type = type          # int | pair | padding | bool | real | choice
        self.default, self.doc, self.min, self.max, self.choices = default, doc, min, max, choices
        self.name = name          # set from the kind's dict key when left empty

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def convert(self, raw: Any, env: Any) -> Any:
        """Validate one raw value against this field, evaluating expressions in `env`."""
        return _CONVERT[self.type](self, raw, env)

    def describe_type(self) -> str:
        return {
            "int": f"integer >= {self.min}",
            "pair": f"integer >= {self.min} or [h, w]",
            "padding": "valid | same | int | [h, w] | [top, bottom, left, right]",
            "bool": "true | false",
            "real": f"number in [{self.min}, {self.max}]" if self.max is not None else f"number >= {self.min}",
            "choice": " | ".join(self.choices),
        }[self.type]


#: The largest integer a field (a size, a count, an input dimension) may hold. With it,
#: every figure of a layer stays far inside a float's range, where it is printed.
MAX_INT = 2**63 - 1
_NxN = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*$")
_YAML_BOOL = "YAML reads yes, no, on, off, true and false as booleans"


def _int(f: Field, raw: Any, env: Any, what: str | None = None) -> int:
    m = _NxN.match(raw) if isinstance(raw, str) else None
    if m:  # `kernel: 3x3` is text to YAML (and would be a syntax error as an expression)
        h, w = m.groups()
        raise FieldError(f"expected an integer{' or [h, w]' if f.type == 'pair' else ''}, received {describe(raw)}",
                         f"write [{h}, {w}]" + (f" (or {h} for a square window)" if h == w else "")
                         if f.type == "pair" else "write one whole number")
    v = resolve(raw, env) if isinstance(raw, str) else raw
    if isinstance(v, bool):
        which = f", which is {describe(v)}" if v is not raw else ""  # a variable holding a boolean
        raise FieldError(f"expected an integer, received {describe(raw)}{which}",
                         f"{_YAML_BOOL}: write a whole number such as 3")
    if v is None or isinstance(v, (str, list, dict)):
        which = f", which is {describe(v)}" if v is not raw else ""  # a variable holding a word
        raise FieldError(f"expected an integer, received {describe(raw)}{which}",
                         "write a whole number such as 3" + (", or [h, w]" if f.type == "pair" else ""))
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise FieldError(f"expected an integer, received {raw!r} (not a finite number)")
        raise FieldError(f"expected an integer, received {describe(raw)}",
                         f"write {int(raw)}" if raw == int(raw) else "use round(), floor() or ceil()")
    if isinstance(v, Fraction):
        if v.denominator != 1:
            raise FieldError(f"expected an integer, but {raw!r} is {_short_fraction(v)} (= {approx(v)})",
                             f"wrap it: round({raw}), floor({raw}) or ceil({raw})")
        v = int(v)
    if not isinstance(v, int):
        raise FieldError(f"expected an integer, received {describe(raw)}")
    if v < f.min:
        raise FieldError(f"must be at least {f.min}, received {_short(v)}")
    if f.max is not None and v > f.max:
        raise FieldError(f"must be at most {f.max}, received {_short(v)}")
    if v > MAX_INT:
        raise FieldError(f"{_short(v)} is larger than the largest size archcalc accepts, 2^63 - 1",
                         "no layer has that many elements: is an exponent or a unit wrong?")
    return v


def _short(v: int) -> str:
    s = str(v)
    return s if len(s) <= 24 else f"{s[:8]}...{s[-4:]} ({len(s)} digits)"


def _short_fraction(v: Fraction) -> str:
    """`2/3`, or for an exact value of hundreds of digits `1/3 of 45097...4096 (331 digits)`."""
    return str(v) if len(str(v)) <= 40 else f"{_short(v.numerator)}/{_short(v.denominator)}"


def _pair(f: Field, raw: Any, env: Any) -> tuple[int, int]:
    if isinstance(raw, str) and raw.strip().isidentifier():
        v = resolve(raw, env)
        if isinstance(v, (list, tuple)):  # a variable holding [h, w]
            raw = list(v)
    if isinstance(raw, (list, tuple)):
        if len(raw) != 2:
            raise FieldError(f"expected one integer or [h, w], received a list of {len(raw)}")
        return (_int(f, raw[0], env), _int(f, raw[1], env))
    v = _int(f, raw, env)
    return (v, v)


def _padding(f: Field, raw: Any, env: Any) -> Any:
    zero = Field("int", min=0)
    if isinstance(raw, list):
        if len(raw) not in (2, 4):
            raise FieldError(f"padding lists are [h, w] or [top, bottom, left, right], received {len(raw)} values")
        return tuple(_int(zero, x, env) for x in raw)
    v = resolve(raw, env, words=("valid", "same")) if isinstance(raw, str) else raw
    if v in ("valid", "same"):
        return v
    if isinstance(v, (list, tuple)):
        return _padding(f, list(v), env)
    try:
        return _int(zero, v, env)
    except FieldError as e:
        raise FieldError(e.message.replace("expected an integer", "expected valid, same or an integer"),
                         "padding: valid | same | p | [p_h, p_w] | [top, bottom, left, right]") from None


def _bool(f: Field, raw: Any, env: Any) -> bool:
    v = resolve(raw, env) if isinstance(raw, str) else raw
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1) and isinstance(raw, str):
        return bool(v)
    raise FieldError(f"expected true or false, received {describe(raw)}")


def _real(f: Field, raw: Any, env: Any) -> Fraction:
    v = resolve(raw, env) if isinstance(raw, str) else to_number(raw)
    if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
        raise FieldError(f"expected a number, received {describe(raw)}")
    v = Fraction(v)
    if v < f.min or (f.max is not None and v > f.max):
        hi = f", at most {f.max}" if f.max is not None else ""
        raise FieldError(f"must be at least {f.min}{hi}, received {approx(v)}")
    return v


def _choice(f: Field, raw: Any, env: Any) -> str:
    v = resolve(raw, env, words=f.choices) if isinstance(raw, str) else raw
    if v not in f.choices:
        raise FieldError(f"expected one of {', '.join(f.choices)}, received {describe(raw)}")
    return v


_CONVERT: dict[str, Callable[[Field, Any, Any], Any]] = {
    "int": _int, "pair": _pair, "padding": _padding, "bool": _bool, "real": _real, "choice": _choice,
}


class Weight(Frozen):
    """A weight tensor: its dimensions as named quantities, so the count explains itself."""

    __slots__ = ("name", "dims", "trainable")

    def __init__(self, name: str, dims: tuple[Formula, ...], trainable: bool = True) -> None:
        self.name, self.dims, self.trainable = name, dims, trainable

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.value for d in self.dims)

    @property
    def count(self) -> Formula:
        return prod(*self.dims)


#: Bytes of a saved tensor's element types other than the values' own ("value": the analysis dtype,
#: or the half type under --amp): statistics torch keeps in float32 whatever the values' type,
#: max pooling's int64 indices, a bool mask.
ELEMENT_BYTES: dict[str, int] = {"float32": 4, "int64": 8, "bool": 1}
#: How a torch op string says that the op runs in place: `ReLU(inplace=True)`, `F.relu(inplace=True)`.
INPLACE = "(inplace=True)"


class Saved(Frozen):
    """A tensor autograd keeps for a layer's backward (what `saved_tensors_hooks` sees in torch).

    `source` says whose memory it is: an input's index (the storage that input lives in, so that two
    layers saving one tensor keep it once), "output" (this layer's own output), or "new" (a tensor of
    its own: `elements` values per sample, or in all when not `per_sample`, of type `dtype`: "value"
    or a key of ELEMENT_BYTES). `what` names it in --explain: "input", "indices", "mean" ...
    """

    __slots__ = ("source", "elements", "dtype", "per_sample", "what")

    def __init__(self, source: int | str, elements: Formula | None = None, dtype: str = "value",
                 per_sample: bool = True, what: str = "") -> None:
        self.source, self.elements, self.dtype, self.per_sample = source, elements, dtype, per_sample
        self.what = what or (f"input {source}" if isinstance(source, int) and source else
                             "input" if source == 0 else str(source))


def saved_input(i: int = 0, what: str = "") -> Saved:
    """Input i as it is: the storage it lives in (a view's or an in-place result's is its base's)."""
    return Saved(i, what=what)


def saved_output(what: str = "result") -> Saved:
    """The layer's own output (its storage: the input's, for an in-place op)."""
    return Saved("output", what=what)


def saved_new(elements: Formula, what: str, dtype: str = "value", per_sample: bool = True) -> Saved:
    """A tensor made for the backward alone: a copy, indices, statistics, a mask or noise."""
    return Saved("new", elements, dtype, per_sample, what)


class Call(Frozen):
    """How torch runs one layer in a training pass: what its saved tensors and backward depend on.

    `op` is the torch op computing it (`profiles.TORCH_DEFAULT`, or the spec's `torch_ops:`); `grads`
    says, per input, whether that input needs a gradient (some layer before it has trainable weights);
    `batch` is N; `strided` says, per input, whether it is a transposed view (`tokens`), which torch
    copies before a Linear multiplies it.
    """

    __slots__ = ("op", "grads", "batch", "strided")

    def __init__(self, op: str, grads: tuple[bool, ...], batch: int = 1, strided: tuple[bool, ...] = ()) -> None:
        self.op, self.grads, self.batch = op, grads, batch
        self.strided = strided or (False,) * len(grads)

    @property
    def inplace(self) -> bool:
        """Whether the op runs in place (written `...(inplace=True)`)."""
        return self.op.endswith(INPLACE)


REGISTRY: dict[str, type[Kind]] = {}


class Kind:
    """Base class of layer kinds. Subclasses set `name`, `fields` and override the methods."""

    name: ClassVar[str] = ""
    fields: ClassVar[dict[str, Field]] = {}
    #: (fewest, most) inputs; most None = any number
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    #: kinds the spec author may not write (the graph's input)
    internal: ClassVar[bool] = False

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for fname, fld in cls.fields.items():
            if not fld.name:
                object.__setattr__(fld, "name", fname)
        if "name" in cls.__dict__ and cls.name:
            if cls.name in REGISTRY:
                raise RuntimeError(f"layer kind {cls.name!r} defined twice")
            REGISTRY[cls.name] = cls

    def __init__(self, **values: Any) -> None:
        for k, v in values.items():
            setattr(self, k, v)

    def values(self) -> dict[str, Any]:
        """The field values, for JSON and the executor."""
        return {k: getattr(self, k) for k in self.fields}

    # --- the contract -------------------------------------------------------------------
    def out_shape(self, ins: list[Shape]) -> Shape:
        raise NotImplementedError(f"{self.name}: out_shape")

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        return []

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        """Multiply-accumulates of kernels (conv, dense, linear) and of products of activations
        (attention, matmul), bias excluded; 0 for other kinds."""
        return ZERO

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        """Operations that are not kernel MACs, keyed by a category of OTHER_OPS."""
        return {}

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        """How the output shape follows from the input (for --explain)."""
        return f"{' , '.join(fmt(s) for s in ins)} -> {fmt(out)}"

    # --- a training pass (archcalc.training) ---------------------------------------------
    #: whether the output is a transposed view of the input (torch copies it before a Linear)
    strided: ClassVar[bool] = False
    #: whether the backward hands its inputs views of its output's gradient (a reshape, an add, a
    #: concatenation) instead of making new gradient buffers
    grad_is_view: ClassVar[bool] = False
    #: inputs read for their shape alone (a crop's second input, which gives its size): autograd sends
    #: them no gradient
    shape_only: ClassVar[tuple[int, ...]] = ()

    def output_storage(self, call: Call) -> str:
        """Where torch puts the output: "new" memory, or the first input's own, as a "view" of it or
        changed "inplace" (which PyTorch allows only when no layer before has saved that input)."""
        return "new"

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """What autograd keeps for this layer's backward, as torch op `call.op` computes it
        (measured: tests/measured/saved_kinds.py). Asked only of a layer autograd records: one
        with trainable weights, or reading something that needs a gradient. Every kind says."""
        raise NotImplementedError(f"{self.name}: what autograd saves for it")

    def backward_macs(self, ins: list[Shape], out: Shape, call: Call) -> tuple[Formula, Formula]:
        """(MACs of the gradients of its activations, MACs of its weights' gradients): the gradient
        of an input that needs none (`call.grads`) is not computed. A kind without MACs has no
        backward MACs; a kind with MACs must say."""
        if type(self).macs is not Kind.macs:
            raise NotImplementedError(f"{self.name}: the MACs of its backward")
        return ZERO, ZERO

    # --- helpers for subclasses ---------------------------------------------------------
    @staticmethod
    def elements(shape: Shape, prime: bool = True) -> Formula:
        """H'·W'·C' of an output (or H·W·C of an input; L'·C' of a sequence of tokens), as a formula."""
        p = "'" if prime else ""
        if len(shape) == 3:
            return prod(q(f"H{p}", shape[0]), q(f"W{p}", shape[1]), q(f"C{p}", shape[2]))
        if len(shape) == 2:
            return prod(q(f"L{p}", shape[0]), q(f"C{p}", shape[1]))
        return q(f"n{p}", shape[0])


def lookup(name: str, blocks: tuple[str, ...] = ()) -> type[Kind]:
    """The kind class for a name, or a KindError saying what the name means (`unknown_kind`)."""
    cls = REGISTRY.get(name)
    if cls is None or cls.internal:
        raise unknown_kind(name, blocks)
    return cls


def unknown_kind(name: str, blocks: tuple[str, ...] = ()) -> KindError:
    """The error for a `kind:` that is neither a kind nor one of `blocks`.

    A name people use for a definite function (archcalc.vocab) gets archcalc's kind for that
    same function, or is said to be unsupported; spelling decides only for other names, and
    only a typo (one edit, two in names of eight letters or more: `covn`, `batchnrom`) gets a
    did-you-mean. Otherwise every kind is listed, whole, and the spec's first blocks
    (errors.MAX_LISTED of them, then how many).
    """
    from ..errors import MAX_LISTED
    from ..vocab import meaning, normalise
    names = sorted(k for k, c in REGISTRY.items() if not c.internal)
    more = f", ... ({len(blocks):,} in all)" if len(blocks) > MAX_LISTED else ""  # 3,000 blocks: 12 of them
    listing = (f"the kinds are {', '.join(names)}"
               + (f"; the blocks of this spec: {', '.join(blocks[:MAX_LISTED])}{more}" if blocks else "")
               + " (`archcalc kinds NAME` describes one)")
    low = normalise(name)
    if low in names or low in blocks:
        return KindError(f"unknown layer kind '{name}'", hint=f"kinds and blocks are written as defined: '{low}'")
    known = meaning(name)
    if known is not None:
        targets, what = known
        have = [t for t in targets if t in REGISTRY and not REGISTRY[t].internal]
        if have:
            return KindError(f"unknown layer kind '{name}'", hint=f"archcalc's kind for {what} is '{have[0]}'")
        return KindError(f"unknown layer kind '{name}': archcalc does not support {what}", hint=listing)
    typo = typo_of(name, (*names, *blocks))
    if typo is not None:
        return KindError(f"unknown layer kind '{name}'", hint=f"did you mean '{typo}'?")
    return KindError(f"unknown layer kind '{name}': not a kind archcalc supports, nor a block of this spec",
                     hint=listing)


def count(dims: tuple[int, ...]) -> int:
    return math.prod(dims)
