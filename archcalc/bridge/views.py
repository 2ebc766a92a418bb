"""Views: where an archcalc value's axes lie in an ONNX tensor.

A layer's output is an archcalc shape (H x W x C, L x C or n). The ONNX tensors that hold it may
arrange it in many ways: N x C x H x W (a convolution's output), N x H x W x C after a Transpose
(Swin, ConvNeXt's LayerNorm2d), N x C x H·W after a Reshape (ViT's patches before their
transpose), L x N x C (nn.MultiheadAttention's sequence-first inside). A *view* says, for each ONNX
axis, which archcalc axes it holds: "N" (the batch), or a tuple of archcalc axes merged in
row-major order (empty: an axis of size 1 added by an Unsqueeze). Transpose and Reshape then
change only the view, never the values, and the importer makes a layer only where a view is one
of archcalc's own kinds: all axes merged (`flatten`), H·W before C (`tokens`), L split into h x w
(`tokenmap`).
"""

from __future__ import annotations

import math
from typing import Any

View = tuple[Any, ...]

N = "N"


def canonical(shape: tuple[int, ...]) -> View:
    """The view of a freshly made value: N x C x H x W for a map, N x L x C, N x n."""
    if len(shape) == 3:
        return (N, (2,), (0,), (1,))
    return (N, *((a,) for a in range(len(shape))))


def nhwc() -> View:
    return (N, (0,), (1,), (2,))


def permute(view: View, perm: list[int]) -> View:
    return tuple(view[p] for p in perm)


def groups(view: View) -> list[tuple[int, ...]]:
    """The non-batch groups of a view, in ONNX order."""
    return [g for g in view if g != N]


def regroup(view: View, shape: tuple[int, ...], in_dims: tuple[int, ...],
            out_dims: tuple[int, ...]) -> tuple[View | None, tuple[int, list[int]] | None]:
    """The view after a reshape from `in_dims` to `out_dims`, when it only merges or separates
    whole axes: (view, None). When it splits one archcalc axis into several ONNX axes:
    (None, (that archcalc axis, its parts' sizes)); (None, None) when it does anything else (moves
    the batch, splits across axes)."""
    atoms: list[tuple[Any, int]] = []
    for g, d in zip(view, in_dims, strict=True):
        if g == N:
            atoms.append((N, d))
        else:
            atoms += [(a, shape[a]) for a in g if shape[a] != 1]
    out: list[Any] = []
    k = 0
    for j, d in enumerate(out_dims):
        if k < len(atoms) and atoms[k][0] == N:
            if d != atoms[k][1]:
                return None, None
            out.append(N)
            k += 1
            continue
        group: list[int] = []
        size = 1
        while size < d and k < len(atoms) and atoms[k][0] != N:
            a, s = atoms[k]
            if size * s > d:  # this atom is split across ONNX axes
                return None, _split(atoms[k], out_dims[j:], size)
            group.append(a)
            size *= s
            k += 1
        if size != d:
            if k < len(atoms) and atoms[k][0] != N and size == 1:
                return None, _split(atoms[k], out_dims[j:], 1)
            return None, None
        out.append(tuple(group))
    if k != len(atoms):
        return None, None
    return tuple(out), None


def _split(atom: tuple[Any, int], rest: tuple[int, ...], before: int) -> tuple[int, list[int]] | None:
    """The parts of one archcalc axis split over the next ONNX axes (their sizes, in order)."""
    a, size = atom
    if a == N or before != 1:
        return None
    parts, p = [], 1
    for d in rest:
        if p == size:
            break
        parts.append(d)
        p *= d
    return (a, parts) if p == size and len(parts) > 1 else None


def shape_of(view: View, dims: tuple[int, ...], rank: int) -> tuple[int, ...] | None:
    """The archcalc shape (of `rank` axes) a tensor of `dims` holds under `view`, when each axis of
    size above 1 sits alone on an ONNX axis (otherwise None); axes not in the view are 1."""
    out = [1] * rank
    for g, d in zip(view, dims, strict=True):
        if g == N:
            continue
        if len(g) > 1:
            return None
        if len(g) == 1:
            out[g[0]] = d
        elif d != 1:
            return None
    return tuple(out)


def elements(shape: tuple[int, ...]) -> int:
    return math.prod(shape)
