"""archcalc: what does this network cost? Shapes, parameters and MACs from a YAML spec.

    import archcalc
    spec = archcalc.load("specs/lenet5.yaml")
    an = archcalc.analyze(spec)            # or analyze("specs/lenet5.yaml", overrides={"alpha": 0.5})
    an.totals.params, an.totals.macs       # 61706, 416520
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below load on first use: `import archcalc.errors` stays cheap
    from pathlib import Path

    from .analysis import Analysis, Row, Totals
    from .errors import ArchcalcError, KindError, Location, SpecError
    from .graph import Graph, Limits, build
    from .shape import Shape
    from .spec import Spec, load
    from .walk import walk

__version__ = "0.1.0"

_LAZY = {
    "Analysis": "analysis", "Row": "analysis", "Totals": "analysis",
    "ArchcalcError": "errors", "KindError": "errors", "Location": "errors", "SpecError": "errors",
    "Graph": "graph", "Limits": "graph", "build": "graph",
    "Spec": "spec", "load": "spec", "walk": "walk",
}


def __getattr__(name: str) -> Any:
    """Import the public API on first use, so a command imports only the modules it runs."""
    if name == "KINDS":
        from types import MappingProxyType

        from .kinds import REGISTRY
        value: Any = MappingProxyType({k: v for k, v in sorted(REGISTRY.items()) if not v.internal})
    elif name in _LAZY:
        from importlib import import_module
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'archcalc' has no attribute {name!r}")
    globals()[name] = value
    return value


def analyze(spec: Spec | str | Path, *, overrides: dict[str, Any] | None = None,
            input_shape: Shape | None = None, batch: int | None = None, dtype: str = "float32",
            limits: Limits | None = None, depth: int | None = None, input_layout: str | None = None,
            variant: str | None = None, training: bool = False) -> Analysis:
    """Expand a spec (or a spec file) under `overrides` and count every layer.

    `overrides` are `--set` values: numbers, or text parsed like a spec value (after every
    name is checked against the spec's variables). `input_shape`
    replaces the spec's input, written in `input_layout` ("HWC", the default, or "CHW").
    `depth` folds blocks deeper than that when the analysis is shown (its repr in a notebook,
    rich, `records()`), as `--depth` does; 0 shows the totals alone. `rows` keeps every layer.
    `variant` names one of the spec's `variants:`; a path may name it too, as the command line does
    (`"specs/densenet.yaml@densenet161"`, also with settings: `"...@densenet161,resolution=160"`,
    which win over `overrides`). `training=True` counts a training pass: training-only layers
    (auxiliary heads) then run, so their MACs, other operations, memory and outputs count;
    at inference (the default) only their parameters do.
    """
    from .errors import SpecError
    from .graph import build
    from .spec import Spec, load, split_selector
    from .walk import walk
    own: list[str] = []
    if not isinstance(spec, Spec):
        path, named, own = split_selector(str(spec)) if isinstance(spec, str) else (spec, None, [])
        if named is not None:
            if variant is not None and variant != named:
                raise SpecError(f"{spec}: names variant '{named}', and variant={variant!r} another")
            variant = named
        spec = load(path)
    from .graph import _typed, overrides_for
    parsed = overrides_for(spec, overrides)
    if own:  # settings after the path's '@' (split_selector keeps those holding '='), which win
        mine = {}
        for text in own:
            name, _, value = text.partition("=")
            mine[name.strip()] = value.strip()
        parsed.update(overrides_for(spec, mine, f"{_typed(str(path))}@"))
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise SpecError(f"batch must be a whole number >= 1, received {batch!r}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise SpecError(f"depth must be a whole number >= 0, received {depth!r}")
    graph = build(spec, overrides=parsed, input_shape=input_shape, batch=batch, limits=limits,
                  input_layout=input_layout, variant=variant, training=training)
    an = walk(graph, dtype=dtype)
    an.depth = depth
    return an


__all__ = ["KINDS", "Analysis", "ArchcalcError", "Graph", "KindError", "Limits", "Location", "Row",
           "Spec", "SpecError", "Totals", "__version__", "analyze", "build", "load", "walk"]
