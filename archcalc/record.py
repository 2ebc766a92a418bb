"""Value classes without `dataclasses`, for the modules every command imports.

Creating a dataclass compiles its methods with `exec`: 0.6 to 0.9 ms each on this machine, and
`archcalc summarize` imported sixteen of them, a third of the time it may spend beyond importing
click, rich and yaml (issue 7, benchmarks/bench_startup.py). A `Record` declares `__slots__` and
its own `__init__` (also the fastest constructor on the walk's hot path); equality and repr
follow the slots as a dataclass's would, and a `Frozen` record also hashes by them. Frozen is a
promise, not a guard: nothing assigns to a frozen record after its `__init__`.
"""

from __future__ import annotations

from typing import Any


class Record:
    """Equality and repr by `__slots__`, in order (declare them on the subclass)."""

    __slots__ = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable: unhashable, as an eq=True dataclass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"


class Frozen(Record):
    """A record that is never changed after construction, so it may be hashed."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values())
