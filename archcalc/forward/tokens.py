"""Forwards of the token shapes: map <-> sequence, class token, position embedding, token select,
Swin's patch merging gather. Sequences are (N, L, C) arrays."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import GeometryError, Tally, WeightShapes, _no_scratch, forward


@forward("tokens", scratch=_no_scratch)
def tokens(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """(N, H, W, C) -> (N, H·W, C): NHWC's row-major order is torch's x.flatten(2).transpose(1, 2)."""
    x = xs[0]
    if x.ndim != 4:
        raise GeometryError(f"tokens needs N x H x W x C, received {x.shape}")
    n, h, w, c = x.shape
    return x.reshape(n, h * w, c)


@forward("tokenmap", scratch=_no_scratch)
def tokenmap(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    if x.ndim != 3:
        raise GeometryError(f"tokenmap needs N x L x C, received {x.shape}")
    n, length, c = x.shape
    h, w = kind.h, kind.w
    if not h and not w:
        h = w = math.isqrt(length)
    elif not h:
        h = length // w
    elif not w:
        w = length // h
    if h * w != length:
        raise GeometryError(f"{length} tokens are no {h} x {w} map")
    return x.reshape(n, h, w, c)


def _class_token_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    if len(shapes[0]) != 3:
        raise GeometryError(f"classtoken needs N x L x C, received {shapes[0]}")
    return {"token": ((kind.count, shapes[0][2]), True)}


@forward("classtoken", weights=_class_token_weights)
def classtoken(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """torch.cat([class_token.expand(N, -1, -1), x], dim=1)."""
    x = xs[0]
    tok = np.broadcast_to(ws["token"].astype(x.dtype), (x.shape[0], *ws["token"].shape))
    return np.concatenate([tok, x], axis=1)


def _embedding_weights(kind: Any, shapes: list[tuple[int, ...]]) -> WeightShapes:
    return {"embedding": (tuple(shapes[0][1:]), True)}


@forward("posembed", weights=_embedding_weights, scratch=_no_scratch, inplace=True)
def posembed(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray], own: bool) -> np.ndarray:
    x = xs[0]
    return np.add(x, ws["embedding"], out=x if own else None)


@forward("tokenselect", scratch=_no_scratch)
def tokenselect(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    x = xs[0]
    if x.ndim != 3 or kind.index >= x.shape[1]:
        raise GeometryError(f"token {kind.index} of {x.shape}")
    return x[:, kind.index]  # a view, as torch's x[:, 0]


@forward("patchmerge")
def patchmerge(t: Tally, kind: Any, xs: list[np.ndarray], ws: dict[str, np.ndarray]) -> np.ndarray:
    """torchvision's _patch_merging_pad: pad an odd H or W at the end, then concatenate
    x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] along channels."""
    x = xs[0]
    if x.ndim != 4:
        raise GeometryError(f"patchmerge needs N x H x W x C, received {x.shape}")
    _, h, w, _ = x.shape
    if h % 2 or w % 2:
        x = np.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)))
    return np.concatenate([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], axis=-1)
