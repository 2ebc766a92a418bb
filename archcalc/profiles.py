"""Convention profiles: the total a popular counting tool would print for the same network.

archcalc's MACs are the textbook figure (conv and dense kernel multiply-accumulates, no bias).
Each tool adds other things; a profile reproduces its default count, layer by layer, as our
MACs plus named categories, so two figures that differ can be explained category by category.
Measured with torch 2.13 (CPU) on models identical to torchvision's; every tool total equalled
the sum of these per-layer components exactly (VGG-16 and ResNet-50, see docs/analyses.md).

A profile needs to know which torch operation computes each node. By default it is the module
the kind corresponds to (`TORCH_DEFAULT`); where the torch model differs, pass `torch=` a mapping
node path -> op, e.g. {"avgpool": "AdaptiveAvgPool2d"} (VGG's 7 x 7 adaptive pooling, written as
a 1 x 1 `avgpool`) or {"pool": "F.adaptive_avg_pool2d"} (a functional call, not a module).

Counts are totals over the batch like every archcalc figure. (ptflops itself divides by the
batch, and adds a Linear bias once per batch rather than per sample: exact at batch 1.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING

from .errors import SpecError
from .record import Frozen

if TYPE_CHECKING:
    from .analysis import Analysis, Row


class Profile(Frozen):
    """What one tool counts besides the MACs, category by category."""

    __slots__ = ("name", "tool", "headline", "rules")

    def __init__(self, name: str, tool: str, headline: str, rules: dict[str, str]) -> None:
        self.name, self.tool = name, tool
        self.headline = headline  # what the tool calls its number
        self.rules = rules        # category -> what the tool adds for it


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("textbook", "archcalc", "MACs", {
        "macs": "conv and dense kernel multiply-accumulates, bias excluded"}),
    Profile("torchinfo", "torchinfo 1.8", "Total mult-adds", {
        "macs": "kernel MACs",
        "bias_adds": "one per output element of every biased conv / dense layer",
        "batchnorm": "2C per BatchNorm layer and sample (its parameter count times the batch)"}),
    Profile("ptflops", "ptflops 0.7.5 (pytorch backend, defaults)", "Computational complexity (MACs)", {
        "macs": "kernel MACs",
        "bias_adds": "one per output element of every biased conv / dense layer",
        "batchnorm": "2 per element (affine)",
        "relu": "2 per element for nn.ReLU (module hook + patched F.relu), 1 for F.relu",
        "relu6": "1 per element (nn.ReLU6 calls F.hardtanh, which is not patched)",
        "max_pool": "2 per input element for nn.MaxPool2d (hook + patched F.max_pool2d), 1 for F.max_pool2d",
        "avg_pool": "2 per input element for nn.AvgPool2d, 1 for F.avg_pool2d",
        "adaptive_avg_pool": "2 per input element for nn.AdaptiveAvgPool2d, 1 for F.adaptive_avg_pool2d",
        "adaptive_max_pool": "2 per input element for nn.AdaptiveMaxPool2d, 1 for F.adaptive_max_pool2d",
        "softmax": "1 per input element (nn.Softmax calls the patched F.softmax)",
        "upsample": "output elements (hook) + input elements x scale (patched F.interpolate, batch 1)",
        "elementwise_add": "output elements per torch.add (residual `+=` is not seen: 0)"}),
    Profile("ptflops-nofunc", "ptflops 0.7.5, functionals not patched (count_functional=False)",
            "Computational complexity (MACs)", {
        "macs": "kernel MACs",
        "bias_adds": "one per output element of every biased conv / dense layer",
        "batchnorm": "2 per element (affine)",
        "relu": "1 per element for nn.ReLU, 0 for F.relu",
        "relu6": "1 per element",
        "max_pool": "1 per input element (module only)",
        "avg_pool": "1 per input element (module only)",
        "adaptive_avg_pool": "1 per input element (module only)",
        "adaptive_max_pool": "1 per input element (module only)",
        "upsample": "output elements (module hook)"}),
    Profile("fvcore", "fvcore 0.1.5 (FlopCountAnalysis)", "flops (one fused multiply-add = 1)", {
        "macs": "kernel MACs (bias ignored)",
        "batchnorm": "2 per element (inference, affine)",
        "adaptive_avg_pool": "1 per input element (module or functional)",
        "upsample": "1 per output element (nearest), 4 (bilinear)"}),
    Profile("flopcounter", "torch.utils.flop_counter.FlopCounterMode (torch 2.13)", "get_total_flops()", {
        "conv_flops": "2 per kernel MAC of every convolution (aten.convolution; bias ignored)",
        "mm_flops": "2 per kernel MAC of every matrix product (aten.addmm, mm, bmm; bias ignored)"}),
    Profile("thop", "thop 0.1.1 (profile)", "macs", {
        "macs": "kernel MACs (bias ignored)",
        "batchnorm": "4 per element (2·numel, doubled for affine)",
        "avg_pool": "1 per output element (nn.AvgPool2d)",
        "adaptive_avg_pool": "(kernel elements + 1) per output element (nn.AdaptiveAvgPool2d; "
                             "a functional call is not seen)",
        "upsample": "1 per output element (nearest), 11 (bilinear)"}),
)}

#: The torch op a kind stands for when nothing else is said.
TORCH_DEFAULT: dict[str, str] = {
    "input": "input", "conv": "Conv2d", "depthwise": "Conv2d", "dense": "Linear",
    "batchnorm": "BatchNorm2d", "lrn": "LocalResponseNorm", "relu": "ReLU", "relu6": "ReLU6",
    "sigmoid": "Sigmoid", "tanh": "Tanh", "hardswish": "Hardswish", "softmax": "Softmax",
    "maxpool": "MaxPool2d", "avgpool": "AvgPool2d", "globalavgpool": "AdaptiveAvgPool2d",
    "globalmaxpool": "AdaptiveMaxPool2d", "add": "+=", "concat": "torch.cat", "flatten": "torch.flatten",
    "dropout": "Dropout", "zeropad": "ZeroPad2d", "upsample": "Upsample",
}
#: Other ops a node may be said to use instead, by kind.
TORCH_ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "relu": ("F.relu",), "relu6": ("F.relu6",), "softmax": ("F.softmax",),
    "maxpool": ("F.max_pool2d",), "avgpool": ("F.avg_pool2d", "AdaptiveAvgPool2d", "F.adaptive_avg_pool2d"),
    "globalavgpool": ("F.adaptive_avg_pool2d", "torch.mean"), "globalmaxpool": ("F.adaptive_max_pool2d",),
    "add": ("torch.add",), "upsample": ("F.interpolate",),
}

NAMES = tuple(PROFILES)


def _profile(name: str) -> Profile:
    p = PROFILES.get(name)
    if p is None:
        raise SpecError(f"unknown convention {name!r}", hint=f"one of: {', '.join(PROFILES)}")
    return p


def torch_op_problem(an: Analysis, path: str, op: str, rows: Mapping[str, Row] | None = None
                     ) -> tuple[str, str | None] | None:
    """Why torch op `op` cannot compute layer `path` of `an`, as (message, hint); None when it can.

    One judgement for every place a torch op is named (--torch-op, a spec's `torch_ops:`), each of
    which words the error for where the user wrote it. `rows` (name -> row, from `rows_by_name`)
    saves a scan of every row per op, for a caller that checks many.
    """
    from .errors import did_you_mean
    row = (rows if rows is not None else rows_by_name(an)).get(path)
    if row is None:
        return f"no layer named {path!r}", did_you_mean(path, [r.name for r in an.rows], "layers")
    allowed = (TORCH_DEFAULT.get(row.kind, "?"),) + TORCH_ALTERNATIVES.get(row.kind, ())
    if op not in allowed:
        article = "an" if row.kind[0] in "aeiou" else "a"
        return f"{article} {row.kind} layer is one of {', '.join(allowed)}", did_you_mean(op, allowed, "ops")
    return None


def rows_by_name(an: Analysis) -> dict[str, Row]:
    """The rows of an analysis by name (layer path)."""
    return {r.name: r for r in an.rows}


def torch_for(an: Analysis, torch: Mapping[str, str] | None) -> dict[str, str]:
    """The part of `torch` naming layers `an` has: one --torch-op serves several specs at once
    (compare, check), each taking the layers it has."""
    names = {r.name for r in an.rows}
    return {k: v for k, v in (torch or {}).items() if k in names}


def _torch_ops(an: Analysis, torch: Mapping[str, str] | None) -> list[str]:
    ops = [TORCH_DEFAULT.get(r.kind, "?") for r in an.rows]
    if torch:
        index = {r.name: i for i, r in enumerate(an.rows)}
        rows = rows_by_name(an)
        for path, op in torch.items():
            problem = torch_op_problem(an, path, op, rows)
            if problem is not None:
                raise SpecError(f"--torch-op {path}={op}: {problem[0]}", hint=problem[1])
            ops[index[path]] = op
    return ops


def layer_ops(an: Analysis, row: Row, name: str, op: str | None = None) -> dict[str, int]:
    """What tool `name` counts for one (unfolded) row computed by torch op `op`, by category."""
    p = _profile(name)
    op = op or TORCH_DEFAULT.get(row.kind, "?")
    n = an.batch
    out = math.prod(row.output_shape) * n
    inp = math.prod(row.input_shapes[0]) * n if row.input_shapes else 0
    d: dict[str, int] = {}
    if row.macs:
        d["macs"] = row.macs
    tool = p.name
    if tool == "textbook":
        return d
    if tool == "flopcounter":  # counts FLOPs of the aten ops with a formula: convolution and matmul
        if row.macs and op == "Conv2d":
            return {"conv_flops": 2 * row.macs}
        if row.macs and op == "Linear":
            return {"mm_flops": 2 * row.macs}
        return {}
    bias = row.other.get("bias_adds", 0) if op in ("Conv2d", "Linear") else 0
    if tool in ("torchinfo", "ptflops", "ptflops-nofunc") and bias:
        d["bias_adds"] = bias
    func = tool == "ptflops"       # functionals patched
    twice = 2 if func else 1       # a module whose forward calls a patched functional
    if op == "BatchNorm2d":
        c = row.input_shapes[0][-1]
        d["batchnorm"] = {"torchinfo": 2 * c * n, "thop": 4 * out}.get(tool, 2 * out)
    elif tool == "torchinfo":
        pass
    elif op in ("AdaptiveAvgPool2d", "F.adaptive_avg_pool2d"):
        if tool == "fvcore":
            d["adaptive_avg_pool"] = inp
        elif tool == "thop":
            if op == "AdaptiveAvgPool2d":
                h, w = row.input_shapes[0][:2]
                oh, ow = (row.output_shape[:2] if len(row.output_shape) == 3 else (1, 1))
                k = Fraction(h, oh) * Fraction(w, ow)
                d["adaptive_avg_pool"] = int((k + 1) * out)
        else:
            d["adaptive_avg_pool"] = inp * (twice if op == "AdaptiveAvgPool2d" else int(func))
    elif op == "Upsample" or op == "F.interpolate":
        bil = getattr(row.node.kind, "mode", "nearest") == "bilinear" if row.node is not None else False
        if tool == "fvcore":
            d["upsample"] = out * (4 if bil else 1)
        elif tool == "thop" and op == "Upsample":
            d["upsample"] = out * (11 if bil else 1)
        elif tool.startswith("ptflops"):
            s = row.node.kind.scale[0] if row.node is not None else 1
            d["upsample"] = (out if op == "Upsample" else 0) + (inp * s if func else 0)
    elif op == "AvgPool2d" and tool == "thop":
        d["avg_pool"] = out
    elif tool.startswith("ptflops"):
        module = not op.startswith(("F.", "torch."))
        calls = (twice if module else int(func))
        cat = {"ReLU": "relu", "F.relu": "relu", "ReLU6": "relu6", "F.relu6": "relu6",
               "MaxPool2d": "max_pool", "F.max_pool2d": "max_pool", "AvgPool2d": "avg_pool",
               "F.avg_pool2d": "avg_pool", "AdaptiveMaxPool2d": "adaptive_max_pool",
               "F.adaptive_max_pool2d": "adaptive_max_pool", "Softmax": "softmax", "F.softmax": "softmax",
               "torch.add": "elementwise_add"}.get(op)
        if cat == "relu6":
            d[cat] = out if op == "ReLU6" else out * int(func)
        elif cat == "softmax":
            d[cat] = inp * int(func)      # nn.Softmax has no hook; only the patched F.softmax counts
        elif cat == "elementwise_add":
            d[cat] = out * (len(row.input_shapes) - 1) * int(func)
        elif cat is not None:
            d[cat] = inp * calls
    return {k: v for k, v in d.items() if v}


def per_layer(an: Analysis, name: str, *, torch: Mapping[str, str] | None = None) -> list[dict[str, int]]:
    """`layer_ops` of every row of `an.rows` (unfolded), in order."""
    ops = _torch_ops(an, torch)
    return [layer_ops(an, r, name, op) for r, op in zip(an.rows, ops, strict=True)]


def breakdown(an: Analysis, name: str, *, torch: Mapping[str, str] | None = None) -> dict[str, int]:
    """The tool's total by category (`macs` first; categories the tool counts as 0 left out)."""
    return sum_layers(name, per_layer(an, name, torch=torch))


def sum_layers(name: str, layers: list[dict[str, int]]) -> dict[str, int]:
    """`per_layer` counts summed by category, in the profile's order: `breakdown` without walking
    the layers again, for a caller that keeps the per-layer counts (compare)."""
    order = list(_profile(name).rules)
    sums: dict[str, int] = {}
    for d in layers:
        for k, v in d.items():
            sums[k] = sums.get(k, 0) + v
    return {k: sums[k] for k in sorted(sums, key=lambda k: order.index(k) if k in order else len(order))}


def total(an: Analysis, name: str, *, torch: Mapping[str, str] | None = None) -> int:
    """The figure tool `name` would print for this network (over the batch)."""
    return sum(breakdown(an, name, torch=torch).values())


def explain(an: Analysis, name: str, *, torch: Mapping[str, str] | None = None) -> str:
    """The tool's total, category by category, against archcalc's MACs."""
    p = _profile(name)
    b = breakdown(an, name, torch=torch)
    tot = sum(b.values())
    macs = an.totals.macs
    lines = [f"convention {p.name}: what {p.tool} prints as '{p.headline}'"]
    w = max([len(k) for k in p.rules] + [5])
    for k in b:
        lines.append(f"  {k:<{w}}  {b[k]:>20,}  {p.rules.get(k, '')}")
    lines.append(f"  {'total':<{w}}  {tot:>20,}  = archcalc MACs {macs:,} + {tot - macs:,}")
    adds = sum(r.other.get("elementwise_adds", 0) for r in an.rows if r.kind == "add")
    if adds:
        lines.append(f"  residual adds ({adds:,} element-wise adds in archcalc's other ops) are counted by "
                     "no tool: `out += identity` is neither a module nor a patched function")
    return "\n".join(lines) + "\n"


__all__ = ["NAMES", "PROFILES", "TORCH_ALTERNATIVES", "TORCH_DEFAULT", "Profile", "breakdown", "explain",
           "layer_ops", "per_layer", "row_total", "rows_by_name", "sum_layers", "torch_for", "torch_op_problem",
           "total"]


def row_total(an: Analysis, row: Row, layers: list[dict[str, int]]) -> int:
    """A row's count under a profile from `per_layer`; a block folded with --depth sums its layers.

    A block instance's layers are expanded one after another, so a folded row's are the `row.layers`
    rows from `row.index` on: summing them, not scanning every row for the prefix, keeps
    `--depth 1 --convention` linear (10,000 folded rows took 20 s, issue 15)."""
    if row.node is not None:
        return sum(layers[row.index].values())
    prefix = row.name + "/"
    span = range(row.index, row.index + row.layers)
    if all(an.rows[i].name.startswith(prefix) for i in (span[0], span[-1])):
        return sum(sum(layers[i].values()) for i in span)
    return sum(sum(layers[i].values()) for i, r in enumerate(an.rows)  # pragma: no cover - not contiguous
               if r.name.startswith(prefix))
