"""Convention profiles: the total a popular counting tool would print for the same network.

archcalc's MACs are the textbook figure (conv and dense kernel multiply-accumulates, no bias).
Each tool adds other things; a profile reproduces its default count, layer by layer, as our
MACs plus named categories, so two figures that differ can be explained category by category.
Measured with torch 2.13 (CPU) on models identical to torchvision's; every tool total equalled
the sum of these per-layer components exactly (VGG-16 and ResNet-50, see docs/analyses.md).

A profile needs to know which torch operation computes each node. By default it is the module
the kind corresponds to (`TORCH_DEFAULT`); where the torch model differs, the spec says so in its
own `torch_ops:` (archcalc.torch_ops), which every profile honours, and a caller can add `torch=`, a
mapping selector -> op that wins over the spec's: a layer path ({"avgpool": "AdaptiveAvgPool2d"},
VGG's 7 x 7 adaptive pooling written as a 1 x 1 `avgpool`), a pattern ({"*/pool": "F.avg_pool2d"})
or a kind ({"kind:relu": "F.relu"}, GoogLeNet's BasicConv2d).

Counts are totals over the batch like every archcalc figure, except ptflops': ptflops divides what
its module hooks count by the batch but not what its patched functionals count, and the profiles
reproduce that, so at any batch they give the figure ptflops prints.
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
        "batchnorm": "2C per BatchNorm layer and sample (its parameter count times the batch)",
        "linear_per_sample": "a Linear on tokens or positions: its parameters times the batch, once per sample, "
                             "not per position; attention and products of activations: nothing"}),
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
        "upsample": "output elements (hook) + input elements x scale (patched F.interpolate)",
        "elementwise_add": "output elements per torch.add (residual `+=` is not seen: 0)",
        "attention_scale": "L·C per nn.MultiheadAttention (its hook: scaling Q)",
        "attention_softmax": "h·L·L per nn.MultiheadAttention (hook), h·T·T per window (patched F.softmax)",
        "attention_products": "Q·K^T and weights·V through the patched Tensor.matmul / torch.bmm: Swin's "
                              "window attention, MultiheadAttention(need_weights=True)",
        "per sample": "module hooks' counts divided by the batch, the patched functionals' not, "
                      "as ptflops prints them"}),
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
        "upsample": "output elements (module hook)",
        "attention_scale": "L·C per nn.MultiheadAttention (its hook: scaling Q)",
        "attention_softmax": "h·L·L per nn.MultiheadAttention (its hook)",
        "per sample": "every count divided by the batch, as ptflops prints it"}),
    Profile("fvcore", "fvcore 0.1.5 (FlopCountAnalysis)", "flops (one fused multiply-add = 1)", {
        "macs": "kernel MACs and products of activations (bias ignored); nn.MultiheadAttention's products "
                "are not seen (scaled_dot_product_attention has no handler)",
        "batchnorm": "2 per element (inference, affine)",
        "adaptive_avg_pool": "1 per input element (module or functional)",
        "upsample": "1 per output element (nearest), 4 (bilinear)"}),
    Profile("flopcounter", "torch.utils.flop_counter.FlopCounterMode (torch 2.13)", "get_total_flops()", {
        "conv_flops": "2 per kernel MAC of every convolution (aten.convolution; bias ignored)",
        "mm_flops": "2 per kernel MAC of every matrix product (aten.addmm, mm, bmm; bias ignored); on the CPU "
                    "the products inside nn.MultiheadAttention (scaled_dot_product_attention) are not counted"}),
    Profile("thop", "thop 0.1.1 (profile)", "macs", {
        "macs": "kernel MACs (bias ignored); attention and products of activations: nothing",
        "batchnorm": "4 per element (2·numel, doubled for affine)",
        "avg_pool": "1 per output element (nn.AvgPool2d)",
        "adaptive_avg_pool": "(kernel elements + 1) per output element (nn.AdaptiveAvgPool2d; "
                             "a functional call is not seen)",
        "upsample": "1 per output element (nearest), 11 (bilinear)",
        "softmax": "3n - 1 per row of n (n exp, n - 1 adds, n divisions) for nn.Softmax; F.softmax is "
                   "not seen"}),
)}

#: The torch op a kind stands for when nothing else is said.
TORCH_DEFAULT: dict[str, str] = {
    "input": "input", "conv": "Conv2d", "depthwise": "Conv2d", "dense": "Linear",
    "batchnorm": "BatchNorm2d", "lrn": "LocalResponseNorm", "relu": "ReLU", "relu6": "ReLU6",
    "sigmoid": "Sigmoid", "tanh": "Tanh", "hardswish": "Hardswish", "softmax": "Softmax",
    "maxpool": "MaxPool2d", "avgpool": "AvgPool2d", "globalavgpool": "AdaptiveAvgPool2d",
    "globalmaxpool": "AdaptiveMaxPool2d", "add": "+=", "concat": "torch.cat", "flatten": "torch.flatten",
    "dropout": "Dropout", "zeropad": "ZeroPad2d", "upsample": "Upsample",
    "linear": "Linear", "attention": "MultiheadAttention", "windowattention": "ShiftedWindowAttention",
    "matmul": "torch.matmul", "tokens": "Tensor.flatten", "tokenmap": "Tensor.reshape", "classtoken": "torch.cat",
    "posembed": "+", "tokenselect": "x[:, i]", "slice": "Tensor.chunk", "shuffle": "channel_shuffle",
    "patchmerge": "_patch_merging_pad",
}
#: Other ops a node may be said to use instead, by kind.
TORCH_ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "relu": ("F.relu",), "relu6": ("F.relu6",), "softmax": ("F.softmax",),
    "maxpool": ("F.max_pool2d",), "avgpool": ("F.avg_pool2d", "AdaptiveAvgPool2d", "F.adaptive_avg_pool2d"),
    "globalavgpool": ("F.adaptive_avg_pool2d", "torch.mean"), "globalmaxpool": ("F.adaptive_max_pool2d",),
    "add": ("torch.add",), "upsample": ("F.interpolate",),
    "attention": ("MultiheadAttention(need_weights=True)",), "matmul": ("@", "torch.bmm"),
}

NAMES = tuple(PROFILES)


def _profile(name: str) -> Profile:
    p = PROFILES.get(name)
    if p is None:
        raise SpecError(f"unknown convention {name!r}", hint=f"one of: {', '.join(PROFILES)}")
    return p


def torch_op_problem(an: Analysis, path: str, op: str) -> tuple[str, str | None] | None:
    """Why torch op `op` cannot compute what `path` selects in `an` (a layer path, a pattern or
    kind:NAME; archcalc.torch_ops), as (message, hint); None when it can.

    One judgement for every place a torch op is named (--torch-op, a spec's `torch_ops:`), each of
    which words the error for where the user wrote it.
    """
    from .torch_ops import Problem, select
    try:
        select(an, path, op)
    except Problem as p:
        return p.message, p.hint
    return None


def torch_for(an: Analysis, torch: Mapping[str, str] | None) -> dict[str, str]:
    """The part of `torch` (selector -> op) that selects layers `an` has: one --torch-op serves several
    specs at once (compare, check), each taking the layers it has."""
    from .torch_ops import applies
    return {k: v for k, v in (torch or {}).items() if applies(an, k)}


def torch_selectors(an: Analysis, torch: Mapping[str, str] | None) -> dict[str, str]:
    """The torch ops a profile counts `an` with, as written: the spec's own `torch_ops:`, then the part
    of `torch` (--torch-op) that applies to it, which wins."""
    from .torch_ops import spec_selectors
    return {**spec_selectors(an), **torch_for(an, torch)}


def _torch_ops(an: Analysis, torch: Mapping[str, str] | None) -> list[str]:
    from .torch_ops import ops_for
    return ops_for(an, torch)


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
    special = _attention_ops(tool, op, row, n)
    if special is not None:
        return {k: v for k, v in special.items() if v}
    if tool == "flopcounter":  # counts FLOPs of the aten ops with a formula: convolution and matmul
        if row.macs and op == "Conv2d":
            return {"conv_flops": 2 * row.macs}
        if row.macs and op == "Linear":
            return {"mm_flops": 2 * row.macs}
        return {}
    bias = row.other.get("bias_adds", 0) if op in ("Conv2d", "Linear") else 0
    if tool.startswith("ptflops"):
        return _ptflops(row, op, tool == "ptflops", n, d, bias)
    if tool == "torchinfo" and bias:
        d["bias_adds"] = bias
    if op == "BatchNorm2d":
        c = row.input_shapes[0][-1]
        d["batchnorm"] = {"torchinfo": 2 * c * n, "thop": 4 * out}.get(tool, 2 * out)
    elif tool == "torchinfo":
        pass
    elif op in ("AdaptiveAvgPool2d", "F.adaptive_avg_pool2d"):
        if tool == "fvcore":
            d["adaptive_avg_pool"] = inp
        elif tool == "thop" and op == "AdaptiveAvgPool2d":
            h, w = row.input_shapes[0][:2]
            oh, ow = (row.output_shape[:2] if len(row.output_shape) == 3 else (1, 1))
            k = Fraction(h, oh) * Fraction(w, ow)
            d["adaptive_avg_pool"] = int((k + 1) * out)
    elif op == "Upsample" or op == "F.interpolate":
        bil = getattr(row.node.kind, "mode", "nearest") == "bilinear" if row.node is not None else False
        if tool == "fvcore":
            d["upsample"] = out * (4 if bil else 1)
        elif tool == "thop" and op == "Upsample":
            d["upsample"] = out * (11 if bil else 1)
    elif op == "AvgPool2d" and tool == "thop":
        d["avg_pool"] = out
    elif op == "Softmax" and tool == "thop":
        c = row.input_shapes[0][-1]       # the softmax runs along the last axis (channels)
        d["softmax"] = inp // c * (3 * c - 1)
    return {k: v for k, v in d.items() if v}


#: ptflops' category of each op it hooks (a module) or patches (a functional).
_PTFLOPS_CATEGORY = {
    "ReLU": "relu", "F.relu": "relu", "ReLU6": "relu6", "F.relu6": "relu6", "MaxPool2d": "max_pool",
    "F.max_pool2d": "max_pool", "AvgPool2d": "avg_pool", "F.avg_pool2d": "avg_pool",
    "AdaptiveAvgPool2d": "adaptive_avg_pool", "F.adaptive_avg_pool2d": "adaptive_avg_pool",
    "AdaptiveMaxPool2d": "adaptive_max_pool", "F.adaptive_max_pool2d": "adaptive_max_pool",
    "Softmax": "softmax", "F.softmax": "softmax", "torch.add": "elementwise_add",
    "Upsample": "upsample", "F.interpolate": "upsample"}


def _ptflops(row: Row, op: str, func: bool, n: int, d: dict[str, int], bias: int) -> dict[str, int]:
    """ptflops' count of one row: what its module hooks count, divided by the batch (ptflops reports
    the module part per sample), plus what its patched functionals count, over the whole batch (not
    divided: at batch 2 ptflops prints M + 2F for M and F at batch 1). `func`: functionals patched
    (count_functional, the default); a module whose forward calls a patched functional counts twice."""
    out = math.prod(row.output_shape) * n
    inp = math.prod(row.input_shapes[0]) * n if row.input_shapes else 0
    module: dict[str, int] = dict(d)
    if bias:
        module["bias_adds"] = bias
    functional: dict[str, int] = {}
    cat = _PTFLOPS_CATEGORY.get(op)
    is_module = not op.startswith(("F.", "torch."))
    if op == "BatchNorm2d":
        module["batchnorm"] = 2 * out
    elif cat == "relu6":                 # nn.ReLU6 calls F.hardtanh, which is not patched
        (module if is_module else functional)[cat] = out if is_module or func else 0
    elif cat == "softmax":               # nn.Softmax has no hook; its F.softmax is patched
        functional[cat] = inp if func else 0
    elif cat == "elementwise_add":
        functional[cat] = out * (len(row.input_shapes) - 1) if func else 0
    elif cat == "upsample":
        s = row.node.kind.scale[0] if row.node is not None else 1
        module[cat] = out if is_module else 0
        functional[cat] = inp * s if func else 0
    elif cat is not None:                # activations and pooling: the module's hook and its functional
        module[cat] = inp if is_module else 0
        functional[cat] = inp if func else 0
    total = {k: v // n for k, v in module.items()}
    for k, v in functional.items():
        total[k] = total.get(k, 0) + v
    return {k: v for k, v in total.items() if v}


_ATTENTION_OPS = ("MultiheadAttention", "MultiheadAttention(need_weights=True)", "ShiftedWindowAttention",
                  "torch.matmul", "torch.bmm", "@")


def _attention_ops(tool: str, op: str, row: Row, n: int) -> dict[str, int] | None:
    """What each tool counts for a Linear on tokens or positions, for attention and for a product of two
    activations; None for any other layer. Measured with torch 2.13 and 2.14 on small modules
    (tests/measured/tools_kinds_b.py, pinned in tests/test_profiles_kinds_b.py), read in the tools' source:
    torchinfo multiplies a non-conv module's parameters by the batch only and never runs the Linears inside
    MultiheadAttention or Swin's attention; ptflops' MultiheadAttention hook adds scaling, the softmax and
    the out-projection bias and does not patch F.linear (Swin's attention is seen only through its patched
    matmuls and softmax, over the whole batch); scaled_dot_product_attention, which nn.MultiheadAttention
    calls with need_weights=False, is seen by neither fvcore nor FlopCounterMode on the CPU."""
    kind = row.node.kind if row.node is not None else None
    if op == "Linear":
        if tool != "torchinfo" or len(row.input_shapes[0]) == 1:
            return None  # a flat Linear, or a tool that counts every position: the general rules
        c, c2 = row.input_shapes[0][-1], row.output_shape[-1]
        return {"linear_per_sample": (c * c2 + (c2 if getattr(kind, "bias", True) else 0)) * n}
    if op not in _ATTENTION_OPS or kind is None:
        return None
    macs = row.macs
    if tool in ("torchinfo", "thop"):
        return {}
    if op in ("torch.matmul", "torch.bmm", "@"):
        if tool == "flopcounter":
            return {"mm_flops": 2 * macs}
        seen = tool == "fvcore" or (tool == "ptflops" and op != "@")  # `@` is Tensor.__matmul__, not patched
        return {"macs": macs if seen else 0}
    if op == "ShiftedWindowAttention":
        *_, h, d, _, windows, t = kind.geometry(row.input_shapes)
        products = 2 * windows * h * t * t * d * n
        if tool == "ptflops":
            return {"attention_products": products, "attention_softmax": windows * h * t * t * n}
        if tool == "fvcore":
            return {"macs": macs}
        return {"mm_flops": 2 * macs} if tool == "flopcounter" else {}
    length, c, h, d = kind.geometry(row.input_shapes)
    products = 2 * h * length * length * d * n
    weights = op == "MultiheadAttention(need_weights=True)"
    if tool in ("fvcore", "flopcounter"):
        seen = macs if weights else macs - products  # SDPA's products are not seen
        return {"mm_flops": 2 * seen} if tool == "flopcounter" else {"macs": seen}
    # ptflops' multihead_attention_counter_hook: QW, KW, VW, h·(L·L·C/h) twice, out projection L·C·C;
    # a module hook, so printed per sample (see _ptflops); the patched functionals over the batch
    out = {"macs": 4 * length * c * c + 2 * h * length * length * (c // h),
           "bias_adds": (3 * length * c if kind.qkv_bias else 0) + length * c,  # out-proj bias: always
           "attention_scale": length * c, "attention_softmax": h * length * length}
    if weights and tool == "ptflops":  # the need_weights path runs torch.bmm and F.softmax, both patched
        out["attention_products"] = products
        out["attention_softmax"] += h * length * length * n
    return out


def per_layer(an: Analysis, name: str, *, torch: Mapping[str, str] | None = None) -> list[dict[str, int]]:
    """`layer_ops` of every row of `an.rows` (unfolded), in order; nothing for a layer that does
    not run in this pass (training-only, at inference: the tools count the modules that run)."""
    ops = _torch_ops(an, torch)
    inactive = an.graph.inactive
    return [{} if inactive and r.index in inactive else layer_ops(an, r, name, op)
            for r, op in zip(an.rows, ops, strict=True)]


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
    diff = tot - macs
    lines.append(f"  {'total':<{w}}  {tot:>20,}  = archcalc MACs {macs:,} {'-' if diff < 0 else '+'} {abs(diff):,}")
    if "per sample" in p.rules and an.batch > 1:
        lines.append(f"  batch {an.batch}: {p.rules['per sample']}")
    adds = sum(r.other.get("elementwise_adds", 0) for r in an.rows if r.kind == "add")
    if adds:
        lines.append(f"  residual adds ({adds:,} element-wise adds in archcalc's other ops) are counted by "
                     "no tool: `out += identity` is neither a module nor a patched function")
    return "\n".join(lines) + "\n"


__all__ = ["NAMES", "PROFILES", "TORCH_ALTERNATIVES", "TORCH_DEFAULT", "Profile", "breakdown", "explain",
           "layer_ops", "per_layer", "row_total", "sum_layers", "torch_for", "torch_op_problem", "total"]


def row_total(an: Analysis, row: Row, layers: list[dict[str, int]]) -> int:
    """A row's count under a profile from `per_layer`; a block folded with --depth sums its layers."""
    if row.node is not None:
        return sum(layers[row.index].values())
    prefix = row.name + "/"
    return sum(sum(layers[i].values()) for i, r in enumerate(an.rows) if r.name.startswith(prefix))
