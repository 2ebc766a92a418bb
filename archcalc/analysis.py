"""The result of a walk: one row per layer, totals, and the conventions that give them meaning."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .formula import Formula
from .record import Frozen, Record
from .shape import Shape

if TYPE_CHECKING:
    from .graph import Graph, Node

SCHEMA_VERSION = 1

CONVENTIONS: dict[str, str] = {
    "shapes": "H x W x C (height, width, channels), or a flat length; batch not shown",
    "macs": "multiply-accumulates of conv and dense kernels only, bias excluded "
            "(the case-study notes' 'multiplications'; torchvision's 'GFLOPS', fvcore, thop)",
    "flops": "2 x MACs",
    "other_ops": "operations that are not kernel MACs, by category, never folded into MACs",
    "params": "trainable + non-trainable; BatchNorm: 2C trainable (gamma, beta) + "
              "2C non-trainable (running mean, variance)",
    "counts": "totals over the batch",
    "activation_bytes": "every layer's output (the input included) held at once, times the dtype size",
}


class Row(Record):
    """One layer's figures (or, folded, one block's)."""

    __slots__ = ("name", "kind", "index", "inputs", "input_shapes", "output_shape", "trainable",
                 "non_trainable", "macs", "other", "params_formula", "macs_formula", "other_formulas",
                 "node", "layers", "activation_elems")

    #: A training-only layer (or a folded block of them only) is a `TrainingRow`: at inference it
    #: holds its parameters and does not run (zero MACs, other ops and activations in its row).
    #: A class attribute, not a slot: a million rows carry no flag (benchmarks/bench_analytic.py).
    training_only = False

    def __init__(self, name: str, kind: str, index: int, inputs: tuple[str, ...],
                 input_shapes: tuple[Shape, ...], output_shape: Shape, trainable: int, non_trainable: int,
                 macs: int, other: dict[str, int], params_formula: Formula | None = None,
                 macs_formula: Formula | None = None, other_formulas: dict[str, Formula] | None = None,
                 node: Node | None = None, layers: int = 1, activation_elems: int = -1) -> None:
        self.name, self.kind, self.index, self.inputs = name, kind, index, inputs
        self.input_shapes, self.output_shape = input_shapes, output_shape
        self.trainable, self.non_trainable, self.macs, self.other = trainable, non_trainable, macs, other
        self.params_formula, self.macs_formula = params_formula, macs_formula
        self.other_formulas = {} if other_formulas is None else other_formulas
        self.node = node
        self.layers = layers  # layers folded into this row
        # output elements held by this row's layers (per sample); -1: this row's output
        self.activation_elems = math.prod(output_shape) if activation_elems < 0 else activation_elems

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


class TrainingRow(Row):
    """The row of a training-only layer (see `Row.training_only`)."""

    __slots__ = ()
    training_only = True


class Totals(Frozen):
    """Sums over the layers of an analysis."""

    __slots__ = ("params", "trainable_params", "non_trainable_params", "macs", "flops", "other_ops",
                 "param_bytes", "activation_bytes", "layers")

    def __init__(self, params: int, trainable_params: int, non_trainable_params: int, macs: int, flops: int,
                 other_ops: dict[str, int], param_bytes: int, activation_bytes: int, layers: int) -> None:
        self.params, self.trainable_params, self.non_trainable_params = params, trainable_params, non_trainable_params
        self.macs, self.flops, self.other_ops = macs, flops, other_ops
        self.param_bytes, self.activation_bytes, self.layers = param_bytes, activation_bytes, layers

    def __hash__(self) -> int:
        return hash(tuple(v for v in self._values() if not isinstance(v, dict)))

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params, "macs": self.macs,
                "flops": self.flops, "other_ops": dict(self.other_ops),
                "param_bytes": self.param_bytes, "activation_bytes": self.activation_bytes,
                "layers": self.layers}


class Analysis(Record):
    """Rows and totals of one spec under one setting (variables, input, batch, dtype)."""

    __slots__ = ("graph", "rows", "dtype", "bytes_per_value", "_totals")

    def __init__(self, graph: Graph, rows: list[Row], dtype: str = "float32", bytes_per_value: int = 4) -> None:
        self.graph, self.rows, self.dtype, self.bytes_per_value = graph, rows, dtype, bytes_per_value
        self._totals: Totals | None = None

    @property
    def batch(self) -> int:
        return self.graph.batch

    @property
    def name(self) -> str:
        """The spec's name, or the name of the variant it was analysed in."""
        return self.graph.name

    @property
    def training(self) -> bool:
        """Whether this is a training pass (training-only layers run), or inference."""
        return self.graph.training

    @property
    def input_shape(self) -> Shape:
        return self.rows[0].output_shape

    @property
    def outputs(self) -> list[Row]:
        return [self.rows[i] for i in self.graph.outputs]

    @property
    def totals(self) -> Totals:
        """Sums over the layers, each counted once (folded rows are never summed again)."""
        if self._totals is None:
            tr = nt = macs = act = 0
            other: dict[str, int] = {}
            for r in self.rows:
                tr += r.trainable
                nt += r.non_trainable
                macs += r.macs
                act += r.activation_elems
                for k, v in r.other.items():
                    other[k] = other.get(k, 0) + v
            from .kinds import OTHER_OPS
            other = {k: other[k] for k in OTHER_OPS if k in other}
            self._totals = Totals(tr + nt, tr, nt, macs, 2 * macs, other,
                                  (tr + nt) * self.bytes_per_value,
                                  act * self.batch * self.bytes_per_value, len(self.rows))
        return self._totals

    def folded(self, depth: int | None) -> list[Row]:
        """Rows with every block instance deeper than `depth` levels folded into one row."""
        if depth is None:
            return self.rows
        instances = self.graph.instances
        out: list[Row] = []
        groups: dict[str, Row] = {}
        mixed: dict[str, bool] = {}  # block -> whether a layer of it runs at inference
        for r in self.rows:
            parts = r.name.split("/")
            if len(parts) <= depth:
                out.append(r)
                continue
            key = "/".join(parts[:depth])
            inst = instances.get(key)
            if inst is None:  # pragma: no cover - nested names always come from blocks
                out.append(r)
                continue
            g = groups.get(key)
            if g is None:
                outshape = self.rows[inst.output].output_shape
                g = Row(name=key, kind=inst.block, index=r.index, inputs=r.inputs,
                        input_shapes=r.input_shapes, output_shape=outshape, trainable=0,
                        non_trainable=0, macs=0, other={}, layers=0, activation_elems=0)
                mixed[key] = not r.training_only
                groups[key] = g
                out.append(g)
            g.trainable += r.trainable
            g.non_trainable += r.non_trainable
            g.macs += r.macs
            g.layers += 1
            g.activation_elems += r.activation_elems
            if not r.training_only:
                mixed[key] = True
            for k, v in r.other.items():
                g.other[k] = g.other.get(k, 0) + v
        for key, g in groups.items():
            if not mixed[key]:
                g.__class__ = TrainingRow  # the same slots: a block of training-only layers
        return out

    def to_dict(self, depth: int | None = None, formulas: bool = False, convention: str | None = None,
                torch: dict[str, str] | None = None) -> dict[str, Any]:
        """A JSON-ready dict (schema_version 1); integers stay integers.

        `convention` adds what that tool would count (archcalc.profiles), per layer and in total.
        """
        from . import memory, profiles, receptive
        t = self.totals
        spec = self.graph.spec
        rfs = receptive.fields(self)
        conv = profiles.per_layer(self, convention, torch=torch) if convention else None
        layers = []
        for r in self.folded(depth):
            d: dict[str, Any] = {
                "name": r.name, "kind": r.kind, "inputs": list(r.inputs),
                "input_shapes": [list(s) for s in r.input_shapes],
                "output_shape": list(r.output_shape), "params": r.params,
                "trainable_params": r.trainable, "non_trainable_params": r.non_trainable,
                "macs": r.macs, "flops": 2 * r.macs, "other_ops": dict(r.other),
            }
            if r.layers != 1:
                d["layers"] = r.layers
            if r.training_only:
                d["training_only"] = True
            d["param_bytes"] = memory.param_bytes(self, r)
            d["activation_bytes"] = memory.activation_bytes(self, r)
            f = receptive.row_field(self, r, rfs)
            d["receptive_field"] = f.to_dict() if f is not None else None
            if conv is not None:
                d["convention_ops"] = profiles.row_total(self, r, conv)
            if formulas and r.macs_formula is not None:
                d["macs_formula"] = r.macs_formula.explain()
                d["params_formula"] = r.params_formula.explain() if r.params_formula else "0"
            layers.append(d)
        peak = memory.peak_detail(self)
        totals = dict(t.to_dict(), peak_activation_bytes=peak.bytes, peak_activation_at=peak.at)
        extra: dict[str, Any] = {}
        if convention:
            p = profiles.PROFILES[convention]
            b = profiles.breakdown(self, convention, torch=torch)
            extra["convention"] = {"name": p.name, "tool": p.tool, "headline": p.headline,
                                   "total": sum(b.values()), "breakdown": b, "torch_ops": dict(torch or {})}
        return {
            "schema_version": SCHEMA_VERSION,
            "spec": {"name": self.name, "path": spec.path, "variant": self.graph.variant},
            "training": self.training,
            "conventions": dict(CONVENTIONS, batch=self.batch, dtype=self.dtype,
                                bytes_per_value=self.bytes_per_value, receptive_field=receptive.NOTE,
                                peak_activation_bytes=memory.NOTE),
            "variables": {k: _jsonable(v) for k, v in self.graph.env.items()},
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "outputs": [{"name": r.name, "shape": list(r.output_shape)} for r in self.outputs],
            "output_shape": list(self.outputs[-1].output_shape),
            "totals": totals,
            **extra,
            "layers": layers,
        }

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.text import Text

        from .render import table
        for text, style in table(self, bars=("macs",), width=options.max_width):
            yield Text(text, style=style or "", no_wrap=True, overflow="ignore")


def _jsonable(v: Any) -> Any:
    from fractions import Fraction
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return int(v)
        try:
            return float(v)
        except OverflowError:  # an exact value too large for a JSON number: keep it as text
            return str(v)
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v
