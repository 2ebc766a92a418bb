"""`archcalc import --torch pkg.module:callable`: a PyTorch model, through ONNX, into a spec.

The model is exported by torch.onnx.export (the TorchScript exporter, which needs nothing
beyond torch) in eval mode with BatchNorm preserved, so the spec's parameters are the model's
parameters plus BatchNorm's running statistics, and no layer is folded into another.
Importing a callable runs code: the user's own, named on the command line, never a spec's.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from .read import ImportError_


def _need_torch() -> Any:
    try:
        import torch
    except ModuleNotFoundError:
        raise ImportError_("--torch needs PyTorch, which is not installed",
                           hint="pip install 'torch>=2.13' (the `torch` extra of archcalc)") from None
    return torch


def load_callable(ref: str) -> Any:
    mod, _, attr = ref.partition(":")
    if not mod or not attr:
        raise ImportError_(f"--torch takes PKG.MODULE:CALLABLE, received {ref!r}",
                           hint="e.g. --torch torchvision.models:resnet18")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the current folder, as `python -m` would
    try:
        obj: Any = importlib.import_module(mod)
    except ImportError as e:
        raise ImportError_(f"--torch: cannot import {mod}: {e}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ImportError_(f"--torch: {mod} has no {attr!r}")
        obj = getattr(obj, part)
    return obj


def import_torch(ref: str, input_chw: str = "3x224x224", **kw: Any) -> tuple[str, Any]:
    torch = _need_torch()
    from ..shape import parse_shape_text
    from .importer import import_onnx
    dims = parse_shape_text(input_chw)
    if dims is None:
        raise ImportError_(f"--input takes C x H x W such as 3x224x224 (or n), received {input_chw!r}")
    model = load_callable(ref)()
    if not isinstance(model, torch.nn.Module):
        raise ImportError_(f"--torch {ref}() returned {type(model).__name__}, not a torch.nn.Module")
    model.eval()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{ref.rpartition(':')[2].split('.')[-1]}.onnx"
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(1, *dims),), str(path), dynamo=False,
                              training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        return import_onnx(path, source=f"the PyTorch model {ref}()", **kw)
