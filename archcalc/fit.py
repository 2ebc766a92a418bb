"""The largest batch whose training step fits in a given memory (`archcalc fit SPEC --memory 24GiB`).

A step's memory at every moment (`training.schedule`) is a fixed part (parameters, gradients, optimizer
state, BatchNorm's per-channel statistics) plus a part proportional to the batch (every activation and
its gradient). So its peak is the largest of straight lines in the batch N, and the largest N under a
limit M is the smallest of (M - fixed) / per-sample over the moments of the step. The lines are read
from two steps (batch 2 and 3: from batch 2 on, torch saves the same tensors at every batch; at batch 1
a few ops keep views instead of copies), the answer is then checked by computing the step at that batch
and the next one exactly, and batch 1 is computed on its own when 2 does not fit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ArchcalcError, SpecError
from .record import Record

if TYPE_CHECKING:
    from .analysis import Analysis
    from .training import Event, Options, Step

_SIZE = re.compile(r"^\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([KMGT]?)(i?)(B?)\s*$", re.I)
#: the largest batch `fit` answers (a network with no activations would fit any batch)
MAX_BATCH = 2**40


def parse_size(text: str) -> int:
    """`24GiB` (2^30), `24GB` (10^9), `24G` (as GiB: what nvidia-smi and torch call GB), `512MiB`,
    `25769803776` (bytes) -> bytes."""
    m = _SIZE.match(text)
    if m is None or (m.group(3) and not m.group(2)):
        raise SpecError(f"--memory takes a size such as 24GiB, 80GB or 16G, received {text!r}",
                        hint="GiB, MiB, KiB, TiB are powers of 1024; GB, MB, KB, TB powers of 1000; G alone is GiB")
    number, unit, binary, b = m.groups()
    value = float(number.replace("_", ""))
    power = "KMGT".index(unit.upper()) + 1 if unit else 0
    base = 1000 if unit and b and not binary else 1024
    size = int(value * base**power)
    if size <= 0:
        raise SpecError(f"--memory must be positive, received {text!r}")
    return size


class Fit(Record):
    """The largest batch whose step fits, the step there, and the peak one batch more would reach."""

    __slots__ = ("memory", "batch", "step", "over", "per_sample", "fixed", "why")

    def __init__(self, memory: int, batch: int, step: Step | None, over: Event, per_sample: int, fixed: int,
                 why: str = "") -> None:
        self.memory, self.batch, self.step, self.over = memory, batch, step, over
        self.per_sample, self.fixed = per_sample, fixed  # of the peak's line (the moment that limits the batch)
        self.why = why  # when nothing fits: why

    def to_dict(self) -> dict[str, Any]:
        s = self.step
        return {"memory_bytes": self.memory, "batch": self.batch,
                "peak_bytes": s.peak.bytes if s is not None else None,
                "peak_phase": s.peak.phase if s is not None else None, "peak_at": s.peak.at if s is not None else None,
                "peak_parts": dict(s.peak.parts) if s is not None else None,
                "next_batch_peak_bytes": self.over.bytes, "next_batch_peak_phase": self.over.phase,
                "next_batch_peak_at": self.over.at,
                "per_sample_bytes": self.per_sample, "fixed_bytes": self.fixed, "why_none": self.why or None,
                "training_step": s.to_dict() if s is not None else None}


def fit(an: Analysis, memory: int, options: Options | None = None, *,
        torch: Mapping[str, str] | None = None) -> Fit:
    """The largest batch whose training step (`training.step`) peaks at most at `memory` bytes."""
    from .training import Event, step
    if not an.training:
        raise ArchcalcError("fit needs a training pass: analyze(..., training=True)")
    done: dict[int, Step] = {}

    def at(b: int) -> Step:
        if b not in done:
            done[b] = step(an, options, torch=torch, batch=b)
        return done[b]

    two, three = at(2), at(3)
    lines = [(e3.bytes - e2.bytes, 3 * e2.bytes - 2 * e3.bytes)  # bytes = per sample x N + fixed
             for e2, e3 in zip(two.events, three.events, strict=True)]

    def peak(b: int) -> Event:
        """The peak at batch b >= 2 from the lines (each moment's bytes are exact there)."""
        k = max(range(len(lines)), key=lambda i: lines[i][0] * b + lines[i][1])
        e = three.events[k]
        return Event(e.phase, e.at, (("total", lines[k][0] * b + lines[k][1]),))

    best, limit = MAX_BATCH, (0, 0)
    for per, fixed in lines:
        b = (memory - fixed) // per if per > 0 else (MAX_BATCH if fixed <= memory else -1)
        if b < best:
            best, limit = b, (per, fixed)
    per, fixed = limit
    if best >= 2:
        s = at(best)
        if s.peak.bytes != peak(best).bytes:  # pragma: no cover - the lines are exact from batch 2 on
            raise ArchcalcError(f"fit: the step at batch {best} peaks at {s.peak.bytes:,} B, not the "
                                f"{peak(best).bytes:,} B its lines give", hint="please report this spec")
        return Fit(memory, best, s, peak(best + 1), per, fixed)
    try:
        one: Step | None = at(1)
    except SpecError as e:  # BatchNorm over one value per channel: torch refuses batch 1
        one, why = None, e.message
    if one is not None and one.peak.bytes <= memory:
        return Fit(memory, 1, one, peak(2), per, fixed)
    if one is not None:
        why = f"batch 1 needs {one.peak.bytes:,} B"
    if two.state_bytes > memory:
        why = f"parameters, gradients and optimizer state alone need {two.state_bytes:,} B"
    return Fit(memory, 0, None, one.peak if one is not None else peak(2), per, fixed, why)


__all__ = ["MAX_BATCH", "Fit", "fit", "parse_size"]
