"""archcalc: what does this network cost? Shapes, parameters and MACs from a YAML spec.

    import archcalc
    spec = archcalc.load("specs/lenet5.yaml")
    an = archcalc.analyze(spec)            # or analyze("specs/lenet5.yaml", overrides={"alpha": 0.5})
    an.totals.params, an.totals.macs       # 61706, 416520
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from .analysis import Analysis, Row, Totals
from .errors import ArchcalcError, KindError, Location, SpecError
from .graph import Graph, Limits, build
from .kinds import REGISTRY as _REGISTRY
from .shape import Shape
from .spec import Spec, load
from .walk import walk

__version__ = "0.1.0"

#: Read-only mapping of layer-kind name -> Kind class (the graph's internal `input` excluded).
KINDS = MappingProxyType({k: v for k, v in sorted(_REGISTRY.items()) if not v.internal})


def analyze(spec: Spec | str | Path, *, overrides: dict[str, Any] | None = None,
            input_shape: Shape | None = None, batch: int | None = None, dtype: str = "float32",
            limits: Limits | None = None) -> Analysis:
    """Expand a spec (or a spec file) under `overrides` and count every layer.

    `overrides` are `--set` values: numbers, or text parsed like a spec value.
    """
    if not isinstance(spec, Spec):
        spec = load(spec)
    parsed: dict[str, Any] = {}
    for k, v in (overrides or {}).items():
        if isinstance(v, str):
            from .graph import parse_override
            _, v = parse_override(f"{k}={v}")
        parsed[k] = v
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise SpecError(f"batch must be a whole number >= 1, received {batch!r}")
    graph = build(spec, overrides=parsed, input_shape=input_shape, batch=batch, limits=limits)
    return walk(graph, dtype=dtype)


__all__ = ["KINDS", "Analysis", "ArchcalcError", "Graph", "KindError", "Limits", "Location", "Row",
           "Spec", "SpecError", "Totals", "__version__", "analyze", "build", "load", "walk"]
