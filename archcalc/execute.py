"""Run a graph forward on NumPy: the witness that the analytic figures are right.

`execute(graph)` allocates every weight (seeded, or from an `.npz`), feeds an input
(seeded, or given), runs each node's forward from `forward.py` in topological order and
records, per layer, the shape of the array produced, the parameters allocated and the
multiplications the `Tally` counted. It never calls the analytic shape, weight or MAC
code: `archcalc verify` sets the two side by side.

Memory: a node's output is freed once its last consumer has run (liveness over the DAG).
Before anything is allocated, a dry run with a batch of 0 (free: NumPy does no work on
empty arrays, and weights are zero-stride views) gives every activation's shape through
the forwards' own code, hence a peak estimate, checked against `max_memory`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ArchcalcError
from .graph import Graph

DTYPES = ("float32", "float64")


class ExecError(ArchcalcError):
    """The executor cannot run this graph as asked (bad weights file, input, memory limit)."""


@dataclass(frozen=True, slots=True)
class LayerRun:
    """One node as executed; shapes exclude the batch, counts are totals over the batch."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    trainable: int
    non_trainable: int
    macs: int
    other_mults: int
    seconds: float

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@dataclass
class Execution:
    layers: list[LayerRun]
    batch: int
    dtype: str
    outputs: dict[str, Any] = field(default_factory=dict)   # layer name -> array (N, ...)
    peak_estimate: int = 0        # bytes: parameters + the largest live set of activations and scratch
    param_bytes: int = 0
    seconds: float = 0.0

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def params(self) -> int:
        return sum(r.params for r in self.layers)


def available_memory() -> int:
    """Bytes the machine can give us now (MemAvailable), or total RAM where that is unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 62


def parse_bytes(text: str) -> int:
    """`4G`, `512M`, `1.5GiB`, `100000` -> bytes (powers of 1024)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    try:
        v = float(t)
    except ValueError:
        raise ExecError(f"--max-memory takes a size such as 4G or 512M, received {text!r}") from None
    if v <= 0:
        raise ExecError(f"--max-memory must be positive, received {text!r}")
    return int(v * mult)


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


def _last_use(graph: Graph) -> list[int]:
    last = list(range(len(graph.nodes)))
    for j, node in enumerate(graph.nodes):
        for i in node.inputs:
            last[i] = max(last[i], j)
    return last


def _fail(node: Any, e: Exception) -> ExecError:
    return ExecError(f"layer '{node.path}' ({node.kind.name}): the executor cannot run it: {e}", node.loc)


def _plan(graph: Graph, dtype: Any) -> tuple[list[tuple[int, ...]], list[dict[str, tuple[tuple[int, ...], bool]]]]:
    """Dry run at batch 0: every node's output shape (without batch) and weight shapes, from the forwards."""
    import numpy as np

    from .forward import FORWARDS, GeometryError, Tally
    nodes = graph.nodes
    t = Tally()
    shapes: list[tuple[int, ...]] = []
    wshapes: list[dict[str, tuple[tuple[int, ...], bool]]] = []
    zero = np.zeros((), dtype)
    for node in nodes:
        fw = FORWARDS.get(node.kind.name)
        if fw is None:
            raise ExecError(f"layer '{node.path}': the executor has no forward for kind '{node.kind.name}'",
                            node.loc, "add one to archcalc/forward.py")
        if not node.inputs:
            xs = [np.zeros((0, *graph.input_shape), dtype)]
        else:
            xs = [np.zeros((0, *shapes[i]), dtype) for i in node.inputs]
        try:
            ws_shapes = fw.weights(node.kind, [x.shape for x in xs])
            ws = {k: np.broadcast_to(zero, s) for k, (s, _) in ws_shapes.items()}
            y = fw.run(t, node.kind, xs, ws)
        except (GeometryError, ValueError) as e:
            raise _fail(node, e) from None
        shapes.append(tuple(y.shape[1:]))
        wshapes.append(ws_shapes)
    return shapes, wshapes


def _estimate(graph: Graph, shapes: list[tuple[int, ...]], wshapes: list[dict[str, Any]], batch: int,
              itemsize: int) -> tuple[int, int]:
    """(parameter bytes, peak bytes): parameters plus, at each step, the live activations, the new
    output and about two more outputs' worth of scratch (padded input, per-tap product)."""
    params = sum(math.prod(s) for ws in wshapes for s, _ in ws.values()) * itemsize
    last = _last_use(graph)
    keep = set(graph.outputs)
    size = [math.prod(s) * batch * itemsize for s in shapes]
    live: set[int] = set()
    peak = 0
    for j, node in enumerate(graph.nodes):
        ins = sum(size[i] for i in node.inputs)
        step = sum(size[i] for i in live) + size[j] + 2 * max(size[j], ins)
        peak = max(peak, step)
        live.add(j)
        live -= {i for i in node.inputs if last[i] == j and i not in keep}
    return params, params + peak


def _load_weights(path: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    import numpy as np
    if isinstance(path, Mapping):
        return path
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise ExecError(f"cannot read weights from {path}: {e}",
                        hint="give an .npz written by numpy.savez, keyed layer/weight") from None


def _load_input(x: Any, shape: tuple[int, ...], batch: int | None, dtype: Any) -> Any:
    import numpy as np
    if isinstance(x, (str, Path)):
        try:
            x = np.load(x, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ExecError(f"cannot read the input array {x}: {e}",
                            hint="give an .npy written by numpy.save") from None
    x = np.asarray(x)
    if x.shape == shape:
        x = x[None]
    if x.shape[1:] != shape:
        raise ExecError(f"the input array has shape {x.shape}; the spec expects N x {' x '.join(map(str, shape))}",
                        hint="save it NHWC (batch, height, width, channels), or H x W x C for one sample")
    if batch is not None and x.shape[0] != batch:
        raise ExecError(f"the input array holds a batch of {x.shape[0]}, but the batch is {batch}",
                        hint="drop --batch, or give an input of that many samples")
    return x.astype(dtype, copy=False)


def _init(rng: Any, name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """He-normal kernels (so deep nets keep sane magnitudes), small biases, positive scales."""
    if name == "kernel":
        fan_in = math.prod(shape[:-1]) or 1
        return rng.standard_normal(shape, dtype=dtype) * dtype.type(math.sqrt(2 / fan_in))
    if name in ("gamma", "var"):
        return rng.uniform(0.5, 1.5, shape).astype(dtype)
    return (rng.standard_normal(shape, dtype=dtype) * dtype.type(0.05)).astype(dtype)


def execute(graph: Graph, *, seed: int = 0, weights: str | Path | Mapping[str, Any] | None = None,
            input: Any = None, dtype: str = "float32", max_memory: int | None = None,
            keep: bool = True, progress: Callable[[int, int, str], None] | None = None) -> Execution:
    """Run `graph` forward at its batch (or the input array's); see the module docstring.

    `weights` is an `.npz` path (or mapping) keyed `layer/weight`; `input` an `.npy` path or
    array, NHWC. `keep` keeps the output arrays in `Execution.outputs`. `progress(done,
    total, layer)` is called after each node.
    """
    import numpy as np

    from .forward import FORWARDS, GeometryError, Tally
    if dtype not in DTYPES:
        raise ExecError(f"the executor runs float32 or float64, received {dtype!r}")
    dt = np.dtype(dtype)
    nodes = graph.nodes
    x_in = None
    batch = graph.batch
    if input is not None:
        x_in = _load_input(input, tuple(graph.input_shape), None, dt)
        batch = x_in.shape[0]
    shapes, wshapes = _plan(graph, dt)
    param_bytes, peak = _estimate(graph, shapes, wshapes, batch, dt.itemsize)
    limit = available_memory() if max_memory is None else max_memory
    if peak > limit:
        raise ExecError(f"running this needs about {_fmt_bytes(peak)} ({_fmt_bytes(param_bytes)} of parameters "
                        f"plus live activations at batch {batch}), more than the {_fmt_bytes(limit)} allowed",
                        hint="lower --batch or the input size, use float32, or raise --max-memory")
    # Weights: from the file, or drawn in node order from one seeded generator.
    rng = np.random.default_rng(seed)
    given = _load_weights(weights) if weights is not None else None
    wants = {f"{n.path}/{k}" for n, ws in zip(nodes, wshapes, strict=True) for k in ws}
    if given is not None:
        extra = sorted(set(given) - wants)
        missing = sorted(wants - set(given))
        if extra or missing:
            what = (f"no array for {', '.join(missing[:3])}" if missing else
                    f"arrays for no weight of this spec: {', '.join(extra[:3])}")
            raise ExecError(f"weights file: {what}", hint=f"keys are layer/weight; this spec wants "
                            f"{len(wants)} of them, e.g. {next(iter(sorted(wants)), 'none')}")
    allw: list[dict[str, Any]] = []
    for node, ws in zip(nodes, wshapes, strict=True):
        arrays = {}
        for k, (s, _) in ws.items():
            key = f"{node.path}/{k}"
            if given is not None:
                a = np.asarray(given[key])
                if a.shape != s:
                    raise ExecError(f"weights file: {key} has shape {a.shape}, the layer needs {s}",
                                    node.loc, "see docs/executor.md for the array layouts")
                arrays[k] = np.ascontiguousarray(a, dtype=dt)
            else:
                arrays[k] = _init(rng, k, s, dt)
        allw.append(arrays)
    if x_in is None:
        x_in = rng.standard_normal((batch, *graph.input_shape), dtype=dt)

    last = _last_use(graph)
    outs = set(graph.outputs)
    vals: list[Any] = [None] * len(nodes)
    t = Tally()
    runs: list[LayerRun] = []
    start = time.perf_counter()
    for j, node in enumerate(nodes):
        xs = [x_in] if not node.inputs else [vals[i] for i in node.inputs]
        m0, o0 = t.macs, t.other_mults
        t0 = time.perf_counter()
        try:
            y = FORWARDS[node.kind.name].run(t, node.kind, xs, allw[j])
        except (GeometryError, ValueError) as e:  # pragma: no cover - the dry run raises first
            raise _fail(node, e) from None
        dt_s = time.perf_counter() - t0
        vals[j] = y
        for i in node.inputs:
            if last[i] == j and i not in outs:
                vals[i] = None  # its last consumer has run
        if j == 0:
            x_in = None
        tr = sum(a.size for k, a in allw[j].items() if wshapes[j][k][1])
        nt = sum(a.size for k, a in allw[j].items() if not wshapes[j][k][1])
        runs.append(LayerRun(node.path, node.kind.name, tuple(y.shape[1:]), tr, nt,
                             t.macs - m0, t.other_mults - o0, dt_s))
        if progress is not None:
            progress(j + 1, len(nodes), node.path)
    total = time.perf_counter() - start
    outputs = {nodes[i].path: vals[i] for i in graph.outputs} if keep else {}
    return Execution(runs, batch, dtype, outputs, peak, param_bytes, total)


__all__ = ["DTYPES", "ExecError", "Execution", "LayerRun", "available_memory", "execute", "parse_bytes"]
