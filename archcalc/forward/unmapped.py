"""The `unmapped` kind has no computation archcalc knows: the executor refuses to run it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, forward


@forward("unmapped")
def unmapped(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    raise GeometryError("an `unmapped` layer (an imported operator archcalc has no kind for) cannot be run")
