"""Element-wise activations: no parameters, no MACs; their work is counted as other ops."""

from __future__ import annotations

from ..formula import Formula, prod, q
from ..shape import Shape
from .base import Kind


class _Activation(Kind):
    category = "activations"
    per_element = 1

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        n = self.elements(out)
        return {self.category: n if self.per_element == 1 else prod(n, q("2", self.per_element))}


class ReLU(_Activation):
    """ReLU, max(0, x). Other ops: 1 comparison per element."""

    name = "relu"
    category = "comparisons"


class ReLU6(_Activation):
    """ReLU6, min(max(0, x), 6) (MobileNets). Other ops: 2 comparisons per element."""

    name = "relu6"
    category = "comparisons"
    per_element = 2


class Sigmoid(_Activation):
    """Logistic sigmoid 1/(1 + e^-x). Other ops: 1 function evaluation per element."""

    name = "sigmoid"


class Tanh(_Activation):
    """Hyperbolic tangent (LeNet-5's era). Other ops: 1 function evaluation per element."""

    name = "tanh"


class HardSwish(_Activation):
    """Hard-swish, x·relu6(x + 3)/6 (MobileNetV3). Other ops: 1 function evaluation per element."""

    name = "hardswish"


class Softmax(_Activation):
    """Softmax over the last axis: a flat vector (the classifier), or each token's (each position's) channels.

    Other ops: 1 function evaluation per element.
    """

    name = "softmax"
