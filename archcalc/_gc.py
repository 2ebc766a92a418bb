"""Pause the cyclic garbage collector while a spec is read, expanded and walked.

Those phases allocate millions of small objects and keep nearly all of them (nodes, rows,
formulas), and they make no reference cycles. Each allocation burst starts a collection
that re-scans everything still alive, so the collector's work grows with the graph: on a
100,000-layer graph it took three quarters of the time (benchmarks/bench_analytic.py).
Whatever garbage is made meanwhile is collected once the collector is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with the collector off (and restore it, also on error)."""
    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return run
