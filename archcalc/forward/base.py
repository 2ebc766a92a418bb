"""The executor's contract: the counting `Tally`, the `Forward` record and its registry, and the
executor's own window geometry (so a bug in shape.py shows up as a disagreement, not twice)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: weight name -> (shape, trainable)
WeightShapes = dict[str, tuple[tuple[int, ...], bool]]


class GeometryError(Exception):
    """An input the forward cannot slide over (the executor adds the layer's location)."""


class Tally:
    """The executor's only way to multiply: counts scalar multiplications from operand shapes.

    `macs` counts kernel multiply-accumulates (conv, depthwise, dense, linear) and products of two
    activations (attention's Q·K^T and weights·V, `matmul`); `other_mults` counts
    multiplications that are not kernel MACs (BatchNorm and average-pool scaling, LRN,
    bilinear weights, hard-swish), kept apart as the analytic `other_ops` are.
    """

    def __init__(self) -> None:
        self.macs = 0
        self.other_mults = 0

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(..., k) @ (k, n): each of the prod(...)·n outputs costs k multiplications.

        A contiguous stack is multiplied as one (prod(...), k) matrix: NumPy's matmul would call
        BLAS once per row of the stack (a linear on a 56 x 56 map: 56 small products, not one)."""
        if b.ndim != 2 or a.shape[-1] != b.shape[0]:
            raise ValueError(f"matmul of {a.shape} by {b.shape}")
        rows = math.prod(a.shape[:-1])
        self.macs += rows * a.shape[-1] * b.shape[1]
        if a.ndim > 2 and a.flags.c_contiguous and (out is None or out.flags.c_contiguous):
            flat = np.matmul(a.reshape(rows, a.shape[-1]), b,
                             out=None if out is None else out.reshape(rows, b.shape[1]))
            return flat.reshape(*a.shape[:-1], b.shape[1]) if out is None else out
        return np.matmul(a, b, out=out)

    def bmm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Batched product of two activations, (..., m, k) @ (..., k, n) with broadcast batch axes
        (attention's Q·K^T and weights·V): each of the batch·m·n outputs costs k multiplications."""
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"batched matmul of {a.shape} by {b.shape}")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        self.macs += math.prod(batch) * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return np.matmul(a, b, out=out)

    def mul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Element-wise kernel multiply (depthwise taps): one MAC per element of the product."""
        self.macs += math.prod(np.broadcast_shapes(a.shape, b.shape))
        return np.multiply(a, b, out=out)

    def einsum(self, subscripts: str, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None,
               other: bool = False) -> np.ndarray:
        """Two-operand sum of products ('ab,bc->ac' style, explicit output): NumPy's einsum loop
        multiplies once per combination of all the indices, so that product is the count. `other`:
        the products are no kernel MACs (a normalisation's squares) and count in `other_mults`."""
        extent: dict[str, int] = {}
        for subs, arr in zip(subscripts.split("->")[0].split(","), (a, b), strict=True):
            for ch, n in zip(subs, arr.shape, strict=True):
                if extent.setdefault(ch, n) != n:
                    raise ValueError(f"einsum {subscripts} of {a.shape} and {b.shape}")
        if other:
            self.other_mults += math.prod(extent.values())
        else:
            self.macs += math.prod(extent.values())
        return np.einsum(subscripts, a, b, out=out)

    def scale(self, a: np.ndarray, b: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Element-wise multiply that is not a kernel MAC (counted in `other_mults`)."""
        self.other_mults += math.prod(np.broadcast_shapes(np.shape(a), np.shape(b)))
        return np.multiply(a, b, out=out)

    def divide(self, a: np.ndarray, b: Any, out: np.ndarray | None = None) -> np.ndarray:
        """a times the reciprocal of b, as one division per value (SiLU's x·1/(1 + e^-x)): the
        product it stands for is counted as `scale` counts it; the division spares a pass."""
        self.other_mults += math.prod(np.broadcast_shapes(np.shape(a), np.shape(b)))
        return np.divide(a, b, out=out)


def _copy_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """Default scratch of a forward: one more array the size of its largest input or output
    (a padded copy, a temporary), over the whole batch (shapes here include it)."""
    return max(math.prod(s) for s in (*ins, out)) * itemsize


def _rows_merge(x: np.ndarray) -> bool:
    """Whether x's axes but the last merge into one without a copy (a C-contiguous array, a
    channel slice of one; not a crop), so that x.reshape(-1, C) is a view of it."""
    for i in range(x.ndim - 2):
        if x.shape[i + 1] > 1 and x.strides[i] != x.strides[i + 1] * x.shape[i + 1]:
            return False
    return True


def same_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The output shape of an element-wise forward: its first input's."""
    return ins[0]


@dataclass(frozen=True)
class Forward:
    """One kind's forward: `fn(t, kind, xs, ws[, own])`, and what the executor plans before it
    allocates anything: its output shape, weight shapes and scratch bytes, each worked out by
    arithmetic from the input shapes (batch first, as the arrays' shapes), never by running it.

    `inplace` forwards take `own`: True when nothing else will read `xs[0]`, so they may write
    their output over it (the executor decides, from liveness; see execute.py), and then return
    it; `inplace` may be a function of (kind, input shapes) saying whether the forward writes
    over its first input when it may (a product whose first input is the smaller cannot). A
    `view` forward returns its input or a view of it (dropout, a channel slice), so it holds no
    new buffer; a `strided` view may not be C-contiguous (a slice, a crop). A `reshapes` forward
    (flatten, tokens) returns a view of a C-contiguous input, and of a strided one a copy or a
    strided view (as NumPy's reshape can). Every other forward returns a new C-contiguous array
    (NumPy's element-wise results are: every array here keeps its axes in C order). The plan
    follows which values share a buffer and which are C-contiguous by these declarations, and
    the run checks them.

    `shape` raises GeometryError for an input the forward cannot take, as running it would. A
    forward that declares none (`shape=None`) is planned the old way, by running it on an empty
    batch, which may allocate or loop by the input's size: every forward should declare one
    (`test_every_forward_plans_by_arithmetic` lists those that do not).

    `column_major` names 2-D weights the executor stores transposed in memory (same shape and
    values, Fortran order): BLAS then reads a (C, C') kernel as torch keeps nn.Linear's, (C', C)
    row by row, which multiplies a sequence of tokens 4 to 9% faster here (ViT-B/16's
    projections, OpenBLAS 0.3.31).
    """

    fn: Callable[..., np.ndarray]
    weights: Callable[[Any, list[tuple[int, ...]]], WeightShapes]
    scratch: Callable[[Any, list[tuple[int, ...]], tuple[int, ...], int], int] = _copy_scratch
    inplace: bool | Callable[[Any, list[tuple[int, ...]]], bool] = False
    shape: Callable[[Any, list[tuple[int, ...]]], tuple[int, ...]] | None = None
    view: bool = False
    strided: bool = False
    reshapes: bool = False
    column_major: frozenset[str] = frozenset()

    def writes_over(self, kind: Any, ins: list[tuple[int, ...]]) -> bool:
        """Whether the forward writes its output over its first input when `own` says it may."""
        return self.inplace(kind, ins) if callable(self.inplace) else self.inplace

    def run(self, t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray],
            own: bool = False) -> np.ndarray:
        """Values follow IEEE arithmetic (random weights may overflow an exp, as a sigmoid's exp(-x)
        for x << 0, whose 1 / (1 + inf) is the 0 wanted; an LRN of k = 0 may divide 0 by 0): inf
        and NaN are results, not warnings printed with our source, for every caller."""
        with np.errstate(all="ignore"):
            return self.fn(t, kind, xs, ws, own) if self.inplace is not False else self.fn(t, kind, xs, ws)


FORWARDS: dict[str, Forward] = {}


def _no_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {}


def forward(*names: str, weights: Callable[..., WeightShapes] = _no_weights,
            scratch: Callable[..., int] = _copy_scratch, inplace: bool | Callable[..., bool] = False,
            shape: Callable[..., tuple[int, ...]] | None = None, view: bool = False,
            strided: bool = False, reshapes: bool = False, column_major: tuple[str, ...] = ()) -> Callable[..., Any]:
    """Register `fn` as the forward of the kinds `names` (see `Forward` for the rest)."""
    def deco(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        for n in names:
            FORWARDS[n] = Forward(fn, weights, scratch, inplace, shape, view or strided, strided, reshapes,
                                  frozenset(column_major))
        return fn
    return deco


def joined(xs: list[np.ndarray], axis: int, stack: bool = False) -> np.ndarray:
    """np.concatenate (np.stack) into a new C-contiguous array. Left to itself NumPy lays the result
    out as its inputs are laid out, and inputs with axes of size 1 or broadcast ones (a class token
    over the batch) can give a strided result that the plan did not count a copy of."""
    shape = list(xs[0].shape)
    if stack:
        shape.insert(axis % (len(shape) + 1), len(xs))
    else:
        shape[axis] = sum(x.shape[axis] for x in xs)
    out = np.empty(shape, np.result_type(*xs))
    return (np.stack if stack else np.concatenate)(xs, axis=axis, out=out)


def _no_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    return 0


# --- geometry (the executor's own, so a bug in shape.py shows up as a disagreement) ------------

def _pads(padding: Any, h: int, w: int, k: tuple[int, int], s: tuple[int, int],
          d: tuple[int, int] = (1, 1)) -> tuple[int, int, int, int]:
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":  # TensorFlow: output ceil(n/s), the odd pixel after
        out = []
        for n, f, st, dl in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
            need = max((-(-n // st) - 1) * st + dl * (f - 1) + 1 - n, 0)
            out += [need // 2, need - need // 2]
        return tuple(out)  # type: ignore[return-value]
    if isinstance(padding, int):
        return (padding,) * 4
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    return tuple(padding)


def _positions(n: int, lo: int, hi: int, f: int, s: int, d: int = 1, ceil: bool = False) -> int:
    """How many window starts fit: start k·s, window d·(f-1)+1 wide, inside n + lo + hi.

    The largest k with k·s + eff <= span, by division: counting them one at a time took 86 s for
    an input of 10^9 rows before the executor said anything (issue 15)."""
    span, eff = n + lo + hi, d * (f - 1) + 1
    if eff > span:
        raise GeometryError(f"a window of {eff} does not fit in {n} + {lo + hi} padding")
    count = (span - eff) // s + 1
    if ceil:  # PyTorch's ceil_mode: one more (partial) window if any is left over, then the last
        if (count - 1) * s + eff < span:  # window is dropped (once) if it starts in the trailing padding
            count += 1
        if (count - 1) * s >= n + lo:
            count -= 1
    return count


def _slide(xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int], ho: int, wo: int):
    """Yield ((i, j), view): the input positions tap (i, j) of every window reads, as a strided view."""
    for i in range(k[0]):
        for j in range(k[1]):
            yield (i, j), xp[:, i * d[0]: i * d[0] + (ho - 1) * s[0] + 1: s[0],
                             j * d[1]: j * d[1] + (wo - 1) * s[1] + 1: s[1], :]


def _prepare(x: np.ndarray, padding: Any, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
             ceil: bool = False, fill: float = 0.0) -> tuple[np.ndarray, int, int, tuple[int, ...]]:
    """Pad x (N, H, W, C) with `fill` and count output positions (a ceil-mode overhang is padded too)."""
    _, h, w, _ = x.shape
    t, b, l, r = _pads(padding, h, w, k, s, d)
    ho = _positions(h, t, b, k[0], s[0], d[0], ceil)
    wo = _positions(w, l, r, k[1], s[1], d[1], ceil)
    eb = max((ho - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + t + b), 0)
    er = max((wo - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + l + r), 0)
    if t or b + eb or l or r + er:
        x = np.pad(x, ((0, 0), (t, b + eb), (l, r + er), (0, 0)), constant_values=fill)
    return x, ho, wo, (t, b, l, r, eb, er)


def _need(shape: tuple[int, ...], ndim: int, what: str) -> None:
    """An input of the rank a forward slides over (N x H x W x C: 4; N x n: 2), else GeometryError."""
    if len(shape) != ndim:
        want = "N x H x W x C" if ndim == 4 else "a flat N x n"
        raise GeometryError(f"{what} needs {want}, received {shape}")


def _taps(k: int, s: int, lo: int, n: int, out: int) -> list[int]:
    """The taps 0 <= i < k of a window (stride s, `lo` padding before) that read an input row at
    some output position: window r reads padded row r·s + i, an input row when it lies in
    [lo, lo + n). Taps reading padding only change no maximum and add no sum, so pools skip them:
    a 65,536 x 65,536 `same` window over 28 x 28 needs 55 x 55 taps, not 4.3 x 10^9 (issue 15).
    The list is at most min(k, n + (out - 1)·s) long, and worked out without visiting the rest."""
    if s >= n:  # disjoint runs of n taps, one per output position that can reach the input
        first = max(0, (lo - k) // s + 1)        # r with lo - r·s < k
        last = min(out - 1, (lo + n - 1) // s)   # r with lo - r·s + n > 0
        taps: list[int] = []
        for r in range(last, first - 1, -1):     # in increasing order of taps
            a = lo - r * s
            taps += range(max(a, 0), min(a + n, k))
        return taps
    return list(range(max(lo - (out - 1) * s, 0), min(lo + n, k)))


def _reach(i: int, s: int, lo: int, n: int, out: int) -> tuple[int, int, int]:
    """For tap i: the output positions [r0, r1) whose window reads an input row with it, and the
    first input row read (r0·s + i - lo); the rows read then step by s."""
    r0 = max(0, -((i - lo) // s))          # ceil((lo - i) / s)
    r1 = min(out, (lo + n - 1 - i) // s + 1)
    return r0, r1, r0 * s + i - lo
