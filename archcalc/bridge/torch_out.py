"""A spec's graph -> PyTorch source: one nn.Module class per block, the spec's layer names.

Each layer becomes the module the operator table gives for its kind (`nn.Conv2d` for conv);
fold.py groups the layers of block instances into classes whose constructor arguments are the
values that differ between instances (`in_channels`, `filters`, `stride`), so the source reads
like a hand-written model and trains like one. Activations are NCHW, as PyTorch's are; a
dense layer after `flatten` reads C x H x W order (see layout.py, and `state_dict` below).
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from ..graph import Graph
from . import ExportError
from .fold import Block, Folded, Item, Leaf, fold
from .table import EXPORTERS, TORCH_HELPERS, TorchLayer

_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "ceil_mode": False,
             "count_include_pad": True, "eps": 1e-5, "p": 0.5, "_pad": None, "training_only": False}


def _ident(name: str, taken: set[str]) -> str:
    s = re.sub(r"\W", "_", name)
    if not s or s[0].isdigit() or keyword.iskeyword(s) or s in ("x", "self", "torch", "nn"):
        s = f"l_{s}"
    base, k = s, 1
    while s in taken:
        k += 1
        s = f"{base}_{k}"
    taken.add(s)
    return s


def _camel(name: str) -> str:
    s = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p) or "Block"
    return s if not s[0].isdigit() else f"B{s}"


def _py(v: Any) -> str:
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return 'float("-inf")' if v < 0 else 'float("inf")'
    if isinstance(v, list):
        return "(" + ", ".join(_py(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, str):
        return v  # an argument, an expression of arguments (fold.py writes them), or a quoted literal
    return repr(v)


def layers_of(graph: Graph) -> list[TorchLayer]:
    from ..walk import walk
    shapes = [r.output_shape for r in walk(graph).rows]
    missing = sorted({n.kind.name for n in graph.nodes[1:] if n.kind.name not in EXPORTERS})
    if missing:
        raise ExportError(f"no PyTorch mapping for the kinds {', '.join(missing)}",
                          hint="see docs/import-export.md for the operator table")
    return [EXPORTERS[n.kind.name].torch(n.kind, [shapes[i] for i in n.inputs], shapes[j])
            for j, n in enumerate(graph.nodes) if j > 0]


def export_torch(graph: Graph) -> str:
    """The source of a module file defining one class per block and the network's class."""
    tls = layers_of(graph)
    kinds = {}
    leaves = []
    helpers: list[str] = []
    for j, (tl, node) in enumerate(zip(tls, graph.nodes[1:], strict=True), 1):
        label = f"{tl.ctor or ''}|{tl.call}|{tl.post}|{tl.pad_value}|{tl.apply}"
        kinds[label] = tl
        helpers += [h for h in tl.helpers if h not in helpers]
        vals = dict(tl.args)
        if tl.pad is not None:
            vals["_pad"] = list(tl.pad)
        if j in graph.train_only:  # runs in training only, as torchvision's auxiliary heads
            vals["training_only"] = True
        leaves.append(Leaf(tuple(node.path.split("/")), label, vals, [i - 1 for i in node.inputs]))
    f = fold(leaves, default=lambda k, fld: _DEFAULTS.get(fld), clean=lambda n, fb: n, reserved=set())
    classes = {b.name: _camel(b.name) for b in f.blocks.values()}
    net = _camel(graph.spec.name)
    while net in classes.values():
        net += "Net"
    out = [f'"""{graph.spec.name}, exported by `archcalc export --to torch` from {graph.spec.path}.',
           "",
           "Input N x C x H x W. One class per block of the spec; the layers keep the spec's names.",
           '"""', "", "import math", "", "import torch", "import torch.nn.functional as F", "from torch import nn", ""]
    for h in helpers:
        out += ["", TORCH_HELPERS[h], ""]
    for b in _ordered(f):
        out += ["", *_class(classes[b.name], b.args, b.items, b.output, kinds, classes), ""]
    names = _output_names(graph, f)
    outs = list(dict.fromkeys(names.get(i, f.items[-1].name) for i in graph.outputs))
    train_outs = [names[i] for i in sorted(graph.train_only) if i in names and not any(
        i in n.inputs for n in graph.nodes)]
    out += ["", *_class(net, [], f.items, None, kinds, classes, outputs=outs, train_outputs=train_outs)]
    return "\n".join(out).rstrip() + "\n"


def _output_names(graph: Graph, f: Folded) -> dict[int, str]:
    """For output and training-only nodes: the top-level item giving them (a layer, or a block)."""
    by_leaf = {it.leaf + 1: it.name for it in f.items if it.leaf is not None}
    by_name = {it.name for it in f.items}
    names: dict[int, str] = {}
    for i in {*graph.outputs, *graph.train_only}:
        top = graph.nodes[i].path.split("/")[0]
        name = by_leaf.get(i, top if top in by_name else None)
        if name is not None:
            names[i] = name
    return names


def _ordered(f: Folded) -> list[Block]:
    """Blocks before the blocks that use them (a class is defined before it is named)."""
    done: list[Block] = []

    def visit(b: Block) -> None:
        if b in done:
            return
        for it in b.items:
            if it.block:
                visit(f.blocks[it.kind])
        done.append(b)
    for b in f.blocks.values():
        visit(b)
    return done


def _class(cls: str, args: list[str], items: list[Item], output: str | None, kinds: dict[str, TorchLayer],
           classes: dict[str, str], outputs: list[str] | None = None,
           train_outputs: list[str] | None = None) -> list[str]:
    taken: set[str] = set(args)
    attrs = {it.name: _ident(it.name, taken) for it in items}
    sig = "".join(f", {a}" for a in args)
    init = [f"class {cls}(nn.Module):", f"    def __init__(self{sig}):", "        super().__init__()"]
    fwd = ["    def forward(self, x):"]
    var = {"input": "x"}
    for it in items:
        a = attrs[it.name]
        ins = [var[r] for r in it.refs] or ["x"]
        if it.block:
            call = f"{classes[it.kind]}({', '.join(f'{k}={_py(v)}' for k, v in it.values.items())})"
            if it.repeat:
                init.append(f"        self.{a} = nn.Sequential(*({call} for _ in range({_py(it.repeat)})))")
            else:
                init.append(f"        self.{a} = {call}")
            fwd.append(f"        {a} = self.{a}({ins[0]})")
        else:
            tl = kinds[it.kind]
            vals = dict(it.values)
            pad = vals.pop("_pad", None)
            train = vals.pop("training_only", False)
            guard = "" if not train else " if self.training else None"
            if isinstance(train, str):  # an argument: training-only in some instances of this block
                init.append(f"        self.{a}_training_only = {train}")
                guard = f" if self.training or not self.{a}_training_only else None"
            if tl.ctor is None:
                expr = tl.call.replace("{plus}", " + ".join(ins)).replace("{all}", ", ".join(ins))
                fwd.append(f"        {a} = {expr.format(*ins, **{k: _py(v) for k, v in vals.items()})}{guard}")
            else:
                kw = ", ".join(f"{k}={_py(v)}" for k, v in vals.items() if not (
                    k in _DEFAULTS and v == _DEFAULTS[k] and not (k == "stride" and "Pool" in tl.ctor)))
                init.append(f"        self.{a} = {tl.ctor}({kw})")
                x = ins[0]
                if pad is not None:
                    pad_cls = "nn.ZeroPad2d" if tl.pad_value == 0 else "nn.ConstantPad2d"
                    extra = "" if tl.pad_value == 0 else ', float("-inf")'
                    made = f"{pad_cls}({_py(pad)}{extra})"
                    if isinstance(pad, str):  # an argument: some instances pad, others do not
                        made = f"{made} if {pad} is not None else nn.Identity()"
                    init.append(f"        self.{a}_pad = {made}")
                    x = f"self.{a}_pad({x})"
                call = tl.apply.format(m=f"self.{a}", x=x) if tl.apply else f"self.{a}({x})"
                fwd.append(f"        {a} = {call}{tl.post}{guard}")
        var[it.name] = a
    # a block argument that a layer without a module reads in forward (a slice's bounds that differ
    # between instances): kept on the instance, and read back at the top of forward
    body = "\n".join(fwd[1:])
    used = [x for x in args if re.search(rf"(?<![\w.]){re.escape(x)}\b", body)]
    init += [f"        self.{x} = {x}" for x in used]
    fwd[1:1] = [f"        {x} = self.{x}" for x in used]
    if outputs is None:
        ret = var[output] if output else var[items[-1].name]
        fwd.append(f"        return {ret}")
    elif train_outputs:
        main = ", ".join(var[o] for o in outputs)
        fwd.append("        if self.training:  # the training-only heads' outputs too")
        fwd.append(f"            return {', '.join(var[o] for o in [*outputs, *train_outputs])}")
        fwd.append(f"        return {main}")
    else:
        fwd.append(f"        return {', '.join(var[o] for o in outputs)}")
    return init + [""] + fwd


def state_dict(graph: Graph, arrays: list[dict[str, Any]], model: Any) -> dict[str, Any]:
    """The executor's weights as a state_dict for `model` (an instance of the exported class).

    Modules are registered in the spec's layer order, so the model's parameters and buffers
    come in the order of the graph's weights; each is converted by the table's `nchw` entry
    and checked for shape."""
    import torch

    from ..walk import walk
    from .layout import perms
    shapes = [r.output_shape for r in walk(graph).rows]
    order = perms(graph, shapes)
    flat: list[Any] = []
    for j, node in enumerate(graph.nodes):
        if not arrays[j]:
            continue
        ex = EXPORTERS[node.kind.name]
        ws = ex.nchw(node.kind, arrays[j], [shapes[i] for i in node.inputs], order[node.inputs[0]])
        flat += [ws[k] for k in ws]
    keys = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    if len(keys) != len(flat):
        raise ExportError(f"the module has {len(keys)} tensors, the spec {len(flat)}")
    sd = {}
    for k, a in zip(keys, flat, strict=True):
        t = torch.from_numpy(a.copy())
        if tuple(model.state_dict()[k].shape) != tuple(t.shape):
            want = tuple(model.state_dict()[k].shape)
            raise ExportError(f"{k}: the module wants {want}, the spec has {tuple(t.shape)}")
        sd[k] = t
    return sd
