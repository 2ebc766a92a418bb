"""Convention profiles: the total a popular counting tool would print for the same network.

archcalc's MACs are the textbook figure (kernel and matrix-product multiply-accumulates, no bias).
Each tool adds other things; a profile reproduces its default count, layer by layer, as our
MACs plus named categories, so two figures that differ can be explained category by category.
Measured with torch 2.13 (CPU) on models identical to torchvision's; every tool total equalled
the sum of these per-layer components exactly (VGG-16 and ResNet-50, see docs/analyses.md).

A profile needs to know which torch operation computes each node. By default it is the module
the kind corresponds to (`TORCH_DEFAULT`); where the torch model differs, the spec says so in its
own `torch_ops:` (archcalc.torch_ops), which every profile honours, and a caller can add `torch=`, a
mapping selector -> op that wins over the spec's: a layer path ({"avgpool": "AdaptiveAvgPool2d"},
an `avgpool` that is the torch model's adaptive pooling), a pattern ({"*/pool": "F.avg_pool2d"})
or a kind ({"kind:relu": "F.relu"}, GoogLeNet's BasicConv2d).

Counts are totals over the batch like every archcalc figure, except ptflops': ptflops divides what
its module hooks count by the batch but not what its patched functionals count, and the profiles
reproduce that, so at any batch they give the figure ptflops prints.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .errors import SpecError
from .kinds.base import INPLACE
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
        "macs": "kernel (conv, dense, linear) and matrix-product multiply-accumulates, bias excluded"}),
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

# --- The kinds of issue 14, part A ---------------------------------------------------------------
# Measured with torch 2.13 (CPU), torchinfo 1.8.0, ptflops 0.7.5, fvcore 0.1.5, thop 0.1.1 on small
# modules, batch 1 and 2, module and functional forms; every figure is pinned in
# tests/test_profiles_kinds.py. Read with the tools' source: ptflops hooks nn.GELU, nn.LeakyReLU,
# nn.PReLU, nn.LayerNorm and nn.GroupNorm and patches F.silu, F.gelu and F.prelu (a module whose
# forward calls a patched functional counts twice); thop has rules for nn.PReLU, nn.LayerNorm and
# nn.ConvTranspose2d only (by exact type: torchvision's LayerNorm2d is not nn.LayerNorm to it);
# fvcore counts aten::layer_norm and aten::group_norm (5 per element with a weight, 4 without);
# torchinfo counts a parameter-holding module as its parameters times the batch, and a
# ConvTranspose2d (a "Conv" by name) as its parameters times N·H'·W'. Tensor products written
# `a * b` are seen by none of them; ptflops sees torch.mul.

TORCH_DEFAULT.update({
    "silu": "SiLU", "gelu": "GELU", "hardsigmoid": "Hardsigmoid", "leakyrelu": "LeakyReLU", "prelu": "PReLU",
    "layernorm": "LayerNorm", "groupnorm": "GroupNorm", "convtranspose": "ConvTranspose2d",
    "adaptiveavgpool": "AdaptiveAvgPool2d", "adaptivemaxpool": "AdaptiveMaxPool2d",
    "multiply": "*", "scale": "*", "identity": "Identity", "droppath": "StochasticDepth",
})
TORCH_ALTERNATIVES.update({
    "silu": ("F.silu",), "gelu": ("F.gelu",), "hardsigmoid": ("F.hardsigmoid",), "leakyrelu": ("F.leaky_relu",),
    "prelu": ("F.prelu",), "layernorm": ("LayerNorm2d", "F.layer_norm"), "groupnorm": ("F.group_norm",),
    "adaptiveavgpool": ("F.adaptive_avg_pool2d",), "adaptivemaxpool": ("F.adaptive_max_pool2d",),
    "multiply": ("torch.mul",), "scale": ("torch.mul",), "droppath": ("DropPath",),
})
# U-Net's copy and crop: torch slicing, x[:, :, t:t + h, l:l + w], which no tool counts (measured on the
# U-Net copy in tests/torchref/unet.py: every tool's figure is its convolutions' alone).
TORCH_DEFAULT["crop"] = "x[:, :, t:b, l:r]"
_RULE_TEXT = {
    "torchinfo": {
        "conv_transpose": "a ConvTranspose2d as its weights times N·H'·W' output positions (archcalc's MACs "
                          "take the H·W input positions)",
        "prelu": "PReLU: its slopes (1 or C) times the batch",
        "layernorm": "LayerNorm, LayerNorm2d: its parameters (2C) times the batch",
        "groupnorm": "GroupNorm: its parameters (2C) times the batch"},
    "ptflops": {
        "silu": "1 per element (nn.SiLU calls the patched F.silu)",
        "gelu": "2 per element for nn.GELU (module hook + patched F.gelu), 1 for F.gelu",
        "leaky_relu": "1 per element for nn.LeakyReLU (F.leaky_relu is not patched: 0)",
        "prelu": "2 per element for nn.PReLU (hook + patched F.prelu), 1 for F.prelu",
        "layernorm": "1 per element for nn.LayerNorm (it has no `affine`); LayerNorm2d, F.layer_norm: 0",
        "groupnorm": "2 per element (1 without affine) for nn.GroupNorm; F.group_norm: 0",
        "elementwise_mul": "torch.mul: the elements of its (left-aligned) broadcast shape; `*`: 0"},
    "ptflops-nofunc": {
        "gelu": "1 per element for nn.GELU, 0 for nn.SiLU and functionals",
        "leaky_relu": "1 per element for nn.LeakyReLU",
        "prelu": "1 per element for nn.PReLU",
        "layernorm": "1 per element for nn.LayerNorm",
        "groupnorm": "2 per element (1 without affine) for nn.GroupNorm"},
    "fvcore": {
        "layernorm": "5 per element with a weight, 4 without (aten::layer_norm, module or functional)",
        "groupnorm": "5 per element with affine, 4 without (aten::group_norm)"},
    "flopcounter": {},
    "thop": {
        "conv_transpose": "a ConvTranspose2d as its weights times N·H'·W' output positions",
        "prelu": "1 per element for nn.PReLU",
        "layernorm": "4 per element for nn.LayerNorm (2 without elementwise_affine); LayerNorm2d: 0"},
}
for _name, _extra in _RULE_TEXT.items():
    PROFILES[_name].rules.update(_extra)

# --- Forms that matter to a training step's memory (issue 17) -------------------------------------
# An op run in place, written `ReLU(inplace=True)` or `F.relu(inplace=True)` (torchvision's ReLUs,
# GoogLeNet's BasicConv2d, MobileNetV2's ReLU6), keeps its result in its input's memory: autograd then
# saves the same storage (ReLU) or a copy of the input (ReLU6, hardswish, SiLU, hardsigmoid), and no
# new output is allocated (archcalc.training). The counting tools see the same module or function
# either way, so every profile counts it as the op without `(inplace=True)`; measured equal with each
# tool on the zoo's torch copies (tests/torchref). `+` is an out-of-place add (MobileNetV2's
# `x + self.conv(x)`), counted as `+=` is: by no tool.
_INPLACE_FORMS = {"relu": ("ReLU", "F.relu"), "relu6": ("ReLU6", "F.relu6"),
                  "leakyrelu": ("LeakyReLU", "F.leaky_relu"), "hardswish": ("Hardswish",), "silu": ("SiLU", "F.silu"),
                  "hardsigmoid": ("Hardsigmoid", "F.hardsigmoid"), "dropout": ("Dropout",)}
for _kind, _ops in _INPLACE_FORMS.items():
    TORCH_ALTERNATIVES[_kind] = TORCH_ALTERNATIVES.get(_kind, ()) + tuple(f"{op}{INPLACE}" for op in _ops)
TORCH_ALTERNATIVES["add"] += ("+",)


def _ptflops_split(tool: str, n: int, module: int, functional: int) -> int:
    """What ptflops prints for counts over the batch: its module hooks' part divided by the batch (it
    reports them per sample), its patched functionals' part not (measured: at batch 2 it prints
    M + 2F for M and F at batch 1); ptflops-nofunc patches nothing."""
    return module // n + (functional if tool == "ptflops" else 0)


def _norm_rule(cat: str, nn_name: str) -> Callable[[str, Row, str, int, int], dict[str, int]]:
    """LayerNorm / GroupNorm as each tool counts them (module, LayerNorm2d or functional)."""
    def rule(tool: str, row: Row, op: str, n: int, out: int) -> dict[str, int]:
        kind = row.node.kind if row.node is not None else None
        affine = bool(getattr(kind, "affine", True))
        if tool == "torchinfo":
            return {cat: n * row.params} if not op.startswith("F.") else {}
        if tool == "fvcore":
            return {cat: out * (5 if affine else 4)}
        if op != nn_name:  # LayerNorm2d (a subclass: no ptflops or thop rule), functionals
            return {}
        if tool.startswith("ptflops"):  # the module hook only: F.layer_norm, F.group_norm are not patched
            return {cat: _ptflops_split(tool, n, out * (2 if affine and cat == "groupnorm" else 1), 0)}
        if tool == "thop" and cat == "layernorm":
            return {cat: out * (4 if affine else 2)}
        return {}
    return rule


def _per_element(cat: str, factors: dict[str, int | tuple[int, int]], params: bool = False
                 ) -> Callable[[str, Row, str, int, int], dict[str, int]]:
    """`factors[tool]` counts per output element: for ptflops (module hook, patched functional), each
    part as ptflops prints it; with `params`, torchinfo's parameters x batch."""
    def rule(tool: str, row: Row, op: str, n: int, out: int) -> dict[str, int]:
        if params and tool == "torchinfo":
            return {cat: n * row.params}
        f = factors.get(tool, 0)
        if isinstance(f, tuple):
            return {cat: _ptflops_split(tool, n, f[0] * out, f[1] * out)}
        return {cat: out * f}
    return rule  # none of these ops has kernel MACs


def _conv_transpose(tool: str, row: Row, op: str, n: int, out: int) -> dict[str, int]:
    bias = row.other.get("bias_adds", 0)
    if tool == "flopcounter":
        return {"conv_flops": 2 * row.macs}
    if tool in ("torchinfo", "thop"):  # weights x output positions (torchinfo adds the bias's)
        h, w, c = row.output_shape
        counted = {"conv_transpose": (row.params - (c if bias else 0)) * n * h * w}
        return {**counted, "bias_adds": bias} if tool == "torchinfo" else counted
    if tool.startswith("ptflops"):  # a module hook: per sample
        return {"macs": row.macs // n, "bias_adds": bias // n}
    return {"macs": row.macs}  # fvcore


def _torch_mul(tool: str, row: Row, op: str, n: int, out: int) -> dict[str, int]:
    """ptflops's patched torch.mul counts the elements of the operands' shapes aligned from the
    left (a (C, 1, 1) scale against N x C x H x W counts max(N, C)·C·H·W); one call per product,
    over the whole batch (a patched function, not a module hook)."""
    if tool != "ptflops":
        return {}

    def torch_shape(s: tuple[int, ...], rank: int) -> tuple[int, ...]:
        """N x C x H x W, N x L x C, N x C; a gate of C viewed as N x C x 1 x 1 or N x 1 x C."""
        if len(s) == 3:
            return (n, s[2], s[0], s[1])
        if len(s) == 1 and rank > 1:
            return (n, s[0], 1, 1) if rank == 3 else (n, 1, s[0])
        return (n, *s)

    if row.kind == "scale":  # torch.mul(gamma, x), gamma C x 1 x 1 for a map, C for a sequence
        shape = row.output_shape
        gamma = (shape[-1], 1, 1) if len(shape) == 3 else (shape[-1],)
        x = torch_shape(shape, len(shape))
        left = [max(a, b) for a, b in itertools.zip_longest(gamma, x, fillvalue=1)]
        return {"elementwise_mul": math.prod(left)}
    rank = max(len(s) for s in row.input_shapes)
    shapes = [torch_shape(s, rank) for s in row.input_shapes]
    total, acc = 0, shapes[0]
    for s in shapes[1:]:
        acc = tuple(max(a, b) for a, b in zip(acc, s, strict=True))
        total += math.prod(acc)
    return {"elementwise_mul": total}


#: (module hook, patched functional) counts per element for ptflops and ptflops-nofunc
_FUNCTIONAL, _HOOK, _BOTH = (0, 1), (1, 0), (1, 1)
_NEW_RULES: dict[str, Callable[[str, Row, str, int, int], dict[str, int]]] = {
    "SiLU": _per_element("silu", {"ptflops": _FUNCTIONAL, "ptflops-nofunc": _FUNCTIONAL}),
    "F.silu": _per_element("silu", {"ptflops": _FUNCTIONAL, "ptflops-nofunc": _FUNCTIONAL}),
    "GELU": _per_element("gelu", {"ptflops": _BOTH, "ptflops-nofunc": _BOTH}),
    "F.gelu": _per_element("gelu", {"ptflops": _FUNCTIONAL, "ptflops-nofunc": _FUNCTIONAL}),
    "Hardsigmoid": _per_element("hardsigmoid", {}), "F.hardsigmoid": _per_element("hardsigmoid", {}),
    "LeakyReLU": _per_element("leaky_relu", {"ptflops": _HOOK, "ptflops-nofunc": _HOOK}),
    "F.leaky_relu": _per_element("leaky_relu", {}),
    "PReLU": _per_element("prelu", {"ptflops": _BOTH, "ptflops-nofunc": _BOTH, "thop": 1}, params=True),
    "F.prelu": _per_element("prelu", {"ptflops": _FUNCTIONAL, "ptflops-nofunc": _FUNCTIONAL}),
    "LayerNorm": _norm_rule("layernorm", "LayerNorm"), "LayerNorm2d": _norm_rule("layernorm", "LayerNorm"),
    "F.layer_norm": _norm_rule("layernorm", "LayerNorm"),
    "GroupNorm": _norm_rule("groupnorm", "GroupNorm"), "F.group_norm": _norm_rule("groupnorm", "GroupNorm"),
    "ConvTranspose2d": _conv_transpose, "torch.mul": _torch_mul,
    "*": _per_element("", {}), "Identity": _per_element("", {}), "StochasticDepth": _per_element("", {}),
    "DropPath": _per_element("", {}),
}


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


def rows_by_name(an: Analysis) -> dict[str, Row]:
    """The rows of an analysis by name (layer path)."""
    return {r.name: r for r in an.rows}


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
    op = (op or TORCH_DEFAULT.get(row.kind, "?")).removesuffix(INPLACE)  # the tools see the same op
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
    rule = _NEW_RULES.get(op)
    if rule is not None:
        return {k: v for k, v in rule(tool, row, op, n, out).items() if v}
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
            # thop's own arithmetic, in doubles, truncated: 4 x 6 -> 6 x 6 over 2 x 6 x 6 x 6 outputs
            # is (4/6·6/6 + 1)·432 = 719.99... -> 719 (measured)
            d["adaptive_avg_pool"] = int(((h / oh) * (w / ow) + 1) * out)
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
                  "torch.matmul", "torch.bmm", "@", "MultiheadAttention(fast path)")
#: nn.MultiheadAttention run in eval mode inside torch.no_grad(): its fast path,
#: torch._native_multi_head_attention, in which fvcore and FlopCounterMode see no projection and no
#: product (measured with torch 2.13.0 on vit_b_32: fvcore 2,952,328,704, FlopCounterMode 5,895,057,408,
#: against 4,367,906,304 and 8,726,212,608 called with autograd on; torchinfo, ptflops and thop unchanged)
TORCH_ALTERNATIVES["attention"] += ("MultiheadAttention(fast path)",)


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
        if op == "MultiheadAttention(fast path)":
            seen = 0
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
