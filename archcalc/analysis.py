"""The result of a walk: one row per layer, totals, and the conventions that give them meaning."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .formula import Formula
from .record import Frozen, Record
from .shape import Shape

if TYPE_CHECKING:
    from .graph import Graph, Node


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

    def __repr__(self) -> str:
        # not every slot: `node` and the formulas would print the spec item and whole derivations
        return (f"Row(name={self.name!r}, kind={self.kind!r}, output_shape={self.output_shape!r}, "
                f"params={self.params!r}, macs={self.macs!r}" + (f", layers={self.layers!r})" if self.layers != 1
                                                                 else ")"))


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

    @property
    def buffers(self) -> int:
        """Running statistics (BatchNorm's mean and variance): the non-trainable weights.

        PyTorch keeps them as buffers, outside `model.parameters()`; Keras counts them as
        non-trainable params. archcalc's only non-trainable weights are such statistics
        (`kinds.base.Weight`), so this is `non_trainable_params` under its PyTorch name.
        """
        return self.non_trainable_params

    @property
    def torch_params(self) -> int:
        """The parameter count PyTorch users see (torchvision's `num_params`): without buffers."""
        return self.params - self.buffers

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params, "macs": self.macs,
                "flops": self.flops, "other_ops": dict(self.other_ops),
                "param_bytes": self.param_bytes, "activation_bytes": self.activation_bytes,
                "layers": self.layers}


class Analysis(Record):
    """Rows and totals of one spec under one setting (variables, input, batch, dtype)."""

    __slots__ = ("graph", "rows", "dtype", "bytes_per_value", "_totals", "depth")

    def __init__(self, graph: Graph, rows: list[Row], dtype: str = "float32", bytes_per_value: int = 4,
                 depth: int | None = None) -> None:
        self.graph, self.rows, self.dtype, self.bytes_per_value = graph, rows, dtype, bytes_per_value
        self._totals: Totals | None = None
        #: how deep blocks are shown when this analysis is displayed (notebook, rich, records);
        #: `rows` always holds every layer
        self.depth = depth

    @property
    def warnings(self) -> list[Any]:
        """Diagnostics about the spec that are not errors (an input that looks channels-first)."""
        return self.graph.warnings

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
        """Rows with every block instance deeper than `depth` levels folded into one row.

        Depth 0 shows the totals alone: no row."""
        if depth is None:
            return self.rows
        if depth == 0:
            return []
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

    # --- presentation: built by the report layer (report, render), which imports this module ---
    def to_dict(self, depth: int | None = None, formulas: bool = False, convention: str | None = None,
                torch: dict[str, str] | None = None) -> dict[str, Any]:
        """The JSON document of `summarize -f json` as a dict: `archcalc.report.to_dict`."""
        from .report import to_dict
        return to_dict(self, depth, formulas, convention, torch)

    def records(self, depth: int | None = None) -> list[dict[str, Any]]:
        """One flat dict per row, folded to `depth` (default: this analysis's): `report.records`."""
        from .report import records
        return records(self, self.depth if depth is None else depth)

    def to_dataframe(self, depth: int | None = None) -> Any:
        """`records()` as a pandas DataFrame indexed by layer name (needs pandas)."""
        from .report import to_dataframe
        return to_dataframe(self, self.depth if depth is None else depth)

    def __repr__(self) -> str:
        from .render import short
        return f"<Analysis {short(self)}>"

    def _repr_html_(self) -> str:
        """Jupyter: the summary table, folded to `depth`, and the totals."""
        from .render import to_html
        return to_html(self, self.depth)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.text import Text

        from .render import table
        from .textable import WRAPPED
        for text, style in table(self, self.depth, bars=("macs",), width=options.max_width):
            wrapped = style in WRAPPED  # prose wraps at the console's width; table rows never do
            yield Text(text, style="dim" if style == "dim" else "" if wrapped else style, no_wrap=not wrapped,
                       overflow="fold" if wrapped else "ignore")
