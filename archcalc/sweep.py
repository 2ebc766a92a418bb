"""A grid of variable values (and input shapes, batch sizes) evaluated on one parsed spec.

    import archcalc
    from archcalc.sweep import sweep
    s = sweep(archcalc.load("specs/mobilenet_v1.yaml"),
              {"alpha": [1, 0.75, 0.5, 0.25], "resolution": [224, 192, 160, 128]})
    [(p.values, p.macs) for p in s.points]

The YAML is read once: each point re-expands the parsed spec with `graph.build(spec,
overrides=...)` and walks it as `summarize` does, keeping only the totals. An invalid point
raises the usual located error.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import textable
from .errors import ArchcalcError, SpecError, add_note
from .graph import Graph, Limits, build, check_override_names, overrides_for, parse_override
from .graph import typed as typed_key
from .shape import Shape
from .spec import Spec
from .textable import Line
from .walk import DTYPE_BYTES, walk

#: The totals a sweep reports per point, (key, column label).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("params", "params"),
    ("trainable_params", "trainable"),
    ("macs", "MACs"),
    ("flops", "FLOPs"),
    ("param_bytes", "param memory (B)"),
    ("activation_bytes", "activation memory (B)"),
)
#: A training step's totals per point, with --train (archcalc.training): (key, column label).
TRAINING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("step_macs", "step MACs"),
    ("saved_bytes", "saved activations (B)"),
    ("peak_bytes", "peak training memory (B)"),
)


@dataclass(frozen=True, slots=True)
class Point:
    """One combination of the grid and its totals (the same figures as `Analysis.totals`)."""

    values: dict[str, Any]          # variable -> value set at this point
    input_shape: Shape
    batch: int
    output_shape: Shape
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    param_bytes: int
    activation_bytes: int
    training: dict[str, Any] | None = None   # the training step's figures (TRAINING_COLUMNS), with --train

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def figure(self, key: str) -> int:
        """A total of COLUMNS or TRAINING_COLUMNS."""
        return self.training[key] if self.training is not None and key in self.training else getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        from .report import jsonable as _jsonable
        return {"variables": {k: _jsonable(v) for k, v in self.values.items()},
                "input_shape": list(self.input_shape), "batch": self.batch,
                "output_shape": list(self.output_shape), "params": self.params,
                "trainable_params": self.trainable_params, "non_trainable_params": self.non_trainable_params,
                "macs": self.macs, "flops": self.flops, "param_bytes": self.param_bytes,
                "activation_bytes": self.activation_bytes,
                **({"training_step": self.training} if self.training is not None else {})}


@dataclass
class Sweep:
    """Every point of a grid, in order: the first axis varies slowest."""

    spec: Spec
    axes: list[tuple[str, list[Any]]]   # variable axes, then "input" and "batch" when swept
    points: list[Point]
    dtype: str = "float32"
    variant: str | None = None          # the spec's variant every point is taken in
    training: bool = False              # a training pass (--train) at every point
    step: Any = None                    # training.Options: a training step's cost at every point

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """The totals each point shows: COLUMNS, and TRAINING_COLUMNS with a training step."""
        return COLUMNS + (TRAINING_COLUMNS if self.step is not None else ())

    @property
    def name(self) -> str:
        """The spec's name, or its variant's."""
        v = self.spec.variant(self.variant)
        return v.title if v is not None else self.spec.name

    def ratio(self, metric: str, i: int) -> Fraction | None:
        """Point i's figure over the first point's, exactly (None when the first's is 0)."""
        base = getattr(self.points[0], metric)
        return Fraction(getattr(self.points[i], metric), base) if base else None

    def to_dict(self) -> dict[str, Any]:
        from .compare import fraction_json
        from .report import CONVENTIONS, SCHEMA_VERSION
        from .report import jsonable as _jsonable
        return {
            "schema_version": SCHEMA_VERSION,
            "spec": {"name": self.name, "path": self.spec.path, "variant": self.variant},
            "training": self.training,
            **({"training_step": {"optimizer": self.step.optimizer, "amp": self.step.amp,
                                  "checkpoint": list(self.step.checkpoint)}} if self.step is not None else {}),
            "conventions": dict(CONVENTIONS, dtype=self.dtype, bytes_per_value=DTYPE_BYTES[self.dtype]),
            "axes": {k: [list(v) if isinstance(v, tuple) else _jsonable(v) for v in vs] for k, vs in self.axes},
            "points": [dict(p.to_dict(), macs_ratio_to_first=fraction_json(self.ratio("macs", i)))
                       for i, p in enumerate(self.points)],
        }


def grid(axes: Sequence[tuple[str, Sequence[Any]]]) -> Iterator[dict[str, Any]]:
    """Every combination of the axes' values, the first axis varying slowest."""
    names = [n for n, _ in axes]
    for combo in itertools.product(*(vs for _, vs in axes)):
        yield dict(zip(names, combo, strict=True))


def parse_values(name: str, values: Sequence[Any]) -> list[Any]:
    """Command-line text values (`0.75`, `224`, `make_divisible(24, 8)`) -> exact numbers."""
    out = []
    for v in values:
        if isinstance(v, str):
            _, v = parse_override(f"{name}={v}")
        elif isinstance(v, float):
            v = Fraction(repr(v))
        out.append(v)
    return out


def sweep(spec: Spec, variables: dict[str, Sequence[Any]] | None = None, *,
          inputs: Sequence[Shape] | None = None, batches: Sequence[int] | None = None,
          dtype: str = "float32", limits: Limits | None = None, variant: str | None = None,
          training: bool = False, overrides: dict[str, Any] | None = None, step: Any = None) -> Sweep:
    """Evaluate `spec` at every combination of `variables` (name -> values), input shapes and
    batch sizes. Values may be numbers or command-line text. Every point is taken in `variant`
    (one of the spec's `variants:`), with `overrides` (fixed settings; a swept axis wins), and
    as a training pass with `training`; with `step` (`training.Options`), a training step's cost too."""
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype {dtype!r}", hint=f"one of: {', '.join(DTYPE_BYTES)}")
    check_override_names(spec, variables or {})  # before any value is evaluated
    fixed = overrides_for(spec, overrides)
    axes: list[tuple[str, list[Any]]] = []
    typed: dict[tuple[str, int], str] = {}  # (variable, position) -> the value as typed, for notes
    for name, values in (variables or {}).items():
        vals = parse_values(name, values)
        if not vals:
            raise SpecError(f"--set {name}: no values given", hint=f"e.g. --set {name}=1,2,3")
        axes.append((name, vals))
        typed.update(((name, i), v if isinstance(v, str) else _show(v)) for i, v in enumerate(values))
    if inputs:
        axes.append(("input", [tuple(s) for s in inputs]))
    if batches:
        for b in batches:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise SpecError(f"batch must be a whole number >= 1, received {b!r}")
        axes.append(("batch", list(batches)))
    points = []
    graphs: dict[tuple[Any, ...], Graph] = {}  # one expansion per variable setting, reshaped per input
    for at in itertools.product(*(range(len(vs)) for _, vs in axes)):
        combo = {name: vs[i] for (name, vs), i in zip(axes, at, strict=True)}
        shape = combo.pop("input", None)
        batch = combo.pop("batch", None)
        try:
            key: tuple[Any, ...] | None = tuple((k, typed_key(v)) for k, v in combo.items())
        except TypeError:  # a value that cannot be a key: expanded afresh
            key = None
        try:
            graph = graphs.get(key) if key is not None else None
            if graph is None:
                graph = build(spec, overrides={**fixed, **combo}, input_shape=shape, batch=batch,
                              limits=limits, variant=variant, training=training)
                if key is not None:
                    graphs[key] = graph
            else:
                graph = graph.reshaped(shape, batch)
            points.append(_point(graph, combo, dtype, step))
        except ArchcalcError as e:  # name the point, its values as typed: the error is in the spec
            if e.loc is not None:
                add_note(e, "at the sweep point " + ", ".join(
                    f"--{name} {_show(vs[i])}" if name in ("input", "batch") else
                    f"--set {name}={typed.get((name, i)) or _show(vs[i])}"
                    for (name, vs), i in zip(axes, at, strict=True)))
            raise
    return Sweep(spec, axes, points, dtype, variant, training, step)


def _point(graph: Graph, values: dict[str, Any], dtype: str, options: Any = None) -> Point:
    """One point's totals, from the same walk as `summarize` (which counts each distinct layer once)."""
    an = walk(graph, dtype=dtype)
    t = an.totals
    figures = None
    if options is not None:
        from .training import step
        s = step(an, options)
        figures = {"step_macs": s.step_macs, "saved_bytes": s.saved_bytes, "peak_bytes": s.peak.bytes,
                   "backward_macs": s.backward_macs, "optimizer_bytes": s.optimizer_bytes}
    return Point(values, an.input_shape, graph.batch, an.outputs[-1].output_shape, t.params, t.trainable_params,
                 t.non_trainable_params, t.macs, t.param_bytes, t.activation_bytes, figures)


# --- rendering ------------------------------------------------------------------------------

def _show(v: Any) -> str:
    from .compare import _show as show
    from .shape import fmt
    return fmt(v) if isinstance(v, tuple) else show(v)


def header(s: Sweep, conventions: str) -> str:
    """The conventions line, as summarize's: spec, grid size, batch, dtype, what the counts mean."""
    dims = " x ".join(f"{len(vs)} {n}" for n, vs in s.axes) or "1 point"
    batches = sorted({p.batch for p in s.points})
    b = ", ".join(map(str, batches))
    return (f"{s.name}: {len(s.points)} point{'s' if len(s.points) != 1 else ''} ({dims}), "
            f"batch {b}, {s.dtype}. {conventions}")


def conventions(s: Sweep) -> str:
    """summarize's conventions sentence, taken from its header (of the first point) word for word."""
    from .render import header as summarize_header
    p = s.points[0]
    an = walk(build(s.spec, overrides=p.values, input_shape=p.input_shape, batch=p.batch, variant=s.variant,
                    training=s.training), dtype=s.dtype)
    text = summarize_header(an)
    return text[text.index("MACs = "):] if "MACs = " in text else text


def grid_cells(s: Sweep) -> tuple[list[str], list[list[str]]]:
    """Columns and cells: each axis, input and output shapes, the totals, MACs over the first point's."""
    names = [n for n, _ in s.axes if n not in ("input", "batch")]
    show_input = "input" in dict(s.axes) or len({p.input_shape for p in s.points}) > 1
    cols = [*names, *(["input"] if show_input else []), *(["batch"] if "batch" in dict(s.axes) else []),
            "output", *(label for _, label in s.columns), "MACs / first"]
    cells = []
    for i, p in enumerate(s.points):
        r = s.ratio("macs", i)
        cells.append([*(_show(p.values[n]) for n in names), *([_show(p.input_shape)] if show_input else []),
                      *([str(p.batch)] if "batch" in dict(s.axes) else []), _show(p.output_shape),
                      *(f"{p.figure(k):,}" for k, _ in s.columns),
                      "-" if r is None else f"{float(r):.3f}"])
    return cols, cells


def table(s: Sweep, conventions: str) -> list[Line]:
    """The conventions line, then one row per point: styled lines (see archcalc.textable)."""
    cols, cells = grid_cells(s)
    first_num = cols.index("params")
    right = [i >= first_num or i < first_num - 1 for i in range(len(cols))]  # the output shape reads left
    return [(header(s, conventions), "dim"), ("", ""), *textable.grid(cols, cells, None, right)]


def to_json(s: Sweep) -> str:
    import json
    return json.dumps(s.to_dict(), indent=2) + "\n"


def to_csv(s: Sweep) -> str:
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = [n for n, _ in s.axes if n not in ("input", "batch")]
    keys = [k for k, _ in s.columns]
    w.writerow([*names, "input_shape", "batch", "output_shape", "non_trainable_params", *keys])
    for p in s.points:
        w.writerow([*(_show(p.values[n]) for n in names), "x".join(map(str, p.input_shape)), p.batch,
                    "x".join(map(str, p.output_shape)), p.non_trainable_params, *(p.figure(k) for k in keys)])
    return buf.getvalue()


def to_markdown(s: Sweep, conventions: str) -> str:
    cols, cells = grid_cells(s)
    first_num = cols.index("params")
    lines = [f"**{s.name}**: {header(s, conventions).split(': ', 1)[1]}".replace("|", "\\|"), "",
             "| " + " | ".join(cols) + " |",
             "|" + "|".join("---:" if i >= first_num else "---" for i in range(len(cols))) + "|"]
    lines += ["| " + " | ".join(x.replace("|", "\\|") for x in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"
