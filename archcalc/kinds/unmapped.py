"""A layer archcalc has no kind for, kept by `archcalc import --keep-unmapped`."""

from __future__ import annotations

from ..shape import Shape
from .base import Call, Field, Kind, Saved


class Unmapped(Kind):
    """An imported operator with no archcalc kind (yet), kept with ONNX's inferred output shape.

    Counted as zero: no parameters, no MACs, no other operations, whatever it really costs.
    Its `kind` column reads `unmapped` in every report, and the layer is named after the
    operator. Output h x w x c, or l x c (a sequence of l tokens), or a flat vector of c.
    """

    name = "unmapped"
    arity = (0, None)
    fields = {
        "c": Field("int", doc="output channels (or length of a flat output)"),
        "h": Field("int", 0, "output height (0: a flat output)", min=0),
        "w": Field("int", 0, "output width (0: a flat output)", min=0),
        "l": Field("int", 0, "output tokens, for a sequence l x c (0: not a sequence)", min=0),
    }

    def out_shape(self, ins: list[Shape]) -> Shape:
        if self.h and self.w:
            return (self.h, self.w, self.c)
        return (self.l, self.c) if self.l else (self.c,)

    def saved(self, ins: list[Shape], out: Shape, call: Call) -> list[Saved]:
        """Nothing: counted as zero, like everything else it costs."""
        return []
