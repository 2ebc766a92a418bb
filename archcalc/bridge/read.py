"""Read an ONNX file that may be malformed, truncated, oversized or hostile.

Everything is checked before anything is believed: the file's size before it is read, the
protobuf before it is used, every tensor dimension before it is multiplied, every external-data
reference before it is opened (relative, inside the model's folder, within its file), the node
order before it is walked (a cycle or a dangling reference is refused). Weights are never
needed to count a model: only initializer dimensions are read, so a 100 MB model costs one
parse. ONNX shape inference runs on a light copy of the graph whose large initializers are
replaced by typed inputs, so it never copies the weights either.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArchcalcError

#: Largest file read (protobuf cannot hold a model of 2 GiB or more in one message anyway).
MAX_BYTES = 2**31 - 1
#: Most nodes a graph may hold (the largest published CNNs export a few thousand).
MAX_NODES = 100_000
#: Largest single dimension, and largest element count of one tensor, accepted.
MAX_DIM = 2**31 - 1
MAX_ELEMENTS = 2**40
#: Initializers up to this many elements keep their values for shape inference (reshape targets).
SMALL = 64
FLOAT_TYPES = (1, 10, 11, 16)  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


class ImportError_(ArchcalcError):
    """An ONNX file or PyTorch model that cannot be imported, with what to do about it."""


def need_onnx() -> Any:
    try:
        import onnx
    except ModuleNotFoundError:
        raise ImportError_("this needs the `onnx` package, which is not installed",
                           hint="pip install 'onnx>=1.16' 'onnxruntime>=1.17' (the `onnx` extra of archcalc)") from None
    return onnx


@dataclass
class Model:
    path: str
    proto: Any
    nodes: list[Any]                                   # topologically ordered NodeProtos
    inits: dict[str, Any]                              # name -> TensorProto (data not read)
    consts: dict[str, Any] = field(default_factory=dict)   # name -> small numpy value
    shapes: dict[str, tuple[int | None, ...]] = field(default_factory=dict)
    inputs: list[tuple[str, tuple[int | None, ...]]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    opset: int = 0
    const_alias: dict[str, str] = field(default_factory=dict)   # Identity of a weight -> the initializer
    timing: dict[str, float] = field(default_factory=dict)      # seconds reading the file, parsing it

    def float_elements(self) -> int:
        """The float elements of the initializers: what the imported spec's parameters must add up to."""
        return sum(math.prod(t.dims) for t in self.inits.values() if t.data_type in FLOAT_TYPES)


def _fail(path: str, what: str, hint: str | None = None) -> ImportError_:
    from ..errors import short
    return ImportError_(f"{short(path)}: {what}", hint=hint)  # a long path cut in its middle, the reason kept


def read(path: str | Path, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES,
         infer: bool = True) -> Model:
    """Parse and check an ONNX file; see the module docstring for what is refused."""
    onnx = need_onnx()
    from google.protobuf.message import DecodeError
    p = Path(path)
    name = str(path)
    try:
        st = p.stat()
    except OSError as e:  # missing, no permission, a name too long for the file system
        raise _fail(name, f"cannot read it: {e.strerror or e}") from None
    except ValueError:  # a NUL in the name (a program's string: no shell passes one)
        raise _fail(repr(name), "a file name holds no NUL character") from None
    if not p.is_file():
        raise _fail(name, "is not a file")
    if st.st_size > max_bytes:
        raise _fail(name, f"is {st.st_size:,} bytes, more than the {max_bytes:,} archcalc reads",
                    "an ONNX file keeps large weights in external data files beside it; "
                    "raise the limit with --max-bytes if this is intended")
    if st.st_size == 0:
        raise _fail(name, "is empty")
    import time
    t0 = time.perf_counter()
    try:
        with open(p, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:  # a file it may not read
        raise _fail(name, f"cannot read it: {e.strerror or e}") from None
    t1 = time.perf_counter()
    m = onnx.ModelProto()
    try:
        m.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise _fail(name, f"is not an ONNX model (protobuf cannot parse it: {e}); is it truncated?",
                    "export it again, or check that the download finished") from None
    del data
    timing = {"file": t1 - t0, "parse": time.perf_counter() - t1}
    g = m.graph
    if not m.ir_version or not len(g.node):
        raise _fail(name, "holds no ONNX graph (no IR version or no nodes)",
                    "give a model saved by onnx.save or torch.onnx.export")
    if len(g.node) > max_nodes:
        raise _fail(name, f"has {len(g.node):,} nodes, more than the {max_nodes:,} archcalc imports",
                    "raise the limit with --max-nodes if this is intended")
    opset = max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=0)
    inits = {t.name: t for t in g.initializer}
    folder = p.resolve().parent
    for t in g.initializer:
        _check_tensor(name, t, folder)
    for n in g.node:
        for a in n.attribute:
            if a.HasField("t"):
                _check_tensor(name, a.t, folder, f"node '{n.name or n.op_type}'")
            if a.HasField("g") or len(a.graphs):
                pass  # If/Loop/Scan: refused as unmapped operators, never walked
    inputs = []
    for vi in g.input:
        if vi.name in inits:
            continue
        inputs.append((vi.name, _dims(name, vi)))
    nodes = _topological(name, list(g.node), set(inits) | {n for n, _ in inputs})
    model = Model(name, m, nodes, inits, opset=opset, inputs=inputs, outputs=[o.name for o in g.output],
                  timing=timing)
    _constants(model)
    if infer:
        _infer(model)
    return model


def _check_tensor(name: str, t: Any, folder: Path, where: str = "") -> None:
    where = f" in {where}" if where else ""
    n = 1
    for d in t.dims:
        if d < 0 or d > MAX_DIM:
            raise _fail(name, f"tensor '{t.name}'{where} has dimension {d}, outside 0 ... {MAX_DIM:,}",
                        "the file is damaged or was made to be refused")
        n *= d
    if n > MAX_ELEMENTS:
        raise _fail(name, f"tensor '{t.name}'{where} claims {n:,} elements", "the file is damaged or hostile")
    if t.data_location == 1:  # EXTERNAL: checked, never read (counting needs dimensions only)
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        target = (folder / loc).resolve() if loc else folder
        if not loc or os.path.isabs(loc) or ".." in Path(loc).parts or not target.is_relative_to(folder) \
                or target == folder:
            raise _fail(name, f"tensor '{t.name}'{where} keeps its data at {loc!r}, outside the model's folder",
                        "archcalc reads nothing outside the folder of the .onnx file; move the data beside it")
        try:
            size = target.stat().st_size
        except OSError:
            raise _fail(name, f"tensor '{t.name}'{where}: its external data file {loc!r} is missing",
                        "copy the data file beside the .onnx file") from None
        try:
            off, length = int(info.get("offset", 0)), int(info.get("length", -1))
        except ValueError:
            raise _fail(name, f"tensor '{t.name}'{where}: external data offset or length is not a number") from None
        if off < 0 or off > size or (length >= 0 and off + length > size):
            raise _fail(name, f"tensor '{t.name}'{where}: external data runs past the end of {loc!r} "
                        f"({size:,} bytes)", "the data file is truncated; copy it again")


def _dims(name: str, vi: Any) -> tuple[int | None, ...]:
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type"):
        raise _fail(name, f"input '{vi.name}' is not a tensor", "archcalc imports networks whose inputs are tensors")
    out: list[int | None] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            if d.dim_value < 0 or d.dim_value > MAX_DIM:
                raise _fail(name, f"input '{vi.name}' has dimension {d.dim_value}")
            out.append(d.dim_value)
        else:
            out.append(None)
    return tuple(out)


def _topological(name: str, nodes: list[Any], known: set[str]) -> list[Any]:
    """The nodes in an order where every input is made before it is read (Kahn's algorithm).

    A value made twice, or read but never made, is refused; so is a cycle, naming its nodes."""
    made: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            if not o:
                continue
            if o in made or o in known:
                raise _fail(name, f"value '{o}' is produced twice (by node '{n.name or n.op_type}')",
                            "an ONNX graph assigns every value once: the file is damaged")
            made[o] = i
    for n in nodes:
        for x in n.input:
            if x and x not in known and x not in made:
                raise _fail(name, f"node '{n.name or n.op_type}' reads '{x}', which nothing produces",
                            "the file is damaged, or the value comes from an outer graph")
    order = _kahn(nodes, made, known)
    if len(order) != len(nodes):
        done = {id(n) for n in order}
        stuck = [n.name or n.op_type for n in nodes if id(n) not in done][:3]
        raise _fail(name, f"the graph has a cycle through {', '.join(repr(s) for s in stuck)}",
                    "an ONNX graph must be acyclic: the file is damaged or hostile")
    return order


def _kahn(nodes: list[Any], made: dict[str, int], known: set[str]) -> list[Any]:
    """A stable topological order: the earliest node whose inputs all exist comes next."""
    import heapq
    waiting = [sum(1 for x in n.input if x and x not in known) for n in nodes]
    readers: dict[int, list[int]] = {}
    for i, n in enumerate(nodes):
        for x in n.input:
            if x and x not in known:
                readers.setdefault(made[x], []).append(i)
    heap = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        i = heapq.heappop(heap)
        out.append(nodes[i])
        for r in readers.get(i, ()):
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(heap, r)
    return out


def _constants(model: Model) -> None:
    """Small initializers and Constant nodes as numpy values (shape arithmetic, pads, scales)."""
    from onnx import numpy_helper
    for t in model.inits.values():
        if math.prod(t.dims) <= SMALL and t.data_location != 1:
            try:
                model.consts[t.name] = numpy_helper.to_array(t)
            except Exception:  # noqa: BLE001 - a damaged tensor is simply not a known constant
                pass
    for n in model.nodes:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and len(n.output) == 1:
            for a in n.attribute:
                if a.name == "value" and math.prod(a.t.dims) <= SMALL and a.t.data_location != 1:
                    try:
                        model.consts[n.output[0]] = numpy_helper.to_array(a.t)
                    except Exception:  # noqa: BLE001
                        pass
                elif a.name in ("value_int", "value_ints", "value_float", "value_floats"):
                    import numpy as np
                    v = {"value_int": a.i, "value_ints": list(a.ints), "value_float": a.f,
                         "value_floats": list(a.floats)}[a.name]
                    model.consts[n.output[0]] = np.array(v)


def _infer(model: Model) -> None:
    """ONNX shape inference on a weightless copy: large initializers become typed graph inputs."""
    import onnx
    from onnx import helper
    m, g = model.proto, model.proto.graph
    light_inits = [t for t in g.initializer if t.name in model.consts]
    extra_inputs = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                    for t in g.initializer if t.name not in model.consts]
    graph = helper.make_graph(list(g.node), g.name or "g",
                              [*[vi for vi in g.input if vi.name not in model.inits],
                                                             *extra_inputs], list(g.output),
                              initializer=light_inits)
    light = helper.make_model(graph, opset_imports=list(m.opset_import), ir_version=m.ir_version)
    light.functions.extend(m.functions)
    try:
        inferred = onnx.shape_inference.infer_shapes(light, strict_mode=False, data_prop=True)
    except Exception as e:  # noqa: BLE001 - ONNX refuses what it cannot infer; say so, named
        raise _fail(model.path, f"ONNX shape inference failed: {str(e).splitlines()[0][:300]}",
                    "check the model with onnx.checker.check_model") from None
    for vi in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input):
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape"):
            model.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                          for d in vi.type.tensor_type.shape.dim)
    for t in g.initializer:
        model.shapes[t.name] = tuple(t.dims)
