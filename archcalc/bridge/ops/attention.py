"""Attention: multi-head self-attention <-> attention, Swin's shifted-window attention <->
windowattention, a MatMul of two activations <-> matmul.

ONNX has no attention operator: exporters write each attention as a few dozen nodes (projections,
reshapes into heads, the two products, a softmax, the bias table of window attention, the rolls of a
shift). The importer recognises them inside one module's scope (importer.Region): see
`attention_region` below, and docs/import-export.md for what is checked before a region becomes a
layer."""

from __future__ import annotations

import math
from typing import Any

from .. import views
from ..importer import Context, Unmapped
from ..read import FLOAT_TYPES
from ..table import TorchLayer, exports, region, torch_helper
from .common import real

# --- import ------------------------------------------------------------------------------------


def make_kind(name: str, fields: dict[str, Any]) -> Any:
    """A kind with spec field values (the rest at their defaults), as the spec loader would make it."""
    from ...kinds import REGISTRY
    cls = REGISTRY[name]
    return cls(**{k: f.convert(fields.get(k, f.default), {}) for k, f in cls.fields.items()})


def activation_product(ctx: Context, n: Any) -> None:
    """A MatMul of two sequences (N x L x C, either transposed): `matmul`, with the Mul (or Div) by a
    number that follows it as its `scale`."""
    a, b = n.input[0], n.input[1]
    flags = {}
    for t, key in ((a, "transpose_a"), (b, "transpose_b")):
        v = ctx.value(t)
        if len(v.shape) != 2 or len(ctx.dims(t)) != 3:
            raise Unmapped("a product of activations other than two N x L x C sequences (multi-head attention "
                           "is recognised as a whole module, `attention`)")
        if v.view == (views.N, (1,), (0,)):
            flags[key] = True
        elif v.view != views.canonical(v.shape):
            raise Unmapped("a product of sequences laid out otherwise than N x L x C")
    out, scale = n.output[0], 1.0
    nxt = ctx.only_reader(out)
    if nxt is not None and nxt.op_type in ("Mul", "Div"):
        other = [t for t in nxt.input if t != out]
        c = ctx.scalar(other[0]) if len(other) == 1 and other[0] not in ctx.live else None
        if c is not None and c > 0 and (nxt.op_type == "Mul" or nxt.input[1] == other[0]):
            scale = real(c if nxt.op_type == "Mul" else 1 / c)
            ctx.absorb(nxt)
            out = nxt.output[0]
    fields = dict(flags)
    if scale != 1:
        fields["scale"] = scale
    d = ctx.dims(out)
    ctx.emit(n, "matmul", fields, inputs=[a, b], output=out, view=views.canonical((0, 0)), shape=(d[1], d[2]))


def _scopes(ctx: Context) -> dict[int, list[tuple[str, list[Any]]]]:
    """The module scopes (node-name prefixes) holding exactly one live Softmax and a product of two
    activations, with their live nodes, keyed by the id() of each scope's first live node."""
    members: dict[str, list[Any]] = {}
    for m in ctx.model.nodes:
        if not m.name.startswith("/") or not any(o in ctx.live for o in m.output):
            continue
        parts = m.name.split("/")[1:-1]
        for k in range(1, len(parts) + 1):
            members.setdefault("/" + "/".join(parts[:k]), []).append(m)
    out: dict[int, list[tuple[str, list[Any]]]] = {}
    for scope, nodes in members.items():
        if sum(m.op_type == "Softmax" for m in nodes) != 1:
            continue
        if not any(m.op_type == "MatMul" and all(t in ctx.live for t in m.input[:2]) for m in nodes):
            continue
        out.setdefault(id(nodes[0]), []).append((scope, nodes))
    for v in out.values():
        v.sort(key=lambda sn: -sn[0].count("/"))  # innermost first
    return out


@region(prepare=_scopes)
def attention_region(ctx: Context, n: Any, scopes: dict[int, list[tuple[str, list[Any]]]]) -> bool:
    """A module's scope that computes attention: one input, one output, two products of activations
    around one softmax, projections by weights. Its heads come from the scores' shape, its window and
    shift (Swin) from the partition's reshape and the rolls' slices; it becomes one `attention`
    (`windowattention`) layer when its parameters are the kind's and its products' multiply-accumulates
    are the kind's MACs, exactly. Otherwise its nodes go through the table one by one."""
    for scope, nodes in scopes.get(id(n), ()):
        if any(id(m) in ctx.absorbed for m in nodes):
            continue
        r = _Region(ctx, scope, nodes)
        if r.ok and (r.attention() if len(r.x.shape) == 2 else r.window()):
            return True
    return False


class _Region:
    """The live nodes of one module scope, summarised: input, output, products, initializers."""

    def __init__(self, ctx: Context, scope: str, nodes: list[Any]) -> None:
        self.ctx, self.scope, self.nodes = ctx, scope, nodes
        self.ok = False
        ids = {id(m) for m in nodes}
        made = {o for m in nodes for o in m.output if o}
        ext = {t for m in nodes for t in m.input if t in ctx.live and t not in made}
        exits = {o for o in made if o in ctx.model.outputs or any(id(r) not in ids for r in ctx.readers.get(o, []))}
        if len(ext) != 1 or len(exits) != 1:
            return
        self.xt, self.y = ext.pop(), exits.pop()
        if self.xt not in ctx.vals:
            return
        self.x = ctx.vals[self.xt]
        self.weights: list[tuple[Any, tuple[int, int], str]] = []   # (node, (in, out), initializer)
        self.products: list[Any] = []
        self.inits: dict[str, Any] = {}
        for m in nodes:
            for t in m.input:
                if t and t not in ctx.live:
                    for name in ctx.sources(t)[0]:
                        self.inits[name] = ctx.model.inits[name]
            if m.op_type not in ("MatMul", "Gemm"):
                continue
            live = [t for t in m.input[:2] if t in ctx.live]
            if len(live) == 2 and m.op_type == "MatMul":
                self.products.append(m)
            elif len(live) == 1 and m.input[0] in ctx.live:
                found = ctx._stored(m.input[1])
                if found is None or len(found[1]) != 2:
                    return
                name, dims = found
                if m.op_type == "Gemm" and ctx.attrs(m).get("transB", 0):
                    dims = dims[::-1]
                self.weights.append((m, dims, name))  # type: ignore[arg-type]
            else:
                return
        if len(self.products) != 2:
            return
        self.softmax = next(m for m in nodes if m.op_type == "Softmax")
        self.ok = True

    def macs(self) -> int:
        """The multiply-accumulates of the region's products per sample, from ONNX's shapes."""
        total = 0
        for m in [*self.products, *(w[0] for w in self.weights)]:
            a, out = self.ctx.dims(m.input[0]), self.ctx.dims(m.output[0])
            k = a[0] if m.op_type == "Gemm" and self.ctx.attrs(m).get("transA", 0) else a[-1]
            total += math.prod(out) * k  # type: ignore[arg-type]
        return total // self.ctx.batch

    def biases(self) -> dict[str, int]:
        """1-D float initializers of the region (its biases), name -> length."""
        w = {name for _, _, name in self.weights}
        return {name: t.dims[0] for name, t in self.inits.items() if name not in w and len(t.dims) == 1
                and t.data_type in FLOAT_TYPES}

    def scores(self) -> tuple[int, ...]:
        first = min(self.products, key=lambda m: self.nodes.index(m))
        return tuple(self.ctx.dims(first.output[0]))  # type: ignore[arg-type]

    def finish(self, kind: str, fields: dict[str, Any], used: list[str], shape: tuple[int, ...],
               params: int, label: str) -> bool:
        """Emit the layer when its output, parameters and MACs are the region's; absorb the region."""
        ctx = self.ctx
        d = ctx.dims(self.y)
        candidates = [self.x.view, views.canonical(shape)] + ([views.nhwc()] if len(shape) == 3 else [])
        out_view = next((v for v in candidates if len(v) == len(d) and views.shape_of(v, d, len(shape)) == shape),
                        None)  # the input's arrangement, or the other one (a module that permutes back outside)
        if out_view is None:
            return False
        try:
            k = make_kind(kind, fields)
            ins = [self.x.shape]
            out = k.out_shape(ins)
            macs = k.macs(ins, out).value
            weights = sum(w.count.value for w in k.weights(ins, out))
        except Exception:  # noqa: BLE001 - a hypothesis the kind refuses is no match
            return False
        if tuple(out) != shape or macs != self.macs() or weights != params:
            return False
        ctx.used.update(used)
        ctx.absorb(*self.nodes)
        ctx.emit(self.nodes[0], kind, fields, inputs=[self.xt], output=self.y, view=out_view, shape=shape,
                 params=params, name=f"{self.scope}/{label}")
        return True

    def attention(self) -> bool:
        """nn.MultiheadAttention (and its kin): L x C in, projections C -> 3·h·d (or three C -> h·d),
        h·d -> C out."""
        ctx, (length, c) = self.ctx, self.x.shape
        sc = self.scores()
        if len(sc) < 3 or sc[-1] != length or sc[-2] != length:
            return False
        h = math.prod(sc[:-2]) // ctx.batch  # type: ignore[arg-type]
        first = min(self.products, key=lambda m: self.nodes.index(m))
        d = ctx.dims(first.input[0])[-1]
        if not h or not d:
            return False
        hd = h * d  # type: ignore[operator]
        order = {id(m): k for k, m in enumerate(self.nodes)}
        before = [w for w in self.weights if order[id(w[0])] < order[id(first)]]
        after = [w for w in self.weights if w not in before]
        if [wd for _, wd, _ in before] not in ([(c, 3 * hd)], [(c, hd)] * 3) or len(after) > 1 or \
                (after and after[0][1] != (hd, c)):
            return False
        biases = self.biases()
        qkv_b = [b for b, k in biases.items() if k in (3 * hd, hd)]
        proj_b = [b for b, k in biases.items() if k == c and b not in qkv_b] if c != hd else \
            [b for b in qkv_b[len(before):]]
        qkv_b = qkv_b[:len(before)] if c == hd else qkv_b
        fields: dict[str, Any] = {"heads": h}
        if d * h != c:
            fields["head_dim"] = d
        if not qkv_b:
            fields["qkv_bias"] = False
        if not after:
            fields["proj"] = False
        elif not proj_b:
            fields["proj_bias"] = False
        used = [w for _, _, w in self.weights] + qkv_b + proj_b
        if set(used) != set(self.inits) - {t for t, v in self.inits.items() if v.data_type not in FLOAT_TYPES}:
            return False
        params = sum(math.prod(self.inits[u].dims) for u in used)
        return self.finish("attention", fields, used, (length, c if after else hd), params, "Attention")

    def window(self) -> bool:
        """torchvision's ShiftedWindowAttention: a map in, windows of T tokens, qkv C -> 3C, proj C -> C,
        a relative position bias per head (the table, or the exporter's expansion of it)."""
        ctx = self.ctx
        hh, ww_, c = self.x.shape
        sc = self.scores()
        if len(sc) != 4 or [wd for _, wd, _ in self.weights] != [(c, 3 * c), (c, c)]:
            return False
        heads, t = sc[1], sc[-1]
        wh = ww = None
        for m in self.nodes:
            dm = ctx.dims(m.output[0]) if m.output[0] in ctx.model.shapes else ()
            if m.op_type == "Reshape" and len(dm) == 6 and dm[5] == c and dm[2] * dm[4] == t:  # type: ignore[operator]
                wh, ww = dm[2], dm[4]
                break
        if wh is None:
            r = math.isqrt(t)
            if r * r != t:
                return False
            wh = ww = r
        shift = self._shift(c)
        biases = self.biases()
        qkv_b = [b for b, k in biases.items() if k == 3 * c]
        proj_b = [b for b, k in biases.items() if k == c]
        rows = (2 * wh - 1) * (2 * ww - 1)  # type: ignore[operator]
        used = [w for _, _, w in self.weights] + qkv_b[:1] + proj_b[:1]
        table = [name for name, v in self.inits.items() if tuple(v.dims) == (rows, heads) and name not in used]
        constants = [name for name, v in self.inits.items() if name not in used and name not in table[:1]
                     and v.data_type in FLOAT_TYPES]
        const_floats = sum(math.prod(self.inits[k].dims) for k in constants)
        params = sum(math.prod(self.inits[u].dims) for u in used) + rows * heads
        if table:
            used.append(table[0])
        elif not any(math.prod(self.inits[k].dims) == heads * t * t for k in constants):
            return False
        fields: dict[str, Any] = {"heads": heads, "window": wh if wh == ww else [wh, ww]}
        if any(shift):
            fields["shift"] = shift[0] if shift[0] == shift[1] else list(shift)
        if not qkv_b:
            fields["qkv_bias"] = False
        if not proj_b:
            fields["proj_bias"] = False
        if not self.finish("windowattention", fields, used + constants, (hh, ww_, c), params, "WindowAttention"):
            return False
        if constants:  # floats in the file that are no parameter: the expanded bias, a shift mask
            extra = const_floats - (0 if table else rows * heads)
            ctx.constant_floats += extra
            what = ("shift masks" if table else
                    f"relative position biases expanded to h x {t} x {t} in place of the {rows} x h tables the model "
                    "learns")
            ctx.summary(f"the exporter stored constants of window attention ({what}): {{count}} layers, "
                        "{total:,} floats of the file are not parameters", extra)
        return True

    def _shift(self, c: int) -> tuple[int, int]:
        """The cyclic shift of Swin's first roll along H and W: Concat(Slice(x, s, end), Slice(x, 0, s))."""
        from .channel import slice_bounds
        ctx = self.ctx
        found: dict[str, int] = {}
        for m in self.nodes:
            if m.op_type != "Concat" or len(m.input) != 2:
                continue
            srcs = [ctx.made_by.get(t) for t in m.input]
            if any(s is None or s.op_type != "Slice" for s in srcs) or srcs[0].input[0] != srcs[1].input[0]:
                continue
            d = ctx.dims(srcs[0].input[0])
            b = slice_bounds(ctx, srcs[0])
            axis = ctx.attrs(m).get("axis", 0) % len(d)
            if b is None or len(d) != 4 or len(b) != 1 or b[0][0] != axis:
                continue
            last = d[3] == c
            which = {1: "h", 2: "w"}.get(axis) if last else {2: "h", 3: "w"}.get(axis)
            if which and which not in found:
                found[which] = b[0][1]
        return found.get("h", 0), found.get("w", 0)

# --- export ------------------------------------------------------------------------------------


def _attention_nchw(kind: Any, ws: dict[str, Any], ins: list[Any], perm: Any) -> dict[str, Any]:
    """Kernels as nn.Linear weights (out, in); biases and the bias table as they are. In the order of
    the module's state_dict: a module's own parameter (the bias table) before its children's."""
    out = {k: (v.T.copy() if k.endswith("kernel") else v) for k, v in ws.items()}
    return {"bias_table": out.pop("bias_table"), **out} if "bias_table" in out else out


def _heads(b: Any, x: str, ws: dict[str, Any], tokens: int, heads: int, d: int) -> list[str]:
    """Q (scaled by 1/sqrt(d)), K^T and V, each N x h x T x d (K^T: d x T), from x (N, T, C)."""
    import numpy as np
    qkv = b.node("MatMul", [x, b.init("qkv.weight", ws["qkv_kernel"].T)])
    if "qkv_bias" in ws:
        qkv = b.node("Add", [qkv, b.init("qkv.bias", ws["qkv_bias"])])
    qkv = b.node("Reshape", [qkv, b.const("shape", [-1, tokens, 3, heads, d])])
    qkv = b.node("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
    q, k, v = (b.node("Gather", [qkv, b.const("index", np.array(i, np.int64))], axis=0) for i in range(3))
    q = b.node("Mul", [q, b.const("scale", float(d) ** -0.5)])
    return [q, b.node("Transpose", [k], perm=[0, 1, 3, 2]), v]


def _merge_heads(b: Any, o: str, ws: dict[str, Any], tokens: int, width: int) -> str:
    """N x h x T x d -> N x T x h·d, projected when the layer has a projection."""
    y = b.node("Reshape", [b.node("Transpose", [o], perm=[0, 2, 1, 3]), b.const("shape", [-1, tokens, width])])
    if "proj_kernel" in ws:
        y = b.node("MatMul", [y, b.init("proj.weight", ws["proj_kernel"].T)])
        if "proj_bias" in ws:
            y = b.node("Add", [y, b.init("proj.bias", ws["proj_bias"])])
    return y


def _attention_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                    ws: dict[str, Any]) -> str:
    n, c, h, d = kind.geometry(shapes)
    q, kt, v = _heads(b, ins[0], ws, n, h, d)
    a = b.node("Softmax", [b.node("MatMul", [q, kt])], axis=-1)
    return _merge_heads(b, b.node("MatMul", [a, v]), ws, n, h * d)


def _roll(b: Any, x: str, size: int, shift: int, axis: int) -> str:
    """torch.roll(x, shift, axis) for 0 < |shift| < size: two slices swapped."""
    cut = (-shift) % size
    first = b.node("Slice", [x, b.const("start", [cut]), b.const("end", [size]), b.const("axis", [axis])])
    second = b.node("Slice", [x, b.const("start", [0]), b.const("end", [cut]), b.const("axis", [axis])])
    return b.node("Concat", [first, second], axis=axis)


def _window_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                 ws: dict[str, Any]) -> str:
    """torchvision's shifted_window_attention, node by node, on the map moved channels last."""
    import numpy as np

    from ...forward.attention import relative_position_index, shift_mask
    hh, ww_, c = shapes[0]
    hp, wp, _, heads, d, (sh, sw), nwin, t = kind.geometry(shapes)
    wh, ww = kind.window
    nh, nw = hp // wh, wp // ww
    x = b.node("Transpose", [ins[0]], perm=[0, 2, 3, 1])
    if (hp, wp) != (hh, ww_):
        x = b.node("Pad", [x, b.const("pads", [0, 0, 0, 0, 0, hp - hh, wp - ww_, 0])], mode="constant")
    for s, size, axis in ((sh, hp, 1), (sw, wp, 2)):
        if s:
            x = _roll(b, x, size, -s, axis)
    x = b.node("Reshape", [x, b.const("shape", [-1, nh, wh, nw, ww, c])])
    x = b.node("Transpose", [x], perm=[0, 1, 3, 2, 4, 5])
    x = b.node("Reshape", [x, b.const("shape", [-1, t, c])])
    q, kt, v = _heads(b, x, ws, t, heads, d)
    scores = b.node("MatMul", [q, kt])
    index = relative_position_index(wh, ww).reshape(-1).astype(np.int64)
    bias = b.node("Gather", [b.init("relative_position_bias_table", ws["bias_table"]), b.const("index", index)],
                  axis=0)
    bias = b.node("Transpose", [b.node("Reshape", [bias, b.const("shape", [t, t, heads])])], perm=[2, 0, 1])
    scores = b.node("Add", [scores, bias])
    if sh or sw:
        mask = shift_mask(hp, wp, wh, ww, sh, sw).astype(np.float32)[None, :, None]
        scores = b.node("Reshape", [scores, b.const("shape", [-1, nwin, heads, t, t])])
        scores = b.node("Add", [scores, b.const("mask", mask)])
        scores = b.node("Reshape", [scores, b.const("shape", [-1, heads, t, t])])
    a = b.node("Softmax", [scores], axis=-1)
    y = _merge_heads(b, b.node("MatMul", [a, v]), ws, t, c)
    y = b.node("Reshape", [y, b.const("shape", [-1, nh, nw, wh, ww, c])])
    y = b.node("Transpose", [y], perm=[0, 1, 3, 2, 4, 5])
    y = b.node("Reshape", [y, b.const("shape", [-1, hp, wp, c])])
    for s, size, axis in ((sh, hp, 1), (sw, wp, 2)):
        if s:
            y = _roll(b, y, size, s, axis)
    if (hp, wp) != (hh, ww_):
        y = b.node("Slice", [y, b.const("start", [0, 0]), b.const("end", [hh, ww_]), b.const("axes", [1, 2])])
    return b.node("Transpose", [y], perm=[0, 3, 1, 2])


def _matmul_onnx(b: Any, kind: Any, ins: list[str], shapes: list[tuple[int, ...]], out: tuple[int, ...],
                 ws: dict[str, Any]) -> str:
    a, c = ins
    if kind.transpose_a:
        a = b.node("Transpose", [a], perm=[0, 2, 1])
    if kind.transpose_b:
        c = b.node("Transpose", [c], perm=[0, 2, 1])
    y = b.node("MatMul", [a, c])
    return y if kind.scale == 1 else b.node("Mul", [y, b.const("scale", float(kind.scale))])


def _attention_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    args: dict[str, Any] = {"dim": shapes[0][1], "heads": kind.heads}
    for k, default in (("head_dim", 0), ("qkv_bias", True), ("proj", True), ("proj_bias", True)):
        if getattr(kind, k) != default:
            args[k] = getattr(kind, k)
    return TorchLayer("Attention", args, helpers=("Attention",))


def _window_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    args: dict[str, Any] = {"dim": shapes[0][2], "heads": kind.heads, "window": tuple(kind.window),
                            "shift": tuple(kind.shift)}
    for k in ("qkv_bias", "proj_bias"):
        if not getattr(kind, k):
            args[k] = False
    return TorchLayer("WindowAttention", args, helpers=("WindowAttention",))


def _matmul_torch(kind: Any, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> TorchLayer:
    a = "{0}.transpose(1, 2)" if kind.transpose_a else "{0}"
    c = "{1}.transpose(1, 2)" if kind.transpose_b else "{1}"
    scale = "" if kind.scale == 1 else " * {scale}"
    return TorchLayer(None, {"scale": float(kind.scale)} if scale else {}, call=f"torch.matmul({a}, {c}){scale}")


torch_helper("Attention", '''
class Attention(nn.Module):
    """Multi-head self-attention over N x L x C: nn.MultiheadAttention called as attn(x, x, x), with
    archcalc's options (the heads' width, each bias, no output projection)."""

    def __init__(self, dim, heads, head_dim=0, qkv_bias=True, proj=True, proj_bias=True):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim or dim // heads
        inner = self.heads * self.head_dim
        self.qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias)
        self.proj = nn.Linear(inner, dim, bias=proj_bias) if proj else nn.Identity()

    def forward(self, x):
        n, length, _ = x.shape
        q, k, v = self.qkv(x).reshape(n, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        a = ((q * self.head_dim ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(n, length, -1))
''')

torch_helper("WindowAttention", '''
class WindowAttention(nn.Module):
    """Swin's shifted-window attention on N x C x H x W (torchvision's ShiftedWindowAttention): the map
    padded to whole windows, rolled by -shift, each window attending within itself with a learned
    relative position bias (and, shifted, a mask between regions that wrapped around), rolled back."""

    def __init__(self, dim, heads, window, shift, qkv_bias=True, proj_bias=True):
        super().__init__()
        self.heads, self.window, self.shift = heads, tuple(window), tuple(shift)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        wh, ww = self.window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
        rel = coords[:, :, None] - coords[:, None, :]
        index = (rel[0] + wh - 1) * (2 * ww - 1) + rel[1] + ww - 1
        self.register_buffer("relative_position_index", index.flatten(), persistent=False)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        n, h, w, c = (int(s) for s in x.shape)  # sizes as numbers (an ONNX export keeps them constant)
        (wh, ww), heads = self.window, self.heads
        hp, wp = -(-h // wh) * wh, -(-w // ww) * ww
        x = F.pad(x, (0, 0, 0, wp - w, 0, hp - h))
        sh = 0 if wh >= hp else self.shift[0]
        sw = 0 if ww >= wp else self.shift[1]
        if sh or sw:
            x = torch.roll(x, (-sh, -sw), (1, 2))
        nh, nw, t, d = hp // wh, wp // ww, wh * ww, c // heads
        x = x.reshape(n, nh, wh, nw, ww, c).transpose(2, 3).reshape(-1, t, c)
        q, k, v = self.qkv(x).reshape(-1, t, 3, heads, d).permute(2, 0, 3, 1, 4)
        a = (q * d ** -0.5) @ k.transpose(-2, -1)
        a = a + self.relative_position_bias_table[self.relative_position_index].view(t, t, heads).permute(2, 0, 1)
        if sh or sw:
            region = x.new_zeros((hp, wp))
            count = 0
            for h0, h1 in ((0, hp - wh), (hp - wh, hp - sh), (hp - sh, hp)):
                for w0, w1 in ((0, wp - ww), (wp - ww, wp - sw), (wp - sw, wp)):
                    region[h0:h1, w0:w1] = count
                    count += 1
            region = region.view(nh, wh, nw, ww).transpose(1, 2).reshape(nh * nw, t)
            mask = (region[:, None, :] != region[:, :, None]).to(a.dtype) * -100.0
            a = (a.view(n, nh * nw, heads, t, t) + mask[None, :, None]).view(-1, heads, t, t)
        x = (a.softmax(-1) @ v).transpose(1, 2).reshape(-1, t, c)
        x = self.proj(x).view(n, nh, nw, wh, ww, c).transpose(2, 3).reshape(n, hp, wp, c)
        if sh or sw:
            x = torch.roll(x, (sh, sw), (1, 2))
        return x[:, :h, :w].permute(0, 3, 1, 2)
''')

exports("attention", onnx=_attention_onnx, torch=_attention_torch, nchw=_attention_nchw)
exports("windowattention", onnx=_window_onnx, torch=_window_torch, nchw=_attention_nchw)
exports("matmul", onnx=_matmul_onnx, torch=_matmul_torch)
