"""Analysis -> data: the JSON document of a report, one record per row, a pandas DataFrame.

The report layer sits above the analysis: it reads rows and totals and asks `memory`,
`receptive` and `profiles` for what they derive from them. Nothing below it imports it, so
`Analysis` stays a value (rows, totals, folding) and every shape of its output is built here
(JSON) or in `render` (text).

`to_dict(an)` is the whole document as one dict; `iter_json(an)` writes the same document
piece by piece, one layer per line, so a graph of 100,000 layers is encoded by the C encoder
a line at a time and never held twice (finding 33 of issue 15: `json.dumps(indent=2)` falls
back to the pure-Python encoder, and took 8 s and 730 MB where the table took 2 s).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis import Analysis, Row

#: Version of the JSON documents of `summarize`, `compare` and `sweep`. Fields are only ever
#: added within a version; a field that changes meaning or goes away bumps it.
SCHEMA_VERSION = 1

CONVENTIONS: dict[str, str] = {
    "shapes": "H x W x C (height, width, channels), L x C (a sequence of L tokens), or a flat length; "
              "batch not shown",
    "macs": "multiply-accumulates of kernels (conv, dense, linear) and of matrix products of activations "
            "(attention, matmul) only, bias excluded "
            "(the case-study notes' 'multiplications'; torchvision's 'GFLOPS', fvcore, thop)",
    "flops": "2 x MACs",
    "other_ops": "operations that are not kernel MACs, by category, never folded into MACs",
    "params": "trainable + non-trainable; BatchNorm: 2C trainable (gamma, beta) + "
              "2C non-trainable (running mean, variance)",
    "counts": "totals over the batch",
    "activation_bytes": "every layer's output (the input included) held at once, times the dtype size",
    "torch_params": "parameters as PyTorch counts them (sum of p.numel() over model.parameters(), "
                    "torchvision's num_params): params without the buffers",
    "buffers": "running statistics (BatchNorm's mean and variance): buffers in PyTorch, outside its "
               "parameters; non-trainable weights in Keras, inside its Total params",
    "estimated_total_bytes": "param_bytes (parameters and buffers) + peak_activation_bytes: "
                             "the memory of an inference pass",
}

_SEPARATORS = (", ", ": ")


def jsonable(v: Any) -> Any:
    """A variable's value for JSON: exact integers stay integers; other fractions become floats,
    or text when too large for a float."""
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return int(v)
        try:
            return float(v)
        except OverflowError:  # an exact value too large for a JSON number: keep it as text
            return str(v)
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


def totals_dict(an: Analysis) -> dict[str, Any]:
    """The `totals` object: the sums of `Totals`, the peak, and the words torch and Keras use."""
    from . import memory
    t = an.totals
    peak = memory.peak_detail(an)
    return dict(t.to_dict(), peak_activation_bytes=peak.bytes, peak_activation_at=peak.at,
                torch_params=t.torch_params, buffers=t.buffers, input_bytes=memory.input_bytes(an),
                buffer_bytes=t.buffers * an.bytes_per_value,
                estimated_total_bytes=t.param_bytes + peak.bytes)


def _head(an: Analysis, convention: str | None, torch: dict[str, str] | None, step: Any = None) -> dict[str, Any]:
    """Every key of the document but `layers`, in the document's order."""
    from . import memory, receptive
    spec = an.graph.spec
    extra: dict[str, Any] = {}
    if convention:
        from . import profiles
        p = profiles.PROFILES[convention]
        b = profiles.breakdown(an, convention, torch=torch)
        extra["convention"] = {"name": p.name, "tool": p.tool, "headline": p.headline,
                               "total": sum(b.values()), "breakdown": b,
                               "torch_ops": profiles.torch_selectors(an, torch)}
    return {
        "schema_version": SCHEMA_VERSION,
        "spec": {"name": an.name, "path": spec.path, "variant": an.graph.variant},
        "training": an.training,
        "conventions": dict(CONVENTIONS, batch=an.batch, dtype=an.dtype,
                            bytes_per_value=an.bytes_per_value, receptive_field=receptive.NOTE,
                            peak_activation_bytes=memory.NOTE),
        "variables": {k: jsonable(v) for k, v in an.graph.env.items()},
        "input_shape": list(an.input_shape),
        "input_layout": an.graph.layout,
        "batch": an.batch,
        "outputs": [{"name": r.name, "shape": list(r.output_shape)} for r in an.outputs],
        "output_shape": list(an.outputs[-1].output_shape),
        "totals": totals_dict(an),
        **extra,
        **({"training_step": step.to_dict()} if step is not None else {}),
    }


def iter_layers(an: Analysis, depth: int | None = None, formulas: bool = False, convention: str | None = None,
                torch: dict[str, str] | None = None, shared: bool = False, step: Any = None
                ) -> Iterator[dict[str, Any]]:
    """The `layers` of the document, one dict at a time (folded to `depth`).

    With `shared` (for encoding at once, as `iter_json` does), rows that share their input
    shapes, output shape, other ops or receptive field share one converted copy of it: a long
    chain of equal layers converts each once. Without it, every dict is the caller's own."""
    from . import receptive
    rfs = receptive.fields(an)
    conv = None
    if convention:
        from . import profiles
        conv = profiles.per_layer(an, convention, torch=torch)
    memo: dict[int, Any] = {}  # id of a row's (immutable, living) part -> its JSON-ready form

    def once(obj: Any, convert: Any) -> Any:
        if not shared:
            return convert(obj)
        v = memo.get(id(obj))
        if v is None:
            v = memo[id(obj)] = convert(obj)
        return v

    bpv, batch = an.bytes_per_value, an.batch
    rows = an.folded(depth)  # held while iterating: memo's ids stay those of living objects
    for r in rows:
        d: dict[str, Any] = {
            "name": r.name, "kind": r.kind, "inputs": list(r.inputs),
            "input_shapes": once(r.input_shapes, lambda x: [list(s) for s in x]),
            "output_shape": once(r.output_shape, list), "params": r.params,
            "trainable_params": r.trainable, "non_trainable_params": r.non_trainable,
            "macs": r.macs, "flops": 2 * r.macs, "other_ops": once(r.other, dict),
        }
        if r.layers != 1:
            d["layers"] = r.layers
        if r.training_only:
            d["training_only"] = True
        d["param_bytes"] = r.params * bpv
        d["activation_bytes"] = r.activation_elems * batch * bpv
        f = receptive.row_field(an, r, rfs)
        d["receptive_field"] = None if f is None else once(f, lambda x: x.to_dict())
        if conv is not None:
            from .profiles import row_total
            d["convention_ops"] = row_total(an, r, conv)
        if formulas and r.macs_formula is not None:
            d["macs_formula"] = r.macs_formula.explain()
            d["params_formula"] = r.params_formula.explain() if r.params_formula else "0"
        if step is not None:  # --train: the layer's part of a training step (archcalc.training)
            from .training import layer_dict
            d.update(layer_dict(step, r, formulas))
        yield d


def to_dict(an: Analysis, depth: int | None = None, formulas: bool = False, convention: str | None = None,
            torch: dict[str, str] | None = None, step: Any = None) -> dict[str, Any]:
    """The JSON document of `summarize -f json` as a dict (schema_version 1); integers stay integers.

    `depth` folds blocks as `--depth` does; `formulas` adds each layer's formulas (`--explain`);
    `convention` adds what that tool would count (archcalc.profiles), per layer and in total,
    with `torch` naming the torch op of layers (`--torch-op`).
    """
    d = _head(an, convention, torch, step)
    d["layers"] = list(iter_layers(an, depth, formulas, convention, torch, step=step))
    return d


def iter_json(an: Analysis, depth: int | None = None, formulas: bool = False, convention: str | None = None,
              torch: dict[str, str] | None = None, step: Any = None) -> Iterator[str]:
    """`to_dict` as JSON text in pieces: the head indented, then one layer per line.

    Each layer is encoded on its own by the C encoder and dropped, so the whole costs time and
    memory in proportion to one layer, not to the document.
    """
    head = json.dumps(_head(an, convention, torch, step), indent=2)
    yield head[:-2] + ',\n  "layers": ['  # the head ends in "\n}"
    enc = json.JSONEncoder(separators=_SEPARATORS).encode
    sep = "\n    "
    for d in iter_layers(an, depth, formulas, convention, torch, shared=True, step=step):
        yield sep + enc(d)
        sep = ",\n    "
    yield "\n  ]\n}\n"


def to_json(an: Analysis, depth: int | None = None, formulas: bool = False, convention: str | None = None,
            torch: dict[str, str] | None = None, step: Any = None) -> str:
    """`iter_json` joined: the text of `summarize -f json`."""
    return "".join(iter_json(an, depth, formulas, convention, torch, step))


def record(an: Analysis, r: Row, categories: tuple[str, ...] = ()) -> dict[str, Any]:
    """One row as a flat record: a column per figure, one per other-op category in `categories`.

    `params` counts buffers (BatchNorm running statistics) as JSON does; `torch_params` does not,
    as the table does."""
    d: dict[str, Any] = {
        "name": r.name, "kind": r.kind, "layers": r.layers, "output_shape": tuple(r.output_shape),
        "params": r.params, "trainable_params": r.trainable, "non_trainable_params": r.non_trainable,
        "torch_params": r.params - r.non_trainable, "macs": r.macs, "flops": 2 * r.macs,
    }
    for k in categories:
        d[k] = r.other.get(k, 0)
    d["param_bytes"] = r.params * an.bytes_per_value
    d["activation_bytes"] = r.activation_elems * an.batch * an.bytes_per_value
    return d


def records(an: Analysis, depth: int | None = None) -> list[dict[str, Any]]:
    """Every row (folded to `depth`) as a flat record, for a DataFrame or a spreadsheet.

    The other-op columns are the categories the network has, in `kinds.OTHER_OPS` order, so
    every record has the same keys and each column sums to the total of the same name.
    """
    cats = tuple(an.totals.other_ops)
    return [record(an, r, cats) for r in an.folded(depth)]


def to_dataframe(an: Analysis, depth: int | None = None) -> Any:
    """`records` as a `pandas.DataFrame` indexed by layer name (pandas is not a dependency)."""
    try:
        import pandas as pd
    except ImportError:
        from .errors import ArchcalcError
        raise ArchcalcError("to_dataframe() needs pandas, which is not installed",
                            hint="pip install pandas; or use records(), a list of dicts") from None
    return pd.DataFrame.from_records(records(an, depth), index="name")


__all__ = ["CONVENTIONS", "SCHEMA_VERSION", "iter_json", "iter_layers", "jsonable", "record", "records",
           "to_dataframe", "to_dict", "to_json", "totals_dict"]
