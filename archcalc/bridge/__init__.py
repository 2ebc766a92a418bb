"""Bring your own model: ONNX and PyTorch in (`archcalc import`) and out (`archcalc export`).

Nothing here is imported on the analytic path: `onnx`, `onnxruntime` and `torch` are optional
extras (`archcalc[onnx]`, `archcalc[torch]`) loaded only by these commands.

    read.py      an ONNX file, refused in bounded time and memory when malformed or hostile
    importer.py  ONNX graph -> layers (through the operator table) -> a readable spec
    fold.py      repeated module instances -> blocks with arguments (import and torch export)
    onnx_out.py  graph + executor weights -> an ONNX model
    torch_out.py graph -> PyTorch source, one nn.Module class per block
    layout.py    the executor's NHWC weight layouts <-> ONNX/PyTorch NCHW ones
    ops/         the operator table, one module per family mirroring archcalc/kinds/: each
                 says how ONNX operators import into its kinds and how its kinds export
"""

from ..errors import ArchcalcError


class ExportError(ArchcalcError):
    """A spec that cannot be written as ONNX or PyTorch as asked."""
