"""Channel operations: taking a part of the channels, and ShuffleNet's channel shuffle.

Both work on the last axis of any shape (a map's channels, a sequence's channels, a vector) and
only move values: no params, no MACs, no other ops.
"""

from __future__ import annotations

from ..errors import KindError
from ..shape import Shape, describe_shape
from .base import Field
from .tokens import _keep, _New, _View


class Slice(_View):
    """A part of the channels: `chunks`/`chunk` as torch's x.chunk(n, dim=1)[i], or `start` and `channels`.

    ShuffleNetV2 splits with x1, x2 = x.chunk(2, dim=1): write two slices reading the same input,
    `{kind: slice, chunks: 2, chunk: 0}` and `{kind: slice, from: ..., chunks: 2, chunk: 1}`.
    torch's rule: each chunk holds ceil(C/n) channels, the last one what remains (so x.chunk(4) of 5
    channels gives only 3 chunks). Otherwise channels start .. start + channels - 1 (channels 0: to the end).
    No params, no MACs, no other ops.
    """

    name = "slice"
    fields = {
        "start": Field("int", 0, "first channel taken (from 0)", min=0),
        "channels": Field("int", 0, "how many channels (0: through the last)", min=0),
        "chunks": Field("int", 1, "split into this many chunks, as torch.chunk (with `chunk`)"),
        "chunk": Field("int", 0, "which chunk, from 0", min=0),
    }
    receptive_field = staticmethod(_keep)

    def span(self, c: int) -> tuple[int, int]:
        """(first channel, count) taken from c channels; a KindError when there is no such part."""
        if self.chunks > 1 or self.chunk:
            if self.start or self.channels:
                raise KindError("give either chunks and chunk, or start and channels, not both", field="start",
                                hint="x.chunk(n)[i] is `chunks: n, chunk: i`; a range is `start`, `channels`")
            size = -(-c // self.chunks)
            have = -(-c // size)
            if self.chunk >= have:
                extra = f" (ceil({c}/{self.chunks}) = {size} each)" if have < self.chunks else ""
                raise KindError(f"chunk {self.chunk} does not exist: {c} channels make {have} chunks{extra}",
                                field="chunk", hint=f"chunks are numbered 0 to {have - 1}")
            first = self.chunk * size
            return first, min(size, c - first)
        if self.start >= c:
            raise KindError(f"start {self.start} is past the last of {c} channels", field="start",
                            hint=f"channels are numbered 0 to {c - 1}")
        count = self.channels or c - self.start
        if self.start + count > c:
            raise KindError(f"channels {self.start} to {self.start + count - 1} run past the last of {c} channels",
                            field="channels", hint=f"take at most {c - self.start} channels from {self.start}")
        return self.start, count

    def out_shape(self, ins: list[Shape]) -> Shape:
        _, count = self.span(ins[0][-1])
        return (*ins[0][:-1], count)

    def shape_text(self, ins: list[Shape], out: Shape) -> str:
        first, count = self.span(ins[0][-1])
        how = f"chunk {self.chunk} of {self.chunks}: " if self.chunks > 1 or self.chunk else ""
        return f"{how}channels {first} to {first + count - 1} of {ins[0][-1]}: C' = {count}"


class Shuffle(_New):
    """Channel shuffle with g groups (ShuffleNet): channel j of the output is channel (j mod g)·(C/g) + j div g.

    torchvision's channel_shuffle: x.view(N, g, C/g, H, W).transpose(1, 2).reshape(N, C, H, W), so the
    groups' channels interleave. C must divide by g. No params, no MACs, no other ops.
    """

    name = "shuffle"
    fields = {"groups": Field("int", doc="groups g whose channels are interleaved")}
    receptive_field = staticmethod(_keep)

    def out_shape(self, ins: list[Shape]) -> Shape:
        c = ins[0][-1]
        if c % self.groups:
            raise KindError(f"{c} channels do not divide into groups={self.groups} "
                            f"(input {describe_shape(ins[0])})", field="groups",
                            hint=f"use a groups value that divides {c}")
        return ins[0]
