"""A spec's graph -> an ONNX model (NCHW input), named after the spec's layers.

Every node of layer `stage1/block1/conv1` is named `/stage1/block1/conv1/<Op>` (PyTorch's
exporter's style), so importing the file gives back the spec's layers, names and blocks.
Weights are the executor's (seeded, or from `--weights`), converted by the operator table's
`nchw` entries; constants that are not parameters (ReLU6's bounds, Pad's sizes, Resize's
scales) are Constant nodes, so the file's initializers are exactly the spec's parameters
(of the layers that run at inference: training-only layers are left out, as torch.onnx.export
in eval mode leaves out what the model does not run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..graph import Graph
from . import ExportError

OPSET = 17


class Builder:
    """Adds one layer's ONNX nodes, initializers and constants under its path."""

    def __init__(self, batch: int = 1) -> None:
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.scope = ""
        self.used: set[str] = set()
        self.batch = batch

    def _unique(self, name: str) -> str:
        base, k = name, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def init(self, suffix: str, array: Any) -> str:
        import numpy as np
        name = self._unique(f"{self.scope.replace('/', '.')}.{suffix}")
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def const(self, suffix: str, value: Any) -> str:
        """A Constant node (not an initializer: not a parameter): ints as int64, floats as float32."""
        import numpy as np
        if isinstance(value, np.ndarray):
            arr = value.astype(np.float32) if value.dtype.kind == "f" else value.astype(np.int64)
        else:
            arr = np.array(value, dtype=np.float32 if isinstance(value, float) or (
                isinstance(value, list) and any(isinstance(v, float) for v in value)) else np.int64)
        out = self._unique(f"/{self.scope}/{suffix}")
        self.nodes.append(self.helper.make_node("Constant", [], [out], name=self._unique(f"/{self.scope}/Constant"),
                                                value=self.numpy_helper.from_array(arr, out)))
        return out

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        return self.nodes_out(op, inputs, 1, **attrs)[0]

    def nodes_out(self, op: str, inputs: list[str], count: int, **attrs: Any) -> list[str]:
        """A node with `count` outputs (Split), named as PyTorch's exporter names them."""
        name = self._unique(f"/{self.scope}/{op}")
        outs = [self._unique(f"{name}_output_{k}") for k in range(count)]
        self.nodes.append(self.helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs


def export_onnx(graph: Graph, *, seed: int = 0, weights: str | Path | None = None,
                arrays: list[dict[str, Any]] | None = None) -> Any:
    """The ONNX model of `graph` (see the module docstring); `arrays` are the executor's weights
    per node when already drawn. Checked by onnx.checker before it is returned."""
    from .read import need_onnx
    onnx = need_onnx()
    from onnx import TensorProto, helper

    from ..walk import walk
    from .layout import executor_weights, perms
    from .table import EXPORTERS
    an = walk(graph)
    shapes = [r.output_shape for r in an.rows]
    ws_all = arrays if arrays is not None else executor_weights(graph, seed=seed, weights=weights)
    order = perms(graph, shapes)
    b = Builder(graph.batch)
    missing = sorted({n.kind.name for n in graph.nodes[1:] if n.kind.name not in EXPORTERS})
    if missing:
        raise ExportError(f"no ONNX mapping for the kinds {', '.join(missing)}",
                          hint="see docs/import-export.md for the operator table")
    names: list[str] = ["input"]
    b.used.add("input")
    inactive = graph.inactive
    for j, node in enumerate(graph.nodes[1:], 1):
        if j in inactive:  # training-only: an inference graph never runs it (torch.onnx.export in eval
            names.append("")  # mode leaves it out too, with its weights)
            continue
        ex = EXPORTERS[node.kind.name]
        b.scope = node.path
        ins = [names[i] for i in node.inputs]
        in_shapes = [shapes[i] for i in node.inputs]
        perm = order[node.inputs[0]] if node.inputs else None
        ws = ex.nchw(node.kind, ws_all[j], in_shapes, perm) if ws_all[j] else {}
        names.append(ex.onnx(b, node.kind, ins, in_shapes, shapes[j], ws))

    def info(name: str, shape: tuple[int, ...]) -> Any:
        dims = [graph.batch, shape[2], shape[0], shape[1]] if len(shape) == 3 else [graph.batch, *shape]
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)

    outputs = [info(names[i], shapes[i]) for i in graph.outputs]
    g = helper.make_graph(b.nodes, graph.spec.name, [info("input", shapes[0])], outputs, initializer=b.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="archcalc")
    model.ir_version = 8  # readable by onnxruntime releases from 1.14 on
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # noqa: BLE001 - a bug in an exporter, said with the layer it concerns
        raise ExportError(f"the ONNX model archcalc built does not pass onnx.checker: {e}") from None
    return model


def save(model: Any, path: str | Path) -> None:
    """Write a model; one of 2 GiB or more keeps its weights in `<name>.data` beside it."""
    import onnx
    p = Path(path)
    if model.ByteSize() >= 2**31 - 1:
        onnx.save_model(model, p, save_as_external_data=True, location=p.name + ".data")
    else:
        onnx.save_model(model, p)
