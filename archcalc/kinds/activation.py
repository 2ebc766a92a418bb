"""Element-wise activations: no parameters, no MACs; their work is counted as other ops."""

from __future__ import annotations

from fractions import Fraction

from ..formula import Formula, prod, q
from ..shape import Shape
from .base import Call, Field, Kind, Saved, Weight, saved_input, saved_new, saved_output


class _Activation(Kind):
    category = "activations"
    per_element = 1
    #: what the backward reads (measured, tests/measured/saved_kinds.py): "input" (x, for f'(x)) or
    #: "output" (y, when f' is a function of y: ReLU, sigmoid, tanh, softmax)
    saves = "input"
    #: in place (`...(inplace=True)`): "output", the result (in the input's memory), or "copy", a copy
    #: of the input torch makes before overwriting it (hardtanh_, hardswish_, silu_, hardsigmoid_)
    inplace_saves = "copy"

    def out_shape(self, ins: list[Shape]) -> Shape:
        return ins[0]

    def output_storage(self, call: Call) -> str:
        return "inplace" if call.inplace else "new"

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Its input, or its output where the derivative is a function of the output (ReLU, sigmoid,
        tanh, softmax); run in place, its output (ReLU, LeakyReLU) or a copy of its input torch makes
        before overwriting it (ReLU6, Hardswish, SiLU, Hardsigmoid)."""
        if call.inplace:
            if self.inplace_saves == "output":
                return [saved_output()]
            return [saved_new(self.elements(ins[0], prime=False), "input, copied before the op overwrites it")]
        return [saved_output()] if self.saves == "output" else [saved_input(0)]

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        n = self.elements(out)
        return {self.category: n if self.per_element == 1 else prod(n, q("2", self.per_element))}


class ReLU(_Activation):
    """ReLU, max(0, x). Other ops: 1 comparison per element."""

    name = "relu"
    inplace_saves = "output"
    saves = "output"
    category = "comparisons"


class ReLU6(_Activation):
    """ReLU6, min(max(0, x), 6) (MobileNets). Other ops: 2 comparisons per element."""

    name = "relu6"
    category = "comparisons"
    per_element = 2


class Sigmoid(_Activation):
    """Logistic sigmoid 1/(1 + e^-x). Other ops: 1 function evaluation per element."""

    name = "sigmoid"
    saves = "output"


class Tanh(_Activation):
    """Hyperbolic tangent (LeNet-5's era). Other ops: 1 function evaluation per element."""

    name = "tanh"
    saves = "output"


class HardSwish(_Activation):
    """Hard-swish, x·relu6(x + 3)/6 (MobileNetV3). Other ops: 1 function evaluation per element."""

    name = "hardswish"


class Softmax(_Activation):
    """Softmax over the last axis: a flat vector (the classifier), or each token's (each position's) channels.

    Other ops: 1 function evaluation per element.
    """

    name = "softmax"
    saves = "output"


class SiLU(_Activation):
    """SiLU (swish), x·sigmoid(x) (EfficientNet). Other ops: 1 function evaluation per element."""

    name = "silu"


class GELU(_Activation):
    """GELU, x·Phi(x) (ViT, ConvNeXt). Other ops: 1 function evaluation per element.

    Exact, x/2·(1 + erf(x/sqrt(2))) (torch's default), or with `approximate: tanh`
    x/2·(1 + tanh(sqrt(2/pi)·(x + 0.044715·x³))).
    """

    name = "gelu"
    fields = {"approximate": Field("choice", "none", "none (the exact erf form) | tanh, as torch's nn.GELU",
                                   choices=("none", "tanh"))}


class HardSigmoid(_Activation):
    """Hard sigmoid, relu6(x + 3)/6 (MobileNetV3's gate). Other ops: 1 function evaluation per element."""

    name = "hardsigmoid"


class LeakyReLU(_Activation):
    """Leaky ReLU, x if x > 0 else slope·x. Other ops: 1 comparison and 1 multiply per element."""

    name = "leakyrelu"
    inplace_saves = "output"
    category = "comparisons"
    fields = {"slope": Field("real", Fraction(1, 100), "slope for x < 0 (torch's negative_slope)", min=0)}

    def other_ops(self, ins: list[Shape], out: Shape) -> dict[str, Formula]:
        n = self.elements(out)
        return {"comparisons": n, "multiplies": n}


class PReLU(LeakyReLU):
    """Parametric ReLU: a leaky ReLU whose slope is learned, one shared or one per channel.

    Params = 1, or C with `per_channel` (torch's nn.PReLU(num_parameters=1 or C); archcalc's
    channels are the last axis). Other ops: 1 comparison and 1 multiply per element.
    """

    name = "prelu"
    fields = {"per_channel": Field("bool", False, "one slope per channel (the last axis), else one shared")}

    def weights(self, ins: list[Shape], out: Shape) -> list[Weight]:
        return [Weight("slope", (q("C", ins[0][-1]) if self.per_channel else q("1", 1),))]
