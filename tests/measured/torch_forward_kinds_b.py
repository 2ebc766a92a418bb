"""torch's own modules on small inputs, for the forwards of issue 14 part B: writes
tests/data/torch_forward_kinds_b.npz, which tests/test_forward_kinds_b.py holds archcalc's NumPy
forwards to (the default suite never imports torch).

    /work/venvs/tv/bin/python tests/measured/torch_forward_kinds_b.py

Each case stores, under `<case>/`: `kind` (the archcalc layer, JSON), `x0`, `x1`... (inputs in archcalc's
layout: N x H x W x C maps, N x L x C sequences), `w/<name>` (the module's weights in archcalc's layout,
see archcalc/forward/attention.py) and `y` (torch's output, in archcalc's layout). float64 throughout.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models.shufflenetv2 import channel_shuffle
from torchvision.models.swin_transformer import ShiftedWindowAttention, _patch_merging_pad

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
OUT = Path(__file__).resolve().parent.parent / "data" / "torch_forward_kinds_b.npz"
arrays: dict[str, np.ndarray] = {}


def nhwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(0, 2, 3, 1).detach().numpy() if t.ndim == 4 else t.detach().numpy()


def case(name: str, kind: dict, xs: list[np.ndarray], y: torch.Tensor | np.ndarray, ws: dict | None = None,
         maps_out: bool = False) -> None:
    arrays[f"{name}/kind"] = np.array(json.dumps(kind))
    for i, x in enumerate(xs):
        arrays[f"{name}/x{i}"] = np.asarray(x)
    for k, v in (ws or {}).items():
        arrays[f"{name}/w/{k}"] = v.detach().numpy() if isinstance(v, torch.Tensor) else v
    arrays[f"{name}/y"] = nhwc(y) if maps_out else (y.detach().numpy() if isinstance(y, torch.Tensor) else y)


def linear(shape: tuple[int, ...], c_out: int, bias: bool) -> None:
    m = nn.Linear(shape[-1], c_out, bias=bias)
    x = torch.randn(*shape)
    ws = {"kernel": m.weight.T.contiguous()} | ({"bias": m.bias} if bias else {})
    case(f"linear{len(shape)}d{'' if bias else '_nobias'}", {"kind": "linear", "units": c_out, "bias": bias},
         [x.numpy()], m(x), ws)


def mha(length: int, c: int, heads: int, bias: bool) -> None:
    m = nn.MultiheadAttention(c, heads, bias=bias, batch_first=True).eval()
    x = torch.randn(2, length, c)
    ws = {"qkv_kernel": m.in_proj_weight.T.contiguous(), "proj_kernel": m.out_proj.weight.T.contiguous()}
    if bias:
        ws |= {"qkv_bias": m.in_proj_bias, "proj_bias": m.out_proj.bias}
    y = m(x, x, x, need_weights=False)[0]
    case(f"attention_h{heads}{'' if bias else '_nobias'}",
         {"kind": "attention", "heads": heads, "qkv_bias": bias, "proj_bias": bias}, [x.numpy()], y, ws)


def window(h: int, w: int, c: int, win: list[int], shift: list[int], heads: int) -> None:
    m = ShiftedWindowAttention(c, win, shift, heads).eval()
    with torch.no_grad():
        m.relative_position_bias_table.normal_()  # not the near-zero initial values: make the bias count
    x = torch.randn(2, h, w, c)                   # torchvision's Swin keeps N x H x W x C
    ws = {"qkv_kernel": m.qkv.weight.T.contiguous(), "qkv_bias": m.qkv.bias,
          "proj_kernel": m.proj.weight.T.contiguous(), "proj_bias": m.proj.bias,
          "bias_table": m.relative_position_bias_table}
    case(f"window_{h}x{w}_w{win[0]}x{win[1]}_s{shift[0]}x{shift[1]}",
         {"kind": "windowattention", "heads": heads, "window": win, "shift": shift}, [x.numpy()], m(x), ws)


def main() -> None:
    linear((2, 6), 4, True)
    linear((2, 5, 6), 4, True)
    linear((2, 3, 4, 6), 4, False)
    mha(5, 8, 2, True)
    mha(7, 12, 3, False)
    window(4, 6, 8, [2, 2], [0, 0], 2)
    window(4, 6, 8, [2, 2], [1, 1], 2)
    window(5, 4, 6, [3, 3], [1, 1], 3)    # padded to 6 x 6, shifted
    window(3, 5, 4, [3, 3], [1, 1], 1)    # rows: one window covers them, no shift there
    window(5, 7, 4, [2, 3], [1, 1], 2)    # a rectangular window
    a, b = torch.randn(2, 5, 4), torch.randn(2, 6, 4)
    case("matmul_qkt", {"kind": "matmul", "transpose_b": True}, [a.numpy(), b.numpy()],
         torch.matmul(a, b.transpose(-2, -1)))
    s, v = torch.randn(2, 5, 6), torch.randn(2, 6, 3)
    case("matmul_av", {"kind": "matmul", "scale": 0.5}, [s.numpy(), v.numpy()], torch.matmul(s, v) * 0.5)
    case("matmul_ta", {"kind": "matmul", "transpose_a": True}, [b.numpy(), s.transpose(1, 2).numpy()],
         torch.matmul(b.transpose(1, 2), s.transpose(1, 2)))
    x = torch.randn(2, 4, 3, 5)  # N x C x H x W
    case("tokens", {"kind": "tokens"}, [nhwc(x)], x.flatten(2).transpose(1, 2))
    seq = x.flatten(2).transpose(1, 2)
    case("tokenmap", {"kind": "tokenmap", "w": 5}, [seq.numpy()], x, maps_out=True)
    tok = torch.randn(1, 1, 4)
    case("classtoken", {"kind": "classtoken"}, [seq.numpy()], torch.cat([tok.expand(2, -1, -1), seq], dim=1),
         {"token": tok[0]})
    pos = torch.randn(1, 15, 4)
    case("posembed", {"kind": "posembed"}, [seq.numpy()], seq + pos, {"embedding": pos[0]})
    case("tokenselect", {"kind": "tokenselect", "index": 3}, [seq.numpy()], seq[:, 3])
    case("concat_tokens", {"kind": "concat", "axis": "tokens"}, [seq.numpy(), seq[:, :2].numpy()],
         torch.cat([seq, seq[:, :2]], dim=1))
    case("softmax_tokens", {"kind": "softmax"}, [seq.numpy()], torch.softmax(seq, dim=-1))
    y = torch.randn(2, 10, 3, 4)
    for i in range(3):
        case(f"chunk3_{i}", {"kind": "slice", "chunks": 3, "chunk": i}, [nhwc(y)], y.chunk(3, dim=1)[i], maps_out=True)
    case("slice_range", {"kind": "slice", "start": 2, "channels": 5}, [nhwc(y)], y[:, 2:7], maps_out=True)
    case("shuffle2", {"kind": "shuffle", "groups": 2}, [nhwc(y)], channel_shuffle(y, 2), maps_out=True)
    case("shuffle5", {"kind": "shuffle", "groups": 5}, [nhwc(y)], channel_shuffle(y, 5), maps_out=True)
    for h, w in ((4, 6), (5, 3)):
        z = torch.randn(2, h, w, 3)  # Swin's N x H x W x C
        case(f"patchmerge_{h}x{w}", {"kind": "patchmerge"}, [z.numpy()], _patch_merging_pad(z))
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(arrays)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()
