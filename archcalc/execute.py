"""Run a graph forward on NumPy: the witness that the analytic figures are right.

`execute(graph)` allocates every weight (seeded, or from an `.npz`), feeds an input
(seeded, or given), runs each node's forward from `forward/` in topological order and
records, per layer, the shape of the array produced, the parameters allocated and the
multiplications the `Tally` counted. It never calls the analytic shape, weight or MAC
code: `archcalc verify` sets the two side by side.

A node that does not run in this pass (training-only, at inference: `Graph.inactive`) is not
run: its weights are allocated (they are parameters), its output shape is the plan's, and
it performs no multiplication; `graph.training` runs it with the rest.

Memory: a node's output is freed once its last consumer has run (liveness over the DAG).
Before anything is allocated or looped over, a plan works out by arithmetic every activation's
shape and the peak estimate from the forwards' own `shape`, `weights` and `scratch` functions
(never the analytic code), checked against `max_memory`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import ArchcalcError
from .graph import Graph
from .memory import liveness

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
    seconds: float = 0.0          # wall time of the forward
    cpu_seconds: float = 0.0      # this thread's CPU time in it: apart from waiting for the CPU on a busy machine

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


def retain_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse in this process (returns whether it could).

    By default glibc hands large blocks straight back to the kernel (mmap above a threshold,
    trimming the heap's top), so the next layer's output lands on fresh pages that the kernel
    must fault in and zero: about 2 us a 4 KiB page on this machine, a third of a MobileNetV2
    forward. Raising both thresholds lets each layer reuse what earlier layers freed. The peak
    RSS is unchanged (what is live is what it was); RSS just does not fall until the process
    ends, which suits `archcalc run` and the benchmark, so they call this, and `execute` does
    not (it would change the malloc of whatever program imports archcalc).
    """
    import ctypes
    import ctypes.util
    import platform
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
        return bool(libc.mallopt(m_trim_threshold, 1 << 30) and libc.mallopt(m_mmap_threshold, 64 << 20))
    except (OSError, AttributeError):  # pragma: no cover - no usable libc
        return False


_SIZE = re.compile(r"^\s*(\d{1,24}(?:\.\d{0,24})?|\.\d{1,24})\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_bytes(text: str) -> int:
    """`4G`, `512M`, `1.5GiB`, `100000` -> bytes (powers of 1024), exactly: digits and a unit,
    nothing a float would make of `inf`, `nan` or `1e400`."""
    m = _SIZE.match(text)
    if m is None:
        raise ExecError(f"--max-memory takes a size such as 4G, 512M or 1.5GiB, received {text[:60]!r}")
    unit = m.group(2).upper()
    n = int(Fraction(m.group(1)) * 1024 ** ("KMGT".index(unit) + 1 if unit else 0))
    if n < 1:
        raise ExecError(f"--max-memory must be at least 1 byte, received {text!r}")
    return n


def _fmt_bytes(n: int) -> str:
    if n >= 1024**5:  # exact and short at any size: 3.309E+30 TiB, never a 40-digit float
        from decimal import Decimal
        return f"{Decimal(n) / Decimal(1024**4):.3E} TiB"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    return str(n)  # pragma: no cover


#: The largest array NumPy can hold (its sizes are signed 64-bit): no plan past it runs, whatever
#: --max-memory says.
NUMPY_MAX_BYTES = 2**63 - 1


def _fail(node: Any, e: Exception) -> ExecError:
    return ExecError(f"layer '{node.path}' ({node.kind.name}): the executor cannot run it: {e}", node.loc)


def _root(a: Any) -> Any:
    """The array that owns a value's memory (a reshape or an identity forward shares it)."""
    while hasattr(a.base, "base"):  # an array's; a mapped file's base is the mmap itself
        a = a.base
    return a


class _Live:
    """The values held between steps, grouped by the buffer they live in.

    The same bookkeeping serves the real run and the plan that estimates its memory: a value
    is dropped once its last consumer has run (graph outputs are kept, a value nobody reads is
    dropped at once), and a node may write over its first input (`own`) only when that input
    is at its last use, is read once by this node, is no graph output, and no other live value
    shares its buffer (a flatten or dropout output is a view of its input). The graph input's
    buffer is never written over: it may be the caller's array. A buffer is a key: the id of
    the array that owns the memory in the run, a number the plan gives out in the plan.
    """

    def __init__(self, graph: Graph, batch: int, itemsize: int) -> None:
        self.graph, self.batch, self.itemsize = graph, batch, itemsize
        self.last = liveness(graph)  # memory.peak's schedule: a graph output lives to the end
        self.keep = set(graph.outputs)
        self.vals: list[Any] = [None] * len(graph.nodes)
        self.bufs: dict[int, list[int]] = {}  # buffer key -> [values in it, bytes at full batch]
        self.root_of: list[int] = [0] * len(graph.nodes)  # the buffer of every held value
        self.protected: int | None = None
        self.total = 0  # bytes of all buffers held, kept as they change: no sum over them per step
        # what to drop after each step, worked out once (the run is timed, this is not)
        self.frees = [[i for i in sorted({*node.inputs, j}) if self.last[i] == j and i not in self.keep]
                      for j, node in enumerate(graph.nodes)]

    def own(self, j: int) -> bool:
        ins = self.graph.nodes[j].inputs
        if not ins:
            return False
        i = ins[0]
        if self.last[i] != j or i in self.keep or ins.count(i) > 1:
            return False
        key = self.root_of[i]
        return self.bufs[key][0] == 1 and key != self.protected

    def put(self, j: int, value: Any, key: int, elems: int) -> None:
        """Hold node j's output `value` (an array, or in the plan its shape), of `elems` values
        per sample, in buffer `key`."""
        self.vals[j] = value
        self.root_of[j] = key
        buf = self.bufs.get(key)
        if buf is None:
            buf = self.bufs[key] = [0, 0]
        buf[0] += 1
        nbytes = elems * self.batch * self.itemsize
        if nbytes > buf[1]:
            self.total += nbytes - buf[1]
            buf[1] = nbytes
        if j == 0:
            self.protected = key

    def held(self) -> int:
        return self.total

    def release(self, j: int) -> None:
        """Drop every value whose last consumer is node j (node j's own output too, if nobody reads it)."""
        for i in self.frees[j]:
            if self.vals[i] is not None:
                key = self.root_of[i]
                self.vals[i] = None
                buf = self.bufs[key]
                buf[0] -= 1
                if not buf[0]:
                    self.total -= buf[1]
                    del self.bufs[key]
                    if key == self.protected:  # freed: a later array may take its id (its key)
                        self.protected = None


@dataclass
class _Plan:
    shapes: list[tuple[int, ...]]                            # output shape of every node, no batch
    weights: list[dict[str, tuple[tuple[int, ...], bool]]]   # weight name -> (shape, trainable)
    param_bytes: int
    peak: int                                                # parameters + the largest step
    at: int = 0                                              # the node running at the peak
    contiguous: list[bool] = field(default_factory=list)     # whether each output is surely C-contiguous


def _plan(graph: Graph, dtype: Any, batch: int) -> _Plan:
    """Every node's output and weight shapes and the peak memory of the real run at `batch`,
    worked out by arithmetic before anything is allocated or looped over: each forward's own
    `shape`, `weights` and `scratch` functions, and the liveness and write-over rules of the run
    (`_Live`): at each step, the buffers held once the output exists plus the forward's scratch.
    A dry run of the forwards at batch 0 did this before, and some of them allocated or looped
    by the input's size even so (issue 15: 86 s, 16 GiB, "array is too big")."""
    from .forward import FORWARDS, GeometryError
    nodes = graph.nodes
    live = _Live(graph, batch, dtype.itemsize)
    shapes: list[tuple[int, ...]] = []
    wshapes: list[dict[str, tuple[tuple[int, ...], bool]]] = []
    contiguous: list[bool] = []  # whether each output is surely C-contiguous
    peak = at = 0
    inactive = graph.inactive  # shaped, but they hold no memory and keep no input alive
    for j, node in enumerate(nodes):
        fw = FORWARDS.get(node.kind.name)
        if fw is None:
            raise ExecError(f"layer '{node.path}': the executor has no forward for kind '{node.kind.name}'",
                            node.loc, "add one to archcalc/forward/ (the module mirroring its kinds/ module)")
        ins = [(batch, *graph.input_shape)] if not node.inputs else [(batch, *shapes[i]) for i in node.inputs]
        idle = j in inactive
        own = False if idle else live.own(j)
        try:
            ws_shapes = fw.weights(node.kind, ins)
            out = (tuple(fw.shape(node.kind, ins)) if fw.shape is not None else
                   _run_empty(fw, node, ins, ws_shapes, dtype))
            scratch = fw.scratch(node.kind, ins, out, dtype.itemsize)
        except (GeometryError, ValueError) as e:
            raise _fail(node, e) from None
        shares, dense = _layout(fw, node, ins, own, contiguous)
        contiguous.append(dense)
        if not idle:
            live.put(j, out, live.root_of[node.inputs[0]] if shares else -1 - j, math.prod(out[1:]))
            if live.held() + scratch > peak:
                peak, at = live.held() + scratch, j
            live.release(j)
        shapes.append(out[1:])
        wshapes.append(ws_shapes)
    params = sum(math.prod(s) for ws in wshapes for s, _ in ws.values()) * dtype.itemsize
    return _Plan(shapes, wshapes, params, params + peak, at, contiguous)


def _layout(fw: Any, node: Any, ins: list[tuple[int, ...]], own: bool, contiguous: list[bool]) -> tuple[bool, bool]:
    """(whether a node's output shares its first input's buffer, whether it is surely C-contiguous),
    from its forward's declarations (forward.base.Forward) and its input's layout: a reshape is a
    view of a C-contiguous input; of a strided one it is a copy or a strided view, counted as a
    copy (the larger), and a strided view (a slice) may be C-contiguous or not."""
    if not node.inputs:  # the network's input: the run makes it C-contiguous
        return False, True
    first = contiguous[node.inputs[0]]
    if fw.reshapes:
        return first, first
    if fw.view:
        return True, first and not fw.strided
    if own and fw.writes_over(node.kind, ins):
        return True, first
    return False, True


def _run_empty(fw: Any, node: Any, ins: list[tuple[int, ...]], ws_shapes: Any, dtype: Any) -> tuple[int, ...]:
    """The output shape of a forward that declares no `shape`: it runs on an empty batch (NumPy
    does no work on empty arrays; the weights are zero-stride views), as every forward once did
    to be planned. It may allocate or loop by the input's size even so: declare `shape=`."""
    import numpy as np

    from .forward import Tally
    zero = np.zeros((), dtype)
    xs = [np.zeros((0, *s[1:]), dtype) for s in ins]  # ValueError for a shape NumPy cannot hold
    ws = {k: np.broadcast_to(zero, s) for k, (s, _) in ws_shapes.items()}
    y = fw.run(Tally(), node.kind, xs, ws, False)
    return (ins[0][0] if ins else 0, *y.shape[1:])


class _Weights:
    """The arrays of a weights file, read one at a time (an `.npz` is a zip: only the member
    asked for is decompressed), so loading never holds the whole file beside its converted copy."""

    def __init__(self, source: str | Path | Mapping[str, Any]) -> None:
        import numpy as np
        self.name = str(source) if not isinstance(source, Mapping) else "the weights mapping"
        self.file: Any = None
        if isinstance(source, Mapping):
            self.arrays: Any = source
            return
        try:
            z = np.load(source, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            raise self._error(_numpy_file_error(source, e)) from None
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise self._error("it holds a single array, not an .npz archive of them")
        self.file = self.arrays = z

    def _error(self, why: Any) -> ExecError:
        return ExecError(f"cannot read weights from {self.name}: {why}",
                         hint="give an .npz written by numpy.savez, keyed layer/weight (docs/executor.md)")

    def keys(self) -> set[str]:
        return set(self.file.files if self.file is not None else self.arrays)

    def shape_of(self, key: str) -> tuple[int, ...] | None:
        """A member's shape from its .npy header, read before its data: a file may declare an
        array far larger than the layer's (a small zip can inflate to gigabytes), and nothing the
        plan did not count is allocated. None for a mapping (its arrays are in memory already)."""
        import numpy as np
        if self.file is None:
            return None
        member = key + ".npy" if key + ".npy" in self.file.zip.namelist() else key
        try:
            with self.file.zip.open(member) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, _ = read(f)
        except Exception as e:  # noqa: BLE001 - a damaged member or header, whatever zipfile and numpy raise
            raise self._error(f"{key}: {e}") from None
        return tuple(shape)

    def get(self, key: str) -> Any:
        import numpy as np
        try:
            a = np.asarray(self.arrays[key])
        except Exception as e:  # a damaged member, or one that needs pickle (an object array)
            raise self._error(f"{key}: {e}") from None
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise self._error(f"{key} holds {a.dtype} values, not numbers")
        return a

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _numpy_file_error(path: str | Path, e: Exception) -> str:
    """Why np.load failed, in words: a file that is no NumPy file at all makes np.load try
    (and refuse) pickle, whose message would send the user the wrong way."""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return str(e)
    if head != b"\x93NUMPY" and not head.startswith(b"PK"):
        return "it is not a NumPy .npy or .npz file"
    return str(e)


def load_input_array(path: str | Path) -> Any:
    """The array in an `.npy` file, refusing anything else with a message (no pickle, ever).
    Mapped, not read: its shape is checked, and the run planned, before its data is in memory."""
    import numpy as np
    try:
        x = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError) as e:
        raise ExecError(f"cannot read the input array {path}: {_numpy_file_error(path, e)}",
                        hint="give an .npy written by numpy.save") from None
    if not isinstance(x, np.ndarray):
        x.close()
        raise ExecError(f"the input file {path} is an .npz archive, not one array",
                        hint="give an .npy written by numpy.save")
    return x


def _load_input(x: Any, shape: tuple[int, ...], batch: int | None, dtype: Any) -> Any:
    """The input array as N x H x W x C in `dtype` (H x W x C is one sample); clear errors otherwise."""
    import numpy as np
    if isinstance(x, (str, Path)):
        x = load_input_array(x)
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ExecError(f"the input array holds {x.dtype} values, not numbers",
                        hint="save a float array (N x H x W x C) with numpy.save")
    if x.shape == shape:
        x = x[None]
    if x.shape[1:] != shape or x.shape[0] < 1:
        raise ExecError(f"the input array has shape {x.shape}; the spec expects N x {' x '.join(map(str, shape))}",
                        hint="save it NHWC (batch, height, width, channels), or H x W x C for one sample")
    if batch is not None and x.shape[0] != batch:
        raise ExecError(f"the input array holds a batch of {x.shape[0]}, but the batch is {batch}",
                        hint="drop --batch, or give an input of that many samples")
    return x  # converted to `dtype` once the run is planned (execute)


def _init(rng: Any, name: str, shape: tuple[int, ...], dtype: Any, column_major: bool = False) -> Any:
    """He-normal kernels (so deep nets keep sane magnitudes), small biases, positive scales.

    Drawn straight in `dtype` and scaled in place, so a weight costs its own bytes only. A
    column-major (2-D) weight is drawn a block of rows at a time into its transposed buffer: the
    generator's stream is sequential, so its values are those of the row-major draw."""
    import numpy as np
    if name in ("gamma", "var"):
        return rng.uniform(0.5, 1.5, shape).astype(dtype)
    if column_major and len(shape) == 2:
        a = np.empty(shape[::-1], dtype).T
        rows = max(1, (1 << 18) // max(shape[1], 1))
        for r in range(0, shape[0], rows):
            a[r:r + rows] = rng.standard_normal((min(rows, shape[0] - r), shape[1]), dtype=dtype)
    else:
        a = rng.standard_normal(shape, dtype=dtype)
    a *= dtype.type(math.sqrt(2 / (math.prod(shape[:-1]) or 1)) if name == "kernel" else 0.05)
    return a


def _weights(nodes: list[Any], wshapes: list[dict[str, tuple[tuple[int, ...], bool]]], given: _Weights | None,
             rng: Any, dt: Any) -> list[dict[str, Any]]:
    """Every node's weight arrays, from the file (checked key by key and shape by shape) or drawn
    in node order from the seeded generator; a forward's `column_major` weights are stored
    transposed in memory (the same values)."""
    import numpy as np

    from .forward import FORWARDS
    if given is not None:
        wants = {f"{n.path}/{k}" for n, ws in zip(nodes, wshapes, strict=True) for k in ws}
        have = given.keys()
        extra, missing = sorted(have - wants), sorted(wants - have)
        if extra or missing:
            what = (f"no array for {', '.join(missing[:3])}" if missing else
                    f"arrays for no weight of this spec: {', '.join(extra[:3])}")
            raise ExecError(f"weights file: {what}", hint=f"keys are layer/weight; this spec wants "
                            f"{len(wants)} of them, e.g. {next(iter(sorted(wants)), 'none')}")
    allw = []
    for node, ws in zip(nodes, wshapes, strict=True):
        arrays = {}
        column_major = FORWARDS[node.kind.name].column_major
        for k, (s, _) in ws.items():
            key = f"{node.path}/{k}"
            transposed = k in column_major and len(s) == 2
            if given is not None:
                declared = given.shape_of(key)
                a = given.get(key) if declared in (None, s) else None
                if a is None or a.shape != s:
                    raise ExecError(f"weights file: {key} has shape {declared if a is None else a.shape}, "
                                    f"the layer needs {s}", node.loc, "see docs/executor.md for the array layouts")
                arrays[k] = np.asfortranarray(a, dtype=dt) if transposed else np.ascontiguousarray(a, dtype=dt)
            else:
                arrays[k] = _init(rng, k, s, dt, transposed)
        allw.append(arrays)
    return allw


def _out_of_memory(node: Any, plan: _Plan, limit: int) -> ExecError:
    """NumPy could not allocate although the estimate was within the limit: the memory the
    machine said it had was gone (another process), or the limit given was more than it has."""
    where = f"at layer '{node.path}' ({node.kind.name})" if node is not None else "while drawing the weights"
    return ExecError(f"the machine ran out of memory {where}; the estimate was {_fmt_bytes(plan.peak)}, "
                     f"the limit {_fmt_bytes(limit)}", node.loc if node is not None else None,
                     "lower --max-memory to what the machine can give, or --batch or the input size")


def execute(graph: Graph, *, seed: int = 0, weights: str | Path | Mapping[str, Any] | None = None,
            input: Any = None, dtype: str = "float32", max_memory: int | None = None,
            keep: bool = True, progress: Callable[[int, int, str], None] | None = None) -> Execution:
    """Run `graph` forward at its batch (or the input array's); see the module docstring.

    `weights` is an `.npz` path (or mapping) keyed `layer/weight`; `input` an `.npy` path or
    array, NHWC (never written to). `keep` keeps the output arrays in `Execution.outputs`.
    `progress(done, total, layer)` is called after each node.
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
    plan = _plan(graph, dt, batch)
    limit = available_memory() if max_memory is None else max_memory
    if plan.peak > min(limit, NUMPY_MAX_BYTES):
        node = nodes[plan.at]
        most = (f"more than the {_fmt_bytes(limit)} allowed" if plan.peak > limit else
                f"more than NumPy can address ({_fmt_bytes(NUMPY_MAX_BYTES)})")
        raise ExecError(f"running this needs about {_fmt_bytes(plan.peak)} ({_fmt_bytes(plan.param_bytes)} of "
                        f"parameters plus live activations at batch {batch}), {most}; the most is held while "
                        f"layer '{node.path}' ({node.kind.name}) runs", node.loc,
                        "lower --batch or the input size, use float32"
                        + (", or raise --max-memory" if plan.peak <= NUMPY_MAX_BYTES else ""))
    wshapes = plan.weights
    # Weights: from the file, or drawn in node order from one seeded generator.
    rng = np.random.default_rng(seed)
    given = _Weights(weights) if weights is not None else None
    allw: list[dict[str, Any]] = []
    try:
        allw = _weights(nodes, wshapes, given, rng, dt)
    except MemoryError:
        raise _out_of_memory(None, plan, limit) from None
    finally:
        if given is not None:
            given.close()
    if x_in is None:
        try:
            x_in = rng.standard_normal((batch, *graph.input_shape), dtype=dt)
        except MemoryError:
            raise _out_of_memory(nodes[0], plan, limit) from None
    else:  # the plan counted it: in memory now, contiguous (flatten's output is a view of it, as planned)
        try:  # a mapped file (read-only) is read now, once, not page by page inside the first layer
            x_in = np.ascontiguousarray(x_in, dtype=dt) if x_in.flags.writeable else np.array(x_in, dtype=dt)
        except MemoryError:
            raise _out_of_memory(nodes[0], plan, limit) from None

    live = _Live(graph, batch, dt.itemsize)
    counts = [(sum(a.size for k, a in ws.items() if wshapes[j][k][1]),
               sum(a.size for k, a in ws.items() if not wshapes[j][k][1])) for j, ws in enumerate(allw)]
    t = Tally()
    runs: list[LayerRun] = []
    inactive = graph.inactive
    start, cpu_start = time.perf_counter(), time.thread_time()
    for j, node in enumerate(nodes):
        if inactive and j in inactive:  # training-only at inference: parameters only, not run
            runs.append(LayerRun(node.path, node.kind.name, plan.shapes[j], *counts[j], 0, 0, 0.0))
            if progress is not None:
                progress(j + 1, len(nodes), node.path)
            continue
        xs = [x_in] if not node.inputs else [live.vals[i] for i in node.inputs]
        own = live.own(j)
        m0, o0 = t.macs, t.other_mults
        t0 = time.perf_counter()
        try:
            y = FORWARDS[node.kind.name].run(t, node.kind, xs, allw[j], own)  # float warnings: see run
        except (GeometryError, ValueError) as e:  # pragma: no cover - the plan raises first
            raise _fail(node, e) from None
        except MemoryError:  # the estimate fitted the limit, the machine had less than it said
            raise _out_of_memory(node, plan, limit) from None
        dt_s = time.perf_counter() - t0
        del xs
        if y.shape[1:] != plan.shapes[j]:  # a forward whose `shape` says otherwise: a bug in archcalc
            raise RuntimeError(f"layer '{node.path}' ({node.kind.name}): its forward gave {y.shape[1:]}, "
                               f"its plan {plan.shapes[j]}: fix `shape=` in archcalc/forward/")
        if plan.contiguous[j] and not y.flags.c_contiguous:  # the plan counted no copy of it for a reshape
            raise RuntimeError(f"layer '{node.path}' ({node.kind.name}): its forward gave a strided array, "
                               "its plan a C-contiguous one: declare `strided=` in archcalc/forward/")
        root = _root(y)
        live.put(j, y, id(root), math.prod(y.shape[1:]))
        live.release(j)  # drops the inputs whose last consumer this was
        if j == 0:
            x_in = None  # freed with its last reader, as planned
        runs.append(LayerRun(node.path, node.kind.name, tuple(y.shape[1:]), *counts[j],
                             t.macs - m0, t.other_mults - o0, dt_s))
        del y
        if progress is not None:
            progress(j + 1, len(nodes), node.path)
    total, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
    outputs = {nodes[i].path: live.vals[i] for i in graph.outputs} if keep else {}
    return Execution(runs, batch, dtype, outputs, plan.peak, plan.param_bytes, total, cpu)


__all__ = ["DTYPES", "ExecError", "Execution", "LayerRun", "available_memory", "execute", "load_input_array",
           "parse_bytes", "retain_freed_memory"]
