"""Normalisation layers, and the learned per-channel scale that follows some of them (layer scale)."""

from __future__ import annotations

import math
from fractions import Fraction

from ..errors import KindError
from ..formula import Formula, prod, q
from ..shape import Shape, fmt, need_hwc
from .base import Call, Field, Kind, Saved, Weight, saved_input, saved_new


class BatchNorm(Kind):
    """Batch normalisation over channels (inference form: y = gamma·(x - mean)/sqrt(var + eps) + beta).

    Params: 2C trainable (gamma, beta) + 2C non-trainable (running mean and variance), as Keras.
    MACs 0. Other ops: normalization 2 per element (x·a + b once folded).
    """

    name = "batchnorm"
    fields = {"eps": Field("real", Fraction(1, 100000), "added to the variance", min=0)}

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        c = q("C", ins[0][-1])
        return [Weight("gamma", (c,)), Weight("beta", (c,)),
                Weight("mean", (c,), trainable=False), Weight("var", (c,), trainable=False)]

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"normalization": prod(self.elements(out), q("2", 2))}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """In training: the input, and the batch's mean and 1/sqrt(var + eps) per channel in float32
        (save_mean, save_invstd; the running statistics it also saves are buffers, model state).
        Over one value per channel (N·H·W = 1) PyTorch refuses to train it, and so does archcalc."""
        positions = ins[0][:-1]
        if call.batch * math.prod(positions) == 1:
            raise KindError(f"in training, BatchNorm normalises each channel over N·H·W = {call.batch}·"
                            f"{'·'.join(map(str, positions)) or '1'} = 1 value, which PyTorch refuses ('Expected "
                            "more than 1 value per channel when training')", hint="train at a batch of at least 2")
        c = q("C", ins[0][-1])
        return [saved_input(0), saved_new(c, "mean", "float32", per_sample=False),
                saved_new(c, "invstd", "float32", per_sample=False)]


class LRN(Kind):
    """Local response normalisation across channels (AlexNet): b = a / (k + alpha/n·sum a²)^beta.

    The sum runs over `size` neighbouring channels. No params, MACs 0.
    Other ops: normalization (2·size + 3) per element (squares, sum, scale, power, divide).
    """

    name = "lrn"
    fields = {
        "size": Field("int", 5, "channels in the window n"),
        "alpha": Field("real", Fraction(1, 10000), "scale alpha", min=0),
        "beta": Field("real", Fraction(3, 4), "exponent beta", min=0),
        "k": Field("real", 2, "additive constant k", min=0),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        need_hwc(ins[0], self.name)
        return ins[0]

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"normalization": prod(self.elements(out), q("(2·size + 3)", 2 * self.size + 3))}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """torch's F.local_response_norm is a chain of ops, each keeping its own: the input (x·x and
        x / d), the squares zero-padded along channels (avg_pool3d's input, C + size - 1 of them),
        k + alpha·mean (pow's input) and d = that^beta (the divisor)."""
        h, w, c = ins[0]
        x = self.elements(ins[0], prime=False)
        padded = prod(q("H", h), q("W", w), q("(C + size - 1)", c + self.size - 1))
        return [saved_input(0), saved_new(padded, "squares, padded"), saved_new(x, "k + alpha·mean"),
                saved_new(x, "divisor")]


def _statistics(kind: Kind, out: Shape) -> Formula:
    """Normalisation's other ops per element: the two sums of mean and variance, the subtraction,
    the square, the scale by 1/sqrt(var + eps) (5), then ·gamma and + beta when learned. The
    statistics' own divides and square roots (a few per group of values) are left out, as
    BatchNorm's folding is."""
    per = 5 + (1 if kind.affine else 0) + (1 if kind.affine and getattr(kind, "bias", True) else 0)
    sym = "5" if per == 5 else f"(5 + {per - 5})"
    return prod(kind.elements(out), q(sym, per))


class LayerNorm(Kind):
    """Layer normalisation over the last axis: the C values of each position, token or vector.

    Over the channels at each position of an H x W x C map (ConvNeXt's LayerNorm2d), each token of
    an L x C sequence (transformers), or a flat vector.

    y = (x - mean)/sqrt(var + eps)·gamma + beta, statistics over the C values.
    Params: 2C trainable (gamma, beta; C without bias, 0 without affine), no running statistics.
    MACs 0. Other ops: normalization (5 + 2) per element (5 without affine, 6 without bias).
    """

    name = "layernorm"
    fields = {
        "eps": Field("real", Fraction(1, 100000), "added to the variance (torch 1e-5; ConvNeXt 1e-6)", min=0),
        "affine": Field("bool", True, "learn gamma (and beta) per channel: torch's elementwise_affine"),
        "bias": Field("bool", True, "learn beta too (with affine; torch's bias)"),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        if not self.affine:
            return []
        c = q("C", ins[0][-1])
        return [Weight("gamma", (c,)), *([Weight("beta", (c,))] if self.bias else [])]

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"normalization": _statistics(self, out)}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """The input (a map's is the same storage, viewed channels-last) and, per position, token or
        vector, the mean and 1/sqrt(var + eps) in float32."""
        s = ins[0]
        n = prod(q("H", s[0]), q("W", s[1])) if len(s) == 3 else q("L", s[0]) if len(s) == 2 else q("1", 1)
        return [saved_input(0), saved_new(n, "mean", "float32"), saved_new(n, "rstd", "float32")]


class GroupNorm(Kind):
    """Group normalisation: each group of C/G channels normalised over its channels and positions.

    Per sample, then gamma and beta per channel.

    C must divide by groups (groups = 1: over everything, as LayerNorm over C·H·W; groups = C:
    instance normalisation). Params: 2C trainable with affine. MACs 0.
    Other ops: normalization (5 + 2) per element (5 without affine).
    """

    name = "groupnorm"
    fields = {
        "groups": Field("int", doc="number of groups G; the channels C must divide by it"),
        "eps": Field("real", Fraction(1, 100000), "added to the variance", min=0),
        "affine": Field("bool", True, "learn gamma and beta per channel"),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        s = ins[0]
        if len(s) == 2:
            raise KindError(f"groupnorm normalises H x W x C maps (or flat vectors), received the sequence {fmt(s)}",
                            hint="use `layernorm` for tokens; torch's GroupNorm would take the L tokens as channels")
        c, g = s[-1], self.groups
        if c % g:
            near = [d for d in (next((d for d in range(g - 1, max(g - 4096, 0), -1) if c % d == 0), None),
                                next((d for d in range(g + 1, min(g + 4096, c) + 1) if c % d == 0), None)) if d]
            raise KindError(f"groups={g} does not divide the {c} channels", field="groups",
                            hint=f"use a divisor of {c}, such as {' or '.join(map(str, near))}")
        return s

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        c = q("C", ins[0][-1])
        return [Weight("gamma", (c,)), Weight("beta", (c,))] if self.affine else []

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"normalization": _statistics(self, out)}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """The input, and per sample and group the mean and 1/sqrt(var + eps) in float32."""
        g = q("G", self.groups)
        return [saved_input(0), saved_new(g, "mean", "float32"), saved_new(g, "rstd", "float32")]


class Scale(Kind):
    """A learned scale per channel, y = gamma·x (ConvNeXt's layer scale, CaiT's LayerScale).

    gamma holds C values, broadcast over H x W (or the L tokens).

    Params = C trainable. MACs 0 (no kernel): other ops, multiplies 1 per element.
    """

    name = "scale"

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        return [Weight("gamma", (q("C", ins[0][-1]),))]

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        return {"multiplies": self.elements(out)}

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """gamma * x keeps x, for gamma's gradient (and gamma, a parameter, for x's)."""
        return [saved_input(0)]
