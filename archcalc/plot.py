"""Cost charts with matplotlib, an optional extra (`plot`): `pip install matplotlib`.

Nothing on the analytic path imports this module; matplotlib itself is imported only
inside the functions below, which draw on a bare `Figure` (no pyplot, no GUI backend,
no global state), so they work on headless machines and in tests.

- `plot_costs(analysis, path)`: per-layer MACs and parameters as horizontal bars.
- `plot_sweep(rows, variable, path)`: params and MACs against a swept variable, from rows of
  `(value, params, macs)`; the `sweep` command calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArchcalcError

if TYPE_CHECKING:
    from .analysis import Analysis

#: image formats written, chosen by the output file's suffix
FORMATS = ("png", "svg", "pdf")
EXTRA_HINT = "pip install 'matplotlib>=3.7' (the `plot` extra: pip install '.[plot]' in a checkout of archcalc)"


class MissingExtraError(ArchcalcError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("plotting needs matplotlib, which is not installed", hint=EXTRA_HINT) from None
    return Figure


def require_matplotlib() -> None:
    """Raise MissingExtraError (naming the `plot` extra) unless matplotlib can be imported."""
    _figure_class()


def check_format(path: str | Path) -> str:
    """The image format a file name asks for (its suffix), or a SpecError naming the ones written."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        from .errors import SpecError
        raise SpecError(f"cannot write a {path.suffix or 'suffix-less'} image: {path}",
                        hint=f"name the file .{', .'.join(FORMATS)}")
    return fmt



def _save(fig: Any, path: Path) -> Path:
    from matplotlib import rc_context
    fmt = check_format(path)
    # no timestamps and fixed ids, so the same spec gives the same file
    meta = {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else {}
    try:
        with rc_context({"svg.hashsalt": "archcalc", "svg.fonttype": "none"}):
            fig.savefig(path, format=fmt, metadata=meta, bbox_inches="tight")
    except OSError as e:  # a missing folder, no permission, a full disk
        raise ArchcalcError(f"cannot write {path}: {e.strerror or e}",
                            hint="give a path in a folder you can write to") from None
    return path


def _si(n: float) -> str:
    from .render import si
    return si(int(n))


def plot_costs(an: Analysis, path: str | Path, depth: int | None = None, all_layers: bool = False) -> Path:
    """Bar charts of each layer's (or folded block's) MACs and parameters; writes `path`.

    Layers with neither parameters nor MACs are left out unless `all_layers`.
    """
    path = Path(path)
    check_format(path)
    Figure = _figure_class()
    rows = [r for r in an.folded(depth) if all_layers or r.params or r.macs]
    names = [r.name + (f" ({r.kind}, {r.layers} layers)" if r.layers != 1 else f" ({r.kind})") for r in rows]
    t = an.totals
    fig = Figure(figsize=(11, 1.6 + 0.24 * max(len(rows), 1)), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    y = list(range(len(rows)))
    # floats for matplotlib, which converts ints to a C long (a batch of 2^40 passes 2^63);
    # every figure is far inside a float's range (walk bounds each dimension at 2^63 - 1)
    for ax, (what, values, total, color) in zip(axes, [
            ("MACs", [float(r.macs) for r in rows], t.macs, "#4c72b0"),
            # parameters as PyTorch counts them, as summarize's table: BatchNorm statistics are buffers
            ("parameters", [float(r.params - r.non_trainable) for r in rows], t.torch_params, "#dd8452")],
            strict=True):
        ax.barh(y, values, color=color)
        ax.set_title(f"{what} (total {total:,} = {_si(total)})", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.xaxis.set_major_formatter(_si_formatter())
        top = max(values, default=0) or 1
        for yi, v in zip(y, values, strict=True):
            if v:
                ax.text(v + top * 0.01, yi, f"{_si(v)}  {100 * v / total:.1f}%" if total else _si(v),
                        va="center", fontsize=7)
        ax.set_xlim(0, top * 1.3)
    axes[0].set_yticks(y, names, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(f"{an.name}: input {' x '.join(map(str, an.input_shape))}, batch {an.batch} "
                 "(MACs = kernel and matrix-product multiply-accumulates, bias excluded)", fontsize=10)
    return _save(fig, path)


def _si_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter
    return FuncFormatter(lambda v, _pos: _si(v) if v >= 0 else "")


def plot_sweep(rows: Sequence[tuple[Any, int, int]], variable: str, path: str | Path,
               title: str | None = None) -> Path:
    """Parameters and MACs against a swept variable; writes `path`.

    `rows` are `(value, params, macs)` in sweep order. Numeric values are drawn on a
    numeric axis; other values (words, lists) as equally spaced categories.
    """
    path = Path(path)
    check_format(path)
    Figure = _figure_class()
    values = [v for v, _, _ in rows]
    floats = _floats(values)
    numeric = floats is not None
    xs = floats if floats is not None else [float(i) for i in range(len(values))]
    fig = Figure(figsize=(7, 6), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, (what, ys, color) in zip(axes, [("parameters", [float(p) for _, p, _ in rows], "#dd8452"),
                                            ("MACs", [float(m) for _, _, m in rows], "#4c72b0")], strict=True):
        ax.plot(xs, ys, marker="o", color=color)
        ax.set_ylabel(what)
        ax.yaxis.set_major_formatter(_si_formatter())
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    if not numeric:
        from .compare import _show
        axes[1].set_xticks(xs, [_show(v) for v in values])
    axes[1].set_xlabel(variable)
    fig.suptitle(f"{title + ': ' if title else ''}cost against {variable}", fontsize=10)
    return _save(fig, path)


def _floats(values: Sequence[Any]) -> list[float] | None:
    """The swept values as floats for a numeric axis; None when one is not a number, or is an
    exact number past a float's range (2**1100/3): then they are drawn as categories."""
    from fractions import Fraction
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, Fraction)):
            return None
        try:
            out.append(float(v))
        except OverflowError:
            return None
    return out


__all__ = ["EXTRA_HINT", "FORMATS", "MissingExtraError", "check_format", "plot_costs", "plot_sweep",
           "require_matplotlib"]
