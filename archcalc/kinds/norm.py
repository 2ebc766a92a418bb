"""Normalisation layers."""

from __future__ import annotations

from fractions import Fraction

from ..formula import Formula, prod, q
from ..shape import Shape, need_hwc
from .base import Field, Kind, Weight


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
