"""Integers that remember how they were written.

A kind returns its MACs as `prod(q("H'", 28), q("W'", 28), q("n_c'", 32), prod(q("f", 5), ...))`;
the walker sums `.value`, and `--explain` prints `.symbolic()` and `.numeric()` of the very
same object (`H'·W'·n_c'·(f·f·n_c) = 28·28·32·(5·5·192) = 120,422,400`), so a figure and
its formula cannot drift apart.
"""

from __future__ import annotations


class Formula:
    """Base: a non-negative integer `value` with a symbolic and a numeric rendering."""

    __slots__ = ("value",)
    value: int

    def symbolic(self) -> str:
        raise NotImplementedError

    def numeric(self) -> str:
        raise NotImplementedError

    def explain(self) -> str:
        """`sym = numbers = value`, dropping steps that add nothing."""
        sym, num, val = self.symbolic(), self.numeric(), f"{self.value:,}"
        parts = [sym]
        if num != sym:
            parts.append(num)
        if val.replace(",", "") != num:
            parts.append(val)
        return " = ".join(parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.explain()}>"


class Q(Formula):
    """A named quantity: `q("n_c", 192)`."""

    __slots__ = ("sym",)

    def __init__(self, sym: str, value: int) -> None:
        self.sym, self.value = sym, value

    def symbolic(self) -> str:
        return self.sym

    def numeric(self) -> str:
        return str(self.value)


class Prod(Formula):
    """A product; a nested product renders in parentheses, as the notes group `(5·5·192)`."""

    __slots__ = ("factors",)

    def __init__(self, factors: tuple[Formula, ...]) -> None:
        self.factors = factors
        v = 1
        for f in factors:
            v *= f.value
        self.value = v

    def _join(self, attr: str) -> str:
        out = []
        for f in self.factors:
            s = getattr(f, attr)()
            nested = isinstance(f, (Prod, Sum))  # both always hold two or more parts
            out.append(f"({s})" if nested else s)
        return "·".join(out)

    def symbolic(self) -> str:
        return self._join("symbolic")

    def numeric(self) -> str:
        return self._join("numeric")


class Sum(Formula):
    """A sum of terms (e.g. weights + bias)."""

    __slots__ = ("terms",)

    def __init__(self, terms: tuple[Formula, ...]) -> None:
        self.terms = terms
        self.value = sum(t.value for t in terms)

    def symbolic(self) -> str:
        return " + ".join(t.symbolic() for t in self.terms)

    def numeric(self) -> str:
        return " + ".join(t.numeric() for t in self.terms)


ZERO = Q("0", 0)


def q(sym: str, value: int) -> Q:
    return Q(sym, value)


def prod(*factors: Formula) -> Formula:
    """Product of factors; factors equal to the literal ZERO collapse it."""
    if len(factors) == 1:
        return factors[0]
    return Prod(factors)


def total(*terms: Formula) -> Formula:
    """Sum of terms, leaving out zeros; an empty sum is ZERO."""
    kept = tuple(t for t in terms if t is not ZERO)
    if not kept:
        return ZERO
    if len(kept) == 1:
        return kept[0]
    return Sum(kept)


def scaled(factor: Formula, f: Formula) -> Formula:
    """`factor·f` with f's own factors kept at the same level: N·H'·W'·... rather than N·(H'·W'·...)."""
    if isinstance(f, Prod):
        return Prod((factor, *f.factors))
    return prod(factor, f)
