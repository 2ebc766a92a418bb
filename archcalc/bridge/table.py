"""The operator table: ONNX operator -> importer, layer kind -> exporters.

One module of `ops/` per family of kinds (mirroring `archcalc/kinds/` and `archcalc/forward/`)
registers its entries with `@imports("Conv")` and `@exports("conv", onnx=..., torch=...)`;
a new kind extends the table there and nowhere else. Importing this module loads them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: ONNX op type -> fn(ctx, node) that emits layers through ctx (see importer.Context)
IMPORTERS: dict[str, Callable[..., None]] = {}
#: ONNX op type -> patterns tried first at a node of that type: fn(ctx, node) -> True when it
#: recognised several nodes from there as one layer (and absorbed the others)
PATTERNS: dict[str, list[Callable[..., bool]]] = {}
#: recognisers of a module scope as one layer (attention): fn(ctx, node, state) -> bool, tried at
#: every live node, with `fn.prepare(ctx) -> state` computed once per model
REGIONS: list[Any] = []


@dataclass(frozen=True)
class Export:
    """How one kind leaves archcalc.

    `onnx(b, node, ins, in_shapes, out_shape, ws) -> output tensor name` adds ONNX nodes
    through the builder `b` (onnx_out.Builder) from the executor's weights `ws`.
    `torch(kind, in_shapes, out_shape) -> TorchLayer` gives the module (or functional call)
    that computes the kind in PyTorch, NCHW.
    `nchw(kind, ws, in_shapes, perm) -> ws` turns the executor's weights (docs/executor.md) into
    the layouts ONNX and PyTorch share; `perm` is the order of a flat input vector that came
    from flattening C x H x W (position j holds archcalc's element perm[j]), or None.
    """

    onnx: Callable[..., str]
    torch: Callable[..., Any]
    nchw: Callable[..., dict[str, Any]] | None = None


def no_weights(kind: Any, ws: dict[str, Any], ins: list[Any], perm: Any) -> dict[str, Any]:
    return dict(ws)


EXPORTERS: dict[str, Export] = {}


def imports(*op_types: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def deco(fn: Callable[..., None]) -> Callable[..., None]:
        for t in op_types:
            IMPORTERS[t] = fn
        return fn
    return deco


def pattern(*op_types: str) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """A recogniser of several nodes as one layer, tried at nodes of `op_types` (its first node)."""
    def deco(fn: Callable[..., bool]) -> Callable[..., bool]:
        for t in op_types:
            PATTERNS.setdefault(t, []).append(fn)
        return fn
    return deco


def region(prepare: Callable[..., Any]) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """A recogniser of a module's scope as one layer; `prepare(ctx)` indexes the model once."""
    def deco(fn: Callable[..., bool]) -> Callable[..., bool]:
        fn.prepare = prepare  # type: ignore[attr-defined]
        REGIONS.append(fn)
        return fn
    return deco


def exports(*kinds: str, onnx: Callable[..., str], torch: Callable[..., Any],
            nchw: Callable[..., dict[str, Any]] | None = None) -> None:
    for k in kinds:
        EXPORTERS[k] = Export(onnx, torch, nchw or no_weights)


@dataclass
class TorchLayer:
    """A kind in PyTorch: a module `ctor(**args)` (`nn.Conv2d`), or, with `ctor` None, a
    functional step whose forward expression is `call` formatted with the input variables
    (`"{0} + {1}"`) and its arguments by name. `args` are keyword arguments in order; fold.py turns the ones that vary
    between instances of a block into the block's constructor arguments; a text value is Python
    source (an argument's name, or a literal written with repr: `repr("tanh")`). `weights` maps the
    executor's weight names to the module's parameter names; `pad` (left, right, top, bottom)
    is zero padding the module cannot express itself (TensorFlow's asymmetric `same`)."""

    ctor: str | None
    args: dict[str, Any]
    call: str = ""                 # a functional step: inputs {0}, {1}, ...; its args by {name}
    weights: dict[str, str] | None = None
    pad: tuple[int, int, int, int] | None = None
    pad_value: float = 0.0
    post: str = ""                 # appended to the module's call: `.flatten(1)`
    apply: str = ""                # how the module `{m}` is applied to `{x}`, when not `{m}({x})`
    helpers: tuple[str, ...] = ()  # classes of TORCH_HELPERS the module (or step) needs


#: Small nn.Module classes (and functions) the exported source defines for kinds PyTorch has no
#: module for (layer scale, a class token, window attention, ...): name -> source. Registered
#: by the family modules of ops/ with `torch_helper`.
TORCH_HELPERS: dict[str, str] = {}


def torch_helper(name: str, source: str) -> None:
    TORCH_HELPERS[name] = source.strip("\n")


for _m in pkgutil.iter_modules(importlib.import_module(f"{__package__}.ops").__path__):
    importlib.import_module(f"{__package__}.ops.{_m.name}")
