"""Forwards of the token shapes: map <-> sequence, class token, position embedding, token select,
Swin's patch merging gather. Sequences are (N, L, C) arrays."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, _need, _no_scratch, forward, joined, same_shape


def _tokens_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 4, kind.name)
    n, h, w, c = ins[0]
    return (n, h * w, c)


@forward("tokens", scratch=_no_scratch, shape=_tokens_shape, reshapes=True)
def tokens(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """(N, H, W, C) -> (N, H·W, C): NHWC's row-major order is torch's x.flatten(2).transpose(1, 2)."""
    return xs[0].reshape(_tokens_shape(kind, [xs[0].shape]))


def _tokenmap_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    if len(ins[0]) != 3:
        raise GeometryError(f"tokenmap needs N x L x C, received {ins[0]}")
    n, length, c = ins[0]
    h, w = kind.h, kind.w
    if not h and not w:
        h = w = math.isqrt(length)
    elif not h:
        h = length // w
    elif not w:
        w = length // h
    if h * w != length:
        raise GeometryError(f"{length} tokens are no {h} x {w} map")
    return (n, h, w, c)


@forward("tokenmap", scratch=_no_scratch, shape=_tokenmap_shape, reshapes=True)
def tokenmap(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    return xs[0].reshape(_tokenmap_shape(kind, [xs[0].shape]))


def _class_token_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 3:
        raise GeometryError(f"classtoken needs N x L x C, received {shapes[0]}")
    return {"token": ((kind.count, shapes[0][2]), True)}


def _class_token_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _class_token_weights(kind, ins)
    n, length, c = ins[0]
    return (n, kind.count + length, c)


def _class_token_scratch(kind: Any, ins: list[tuple[int, ...]], out: tuple[int, ...], itemsize: int) -> int:
    """The tokens converted to the run's type (broadcast over the batch, not copied)."""
    return kind.count * ins[0][2] * itemsize


@forward("classtoken", weights=_class_token_weights, shape=_class_token_shape, scratch=_class_token_scratch)
def classtoken(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """torch.cat([class_token.expand(N, -1, -1), x], dim=1)."""
    x = xs[0]
    tok = np.broadcast_to(ws["token"].astype(x.dtype), (x.shape[0], *ws["token"].shape))
    return joined([tok, x], axis=1)


def _embedding_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {"embedding": (tuple(shapes[0][1:]), True)}


@forward("posembed", weights=_embedding_weights, scratch=_no_scratch, inplace=True, shape=same_shape)
def posembed(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    x = xs[0]
    return np.add(x, ws["embedding"], out=x if own else None)


def _tokenselect_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    if len(ins[0]) != 3 or kind.index >= ins[0][1]:
        raise GeometryError(f"token {kind.index} of {ins[0]}")
    return (ins[0][0], ins[0][2])


@forward("tokenselect", scratch=_no_scratch, shape=_tokenselect_shape, strided=True)
def tokenselect(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    _tokenselect_shape(kind, [x.shape])
    return x[:, kind.index]  # a view, as torch's x[:, 0]


def _patchmerge_shape(kind: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
    _need(ins[0], 4, kind.name)
    n, h, w, c = ins[0]
    return (n, -(-h // 2), -(-w // 2), 4 * c)


@forward("patchmerge", shape=_patchmerge_shape)  # scratch: the padded copy of an odd map, at most the output
def patchmerge(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """torchvision's _patch_merging_pad: pad an odd H or W at the end, then concatenate
    x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] along channels."""
    x = xs[0]
    _patchmerge_shape(kind, [x.shape])
    _, h, w, _ = x.shape
    if h % 2 or w % 2:
        x = np.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))
    return joined([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], axis=-1)
