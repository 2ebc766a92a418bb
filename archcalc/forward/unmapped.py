"""The `unmapped` kind has no computation archcalc knows: the executor refuses to run it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GeometryError, Tally, forward


def _refuse(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    """No output: the plan refuses the run before anything is allocated."""
    raise GeometryError("an `unmapped` layer (an imported operator archcalc has no kind for) cannot be run")


@forward("unmapped", shape=_refuse)
def unmapped(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return _refuse(kind, [x.shape for x in xs])
