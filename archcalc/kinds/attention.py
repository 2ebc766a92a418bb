"""Attention: multi-head self-attention over a sequence, Swin's shifted-window attention over a map,
and a plain product of two activations for anything custom.

Every product of activations (Q by K^T, the weights by V) is counted in the MACs, as a kernel's
multiply-accumulates are: each output element of an m x k by k x n product costs k of them.
"""

from __future__ import annotations

from typing import Any

from ..errors import KindError
from ..formula import ZERO, Formula, prod, q, total
from ..shape import Shape, describe_shape, fmt, need_hwc, need_sequence
from .base import Call, Field, Kind, Saved, Weight, saved_input, saved_new


def _head_dim(c: int, heads: int, head_dim: int = 0) -> int:
    if head_dim:
        return head_dim
    if c % heads:
        raise KindError(f"{c} channels do not divide into heads={heads}", field="heads",
                        hint=f"use a number of heads that divides {c}, or give head_dim")
    return c // heads


def _global(ins: list[Any], in_shapes: list[Shape], out_shape: Shape) -> Any:
    from ..receptive import RF
    return RF.mixed("global")


class Attention(Kind):
    """Multi-head self-attention over L tokens (torch.nn.MultiheadAttention(C, h) called as attn(x, x, x)).

    Q, K, V = x·W_qkv (C -> 3·h·d, + bias); per head softmax(Q·K^T/sqrt(d))·V; then x·W_proj (h·d -> C, + bias).
    MACs   = L·C·3hd (projection in) + h·L·L·d (Q·K^T) + h·L·L·d (weights·V) + L·hd·C (projection out)
    Params = C·3hd + 3hd + hd·C + C (torch: in_proj 3C x C + 3C, out_proj C x C + C when d = C/h)
    Other ops: bias adds; multiplies h·L·d (Q by 1/sqrt(d)); activations h·L·L (softmax).
    Source: ViT-B/16 (torchvision), 197 tokens of 768, 12 heads of 64: Q·K^T + A·V = 2·12·197·197·64 =
    59,610,624 MACs per block, 715,327,488 over its 12 blocks; 2,362,368 params per block.
    """

    name = "attention"
    fields = {
        "heads": Field("int", doc="attention heads h"),
        "head_dim": Field("int", 0, "channels d of each head's query, key and value (0: C / heads)", min=0),
        "qkv_bias": Field("bool", True, "bias on the query, key and value projection"),
        "proj": Field("bool", True, "project the heads back to C (false: the output has h·d channels)"),
        "proj_bias": Field("bool", True, "bias on the output projection (none without `proj`)"),
    }
    receptive_field = staticmethod(_global)

    def geometry(self, ins: list[Shape]) -> tuple[int, int, int, int]:
        """(L, C, h, d)."""
        n, c = need_sequence(ins[0], self.name)
        return n, c, self.heads, _head_dim(c, self.heads, self.head_dim)

    def out_shape(self, ins: list[Shape]) -> Shape:
        n, c, h, d = self.geometry(ins)
        return (n, c if self.proj else h * d)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        n, c, h, d = self.geometry(ins)
        proj = f"projected back to C' = {out[1]}" if self.proj else f"heads concatenated: C' = h·d = {out[1]}"
        return f"L' = L = {n}; h = {h} heads of d = {d}; {proj}"

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        n, c, h, d = self.geometry(ins)
        cq, hd3, hd = q("C", c), q("3·h·d", 3 * h * d), q("h·d", h * d)
        ws = [Weight("qkv_kernel", (cq, hd3))]
        if self.qkv_bias:
            ws.append(Weight("qkv_bias", (hd3,)))
        if self.proj:
            ws.append(Weight("proj_kernel", (hd, cq)))
            if self.proj_bias:
                ws.append(Weight("proj_bias", (cq,)))
        return ws

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        n, c, h, d = self.geometry(ins)
        ln, cq, hq, dq = q("L", n), q("C", c), q("h", h), q("d", d)
        products = prod(hq, ln, ln, dq)
        proj = prod(ln, q("h·d", h * d), cq) if self.proj else None
        return total(prod(ln, cq, q("3·h·d", 3 * h * d)), products, products, *([proj] if proj else []))

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        n, c, h, d = self.geometry(ins)
        ln = q("L", n)
        bias = []
        if self.qkv_bias:
            bias.append(prod(ln, q("3·h·d", 3 * h * d)))
        if self.proj and self.proj_bias:
            bias.append(prod(ln, q("C", c)))
        ops = {"multiplies": prod(q("h", h), ln, q("d", d)), "activations": prod(q("h", h), ln, ln)}
        if bias:
            ops["bias_adds"] = total(*bias)
        return ops

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """torch's MultiheadAttention (batch_first) in training, measured: the in-projection keeps its
        input, which the batch-first transpose makes a contiguous copy of N x L x C (at batch 1 the input
        itself); q, k and v in one buffer of 3·L·h·d; scaled_dot_product_attention keeps its output and,
        per head and token, a float32 log-sum-exp, and the out-projection that same output. With
        need_weights=True (no fused kernel): Q·1/sqrt(d), the h·L·L attention weights, and the
        out-projection's own copy of the heads' output."""
        n, c, h, d = self.geometry(ins)
        ln, hd = q("L", n), q("h·d", h * d)
        first = saved_input(0) if call.batch == 1 else saved_new(prod(ln, q("C", c)), "input, copied contiguous")
        qkv = saved_new(prod(ln, q("3·h·d", 3 * h * d)), "q, k, v")
        if call.op == "MultiheadAttention(need_weights=True)":
            return [first, qkv, saved_new(prod(ln, hd), "q·1/sqrt(d)"),
                    saved_new(prod(q("h", h), ln, ln), "attention weights"),
                    saved_new(prod(ln, hd), "heads' output, copied contiguous")]
        return [first, qkv, saved_new(prod(q("h", h), ln), "log-sum-exp", "float32"),
                saved_new(prod(ln, hd), "attention output")]

    def backward_macs(self, ins: list[Shape], out: Shape, call: Call) -> tuple[Formula, Formula]:
        """Activations: the input's gradient through the in-projection (when it needs one), Q and K's
        from the scores and the weights' and V's from the output (each product's two gradients cost
        what it did: 2·2·h·L·L·d), the heads' through the out-projection. Weights: each projection's
        forward MACs again."""
        n, c, h, d = self.geometry(ins)
        ln, cq = q("L", n), q("C", c)
        proj_in = prod(ln, cq, q("3·h·d", 3 * h * d))
        products = prod(q("4", 4), q("h", h), ln, ln, q("d", d))
        proj_out = prod(ln, q("h·d", h * d), cq) if self.proj else None
        acts = total(proj_in if call.grads[0] else ZERO, products, *([proj_out] if proj_out else []))
        return acts, total(proj_in, *([proj_out] if proj_out else []))


class WindowAttention(Kind):
    """Swin's (shifted) window attention on an H x W x C map, as torchvision's ShiftedWindowAttention.

    The map is zero-padded at the bottom and right to multiples of the window (H_p x W_p), rolled by
    -shift (no shift along an axis the window covers), cut into n_w windows of T = w_h·w_w tokens, and
    each window attends within itself, h heads of d = C/h, with a learned relative position bias
    ((2w_h - 1)·(2w_w - 1) x h table) and, when shifted, the mask of regions that wrapped around;
    then projected, rolled back and cropped to H x W x C.
    MACs   = H_p·W_p·C·3C + n_w·h·T·T·d (Q·K^T) + n_w·h·T·T·d (weights·V) + H_p·W_p·C·C
    Params = C·3C + 3C + C·C + C + (2w_h - 1)(2w_w - 1)·h (torchvision's relative_position_index is a
    buffer of table rows, computed, not learned: not counted)
    Other ops: bias adds; multiplies H_p·W_p·C (Q by 1/sqrt(d)); elementwise adds n_w·h·T·T for the
    position bias (twice when shifted: the mask); activations n_w·h·T·T (softmax).
    Source: torchvision swin_t, stage 1: 56 x 56 x 96, window 7, 3 heads: 64 windows of 49 tokens.
    """

    name = "windowattention"
    fields = {
        "heads": Field("int", doc="attention heads h (d = C / h)"),
        "window": Field("pair", 7, "window w, or [w_h, w_w]"),
        "shift": Field("pair", 0, "cyclic shift s, or [s_h, s_w] (Swin: w // 2 in every other block)", min=0),
        "qkv_bias": Field("bool", True, "bias on the query, key and value projection"),
        "proj_bias": Field("bool", True, "bias on the output projection"),
    }

    def geometry(self, ins: list[Shape]) -> tuple[int, int, int, int, int, tuple[int, int], int, int]:
        """(H_p, W_p, C, h, d, effective shift, windows n_w, tokens per window T)."""
        h_, w_, c = need_hwc(ins[0], self.name)
        (wh, ww), (sh, sw) = self.window, self.shift
        for s, w, axis in ((sh, wh, "rows"), (sw, ww, "columns")):
            if s >= w:
                raise KindError(f"shift {s} is not smaller than the window's {w} {axis}", field="shift",
                                hint=f"Swin shifts by half the window: {w // 2}")
        hp, wp = -(-h_ // wh) * wh, -(-w_ // ww) * ww
        shift = (0 if wh >= hp else sh, 0 if ww >= wp else sw)  # torchvision: no shift where one window covers
        return hp, wp, c, self.heads, _head_dim(c, self.heads), shift, (hp // wh) * (wp // ww), wh * ww

    def out_shape(self, ins: list[Shape]) -> Shape:
        self.geometry(ins)
        return ins[0]

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        hp, wp, c, h, d, shift, nw, t = self.geometry(ins)
        (wh, ww) = self.window
        pad = f"padded to H_p x W_p = {hp} x {wp}; " if (hp, wp) != tuple(ins[0][:2]) else ""
        return (f"{pad}n_w = ({hp}/{wh})·({wp}/{ww}) = {nw} windows of T = {wh}·{ww} = {t} tokens; "
                f"shift {list(shift)}; h = {h} heads of d = {d}; output {fmt(out)}")

    def _area(self, hp: int, wp: int, ins: list[Shape]) -> tuple[Formula, Formula]:
        padded = (hp, wp) != tuple(ins[0][:2])
        return q("H_p" if padded else "H", hp), q("W_p" if padded else "W", wp)

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        hp, wp, c, h, d, shift, nw, t = self.geometry(ins)
        (wh, ww) = self.window
        cq, c3 = q("C", c), q("3C", 3 * c)
        table = (q("(2w - 1)²", (2 * wh - 1) ** 2) if wh == ww
                 else q("(2w_h - 1)·(2w_w - 1)", (2 * wh - 1) * (2 * ww - 1)))
        ws = [Weight("qkv_kernel", (cq, c3))]
        if self.qkv_bias:
            ws.append(Weight("qkv_bias", (c3,)))
        ws.append(Weight("proj_kernel", (cq, cq)))
        if self.proj_bias:
            ws.append(Weight("proj_bias", (cq,)))
        ws.append(Weight("bias_table", (table, q("h", h))))
        return ws

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        hp, wp, c, h, d, shift, nw, t = self.geometry(ins)
        a, b = self._area(hp, wp, ins)
        cq = q("C", c)
        products = prod(q("n_w", nw), q("h", h), q("T", t), q("T", t), q("d", d))
        return total(prod(a, b, cq, q("3C", 3 * c)), products, products, prod(a, b, cq, cq))

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        hp, wp, c, h, d, shift, nw, t = self.geometry(ins)
        a, b = self._area(hp, wp, ins)
        scores = prod(q("n_w", nw), q("h", h), q("T", t), q("T", t))
        bias = [prod(a, b, q("3C", 3 * c))] if self.qkv_bias else []
        if self.proj_bias:
            bias.append(prod(a, b, q("C", c)))
        ops = {"multiplies": prod(a, b, q("C", c)),
               "elementwise_adds": prod(scores, q("2", 2)) if any(shift) else scores,
               "activations": scores}
        if bias:
            ops["bias_adds"] = total(*bias)
        return ops

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """torchvision's shifted_window_attention in training, measured: the qkv Linear keeps the map cut
        into windows: the input itself when that cut is a view of it (no padding, no roll, one window
        across or windows one row high), else the padded or rolled map, or a copy; k and v each copied
        contiguous for their products, or, when N·n_w = 1 or one head, the q, k, v buffer they view;
        Q·1/sqrt(d); the softmax's output (n_w·h·T·T); and the heads' output joined for the projection."""
        hp, wp, c, h, d, shift, nw, t = self.geometry(ins)
        a, b = self._area(hp, wp, ins)
        ac = prod(a, b, q("C", c))
        wh, ww = self.window
        view = wh == 1 or wp // ww == 1
        if view and (hp, wp) == tuple(ins[0][:2]) and not any(shift):
            first = saved_input(0)
        else:
            first = saved_new(ac, "windows (the padded or rolled map, or a copy)")
        if call.batch * nw == 1 or h == 1:
            kv = [saved_new(prod(a, b, q("3C", 3 * c)), "q, k, v")]
        else:
            kv = [saved_new(ac, "k, copied contiguous"), saved_new(ac, "v, copied contiguous")]
        scores = prod(q("n_w", nw), q("h", h), q("T", t), q("T", t))
        return [first, *kv, saved_new(ac, "q·1/sqrt(d)"), saved_new(scores, "softmax"),
                saved_new(ac, "heads joined for the projection")]

    def backward_macs(self, ins: list[Shape], out: Shape, call: Call) -> tuple[Formula, Formula]:
        """As attention's, window by window: the input's gradient through the qkv projection (when it
        needs one), the two products' four gradients, the projection's input gradient; the weights'
        gradients cost the projections' forward MACs."""
        hp, wp, c, h, d, shift, nw, t = self.geometry(ins)
        a, b = self._area(hp, wp, ins)
        cq = q("C", c)
        qkv = prod(a, b, cq, q("3C", 3 * c))
        proj = prod(a, b, cq, cq)
        products = prod(q("4", 4), q("n_w", nw), q("h", h), q("T", t), q("T", t), q("d", d))
        return total(qkv if call.grads[0] else ZERO, products, proj), total(qkv, proj)

    def receptive_field(self, ins: list[Any], in_shapes: list[Shape], out_shape: Shape) -> Any:
        from ..receptive import RF
        nw = self.geometry(in_shapes)[6]
        return RF.mixed("global" if nw == 1 else "windows", True)


class MatMul(Kind):
    """Product of two activations, sequences A (m x k) and B (k x n): out = A·B (m x n), with transposes.

    `transpose_b` gives Q·K^T of two L x d sequences (an L x L map of scores); `transpose_a` reads A as
    k x m. `scale` multiplies the product (1/sqrt(d) in attention: 0.125 for d = 64).
    MACs = m·k·n. Other ops: multiplies m·n when scale is not 1.
    """

    name = "matmul"
    arity = (2, 2)
    fields = {
        "transpose_a": Field("bool", False, "use the first input transposed (its L x C read as C x L)"),
        "transpose_b": Field("bool", False, "use the second input transposed (Q·K^T: true)"),
        "scale": Field("real", 1, "multiply the product by this number", min=0),
    }
    receptive_field = staticmethod(_global)

    def geometry(self, ins: list[Shape]) -> tuple[int, int, int]:
        """(m, k, n)."""
        a, b = (need_sequence(s, self.name) for s in ins)
        m, k = (a[1], a[0]) if self.transpose_a else a
        k2, n = (b[1], b[0]) if self.transpose_b else b
        if k != k2:
            ta, tb = ("^T" if self.transpose_a else ""), ("^T" if self.transpose_b else "")
            raise KindError(f"A{ta} is {m} x {k} and B{tb} is {k2} x {n}: the inner sizes {k} and {k2} differ "
                            f"(A is {describe_shape(ins[0])}, B {describe_shape(ins[1])})", field="from",
                            hint="Q·K^T of two L x d sequences is `transpose_b: true`; "
                                 "weights·V (L x L by L x d) needs no transpose")
        return m, k, n

    def out_shape(self, ins: list[Shape]) -> Shape:
        m, _, n = self.geometry(ins)
        return (m, n)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        m, k, n = self.geometry(ins)
        ta, tb = ("^T" if self.transpose_a else ""), ("^T" if self.transpose_b else "")
        return f"A{ta} ({m} x {k}) · B{tb} ({k} x {n}) -> {m} x {n}"

    def macs(self, ins: list[Shape], out: Shape) -> Formula:
        m, k, n = self.geometry(ins)
        return prod(q("m", m), q("k", k), q("n", n))

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"multiplies": self.elements(out)} if self.scale != 1 else {}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """B for A's gradient, A for B's (transposes are views of the same memory)."""
        return [*([saved_input(1)] if call.grads[0] else []), *([saved_input(0)] if call.grads[1] else [])]

    def backward_macs(self, ins: list[Shape], out: Shape, call: Call) -> tuple[Formula, Formula]:
        """dA = dC·B^T and dB = A^T·dC, m·k·n each, for the inputs that need a gradient."""
        macs = self.macs(ins, out)
        return total(*[macs for g in call.grads if g]), ZERO
