"""What autograd saves for the torch op behind every kind, measured on small networks.

Run by hand, not by pytest (the default suite never imports torch):

    /work/venvs/t213/bin/python tests/measured/saved_kinds.py     # torch 2.13 (CPU) -> tests/data/saved_kinds.json

Each case is a small network in training mode, most of them a stem with parameters (a 1x1 convolution,
a Linear) before the op, so that the op's input needs a gradient as it does inside a network; the
`*_first` cases read the network's input directly. For batch 1 and 3 the figure is the one of
tests/torchref/measure_training.py: the bytes of the distinct storages that pass through
`saved_tensors_hooks`' pack hook during one forward, the model's parameters and buffers left out,
and how many storages those are. `tests/test_training_kinds.py` describes each case as an archcalc spec
(the same layers, and the same torch ops through `torch_ops:`) and holds archcalc to these figures.
"""

from __future__ import annotations

import json
import math
import sys
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: torchvision's code, copied once
from torchref.shufflenetv2 import channel_shuffle  # noqa: E402
from torchref.swin import _get_relative_position_bias, _patch_merging_pad, shifted_window_attention  # noqa: E402

torch.set_num_threads(1)
OUT = Path(__file__).resolve().parent.parent / "data" / "saved_kinds.json"
BATCHES = (1, 3)

MAP = (4, 6, 6)        # C, H, W: archcalc's 6x6x4
TOK = (8, 1, 5)        # C, H, W: archcalc's 1x5x8, read as 5 tokens of 8 (`tokens`, `toks`)
VEC = (12,)


class Seq(nn.Module):
    """Modules and functions applied in order (a function may hold no state)."""

    def __init__(self, *steps: Any) -> None:
        super().__init__()
        self.mods = nn.ModuleList([s for s in steps if isinstance(s, nn.Module)])
        self.steps = steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for s in self.steps:
            x = s(x)
        return x


def to_tokens(x: torch.Tensor) -> torch.Tensor:
    """A map as tokens, as torchvision's ViT makes them: x.flatten(2).transpose(1, 2) (a transposed view)."""
    return x.flatten(2).transpose(1, 2)


def toks(*steps: Any) -> Seq:
    """A network on tokens: the input map (1 x 5 x 8) as 5 tokens, then `steps`."""
    return Seq(to_tokens, *steps)


def stem(c: int = 4) -> nn.Module:
    return nn.Conv2d(c, c, 1)


class Residual(nn.Module):
    """conv a (1x1) -> conv b (3x3, same); then `how` joins b and a (the spec's add from [b, a])."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.a, self.b, self.how = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1), how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.a(x)
        b = self.b(a)
        if self.how == "+=":
            b += a
            return b
        return b + a if self.how == "+" else torch.add(b, a)


class Gate(nn.Module):
    """Squeeze-excitation's product: x (a 1x1 conv) times a gate of 1 x 1 x C (global average of x, 1x1 conv,
    sigmoid); `three` multiplies by a spatial gate too (x * s * t, left to right)."""

    def __init__(self, three: bool = False, detached: bool = False) -> None:
        super().__init__()
        self.x, self.s, self.t = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1), nn.Conv2d(4, 1, 1)
        self.three, self.detached = three, detached

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.x(inp)
        if self.detached:  # a gate that needs no gradient: the input's own mean, no parameters on its way
            return x * F.adaptive_avg_pool2d(inp, 1)
        s = torch.sigmoid(self.s(F.adaptive_avg_pool2d(x, 1)))
        if self.three:
            return x * s * torch.sigmoid(self.t(x))
        return x * s


def crop(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The centre h x w of x, as U-Net's copy and crop (tests/torchref/unet.py): a slice, a view of x."""
    t, l = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[:, :, t:t + h, l:l + w]


class CropCat(nn.Module):
    """U-Net's copy and crop: conv a (1x1), conv b (3x3, valid: 4 x 4) on it, a cropped to b's size and
    concatenated in front of b, then a 1x1 conv (the spec's crop from [a, b] and concat [crop, b])."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3), nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.a(x)
        b = self.b(a)
        return self.c(torch.cat([crop(a, *b.shape[-2:]), b], 1))


class Concat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x)], 1)


class LayerNorm2d(nn.LayerNorm):  # torchvision's ConvNeXt: over the channels at each position
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Scale(nn.Module):  # ConvNeXt's layer scale: a parameter of C x 1 x 1 times the map
    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((c, 1, 1), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * x


def stochastic_depth(p: float) -> Any:  # torchvision.ops.stochastic_depth, mode "row", in training
    def f(x: torch.Tensor) -> torch.Tensor:
        if p == 0.0:
            return x
        noise = x.new_empty([x.shape[0]] + [1] * (x.ndim - 1)).bernoulli_(1 - p)
        noise.div_(1 - p)
        return x * noise
    return f


class Tokens(nn.Module):
    """A map to tokens as torchvision's ViT does (x.flatten(2).transpose(1, 2)) after a 1x1 conv, then `then`."""

    def __init__(self, then: Any = None) -> None:
        super().__init__()
        self.conv, self.then = nn.Conv2d(4, 8, 1), then
        if isinstance(then, nn.Module):
            self.mod = then

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).flatten(2).transpose(1, 2)
        return self.then(x) if self.then is not None else x


class ClassToken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.token = nn.Linear(8, 8), nn.Parameter(torch.zeros(1, 1, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lin(x)
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)


class PosEmbed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.pos = nn.Linear(8, 8), nn.Parameter(torch.zeros(1, 5, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x) + self.pos


class Select(nn.Module):  # ViT's head: x[:, 0], then a Linear
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.head = nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lin(x)[:, 0])


class Chunk(nn.Module):  # ShuffleNetV2's split: x1, x2 = x.chunk(2, dim=1); a 1x1 conv on x2
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 4, 1), nn.Conv2d(2, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x).chunk(2, dim=1)[1])


class NHWC(nn.Module):
    """A 1x1 conv, its output as N x H x W x C (as Swin's Permute([0, 2, 3, 1]) does), then `then`."""

    def __init__(self, then: Any) -> None:
        super().__init__()
        self.conv, self.then = nn.Conv2d(4, 8, 1), then
        if isinstance(then, nn.Module):
            self.mod = then

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.then(self.conv(x).permute(0, 2, 3, 1))


class Attn(nn.Module):  # torchvision's EncoderBlock: self_attention(x, x, x, need_weights=False)
    def __init__(self, need_weights: bool = False, first: bool = False) -> None:
        super().__init__()
        self.lin = None if first else nn.Linear(8, 8)
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.lin is not None:
            x = self.lin(x)
        return self.mha(x, x, x, need_weights=self.need_weights)[0]


class WindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention as Swin calls it: on a LayerNorm's output (N x H x W x C, contiguous),
    here after a 1x1 conv."""

    def __init__(self, window: int, shift: int, heads: int = 2, c: int = 8) -> None:
        super().__init__()
        self.conv, self.norm = nn.Conv2d(4, c, 1), nn.LayerNorm(c)
        self.window, self.shift, self.heads = [window, window], [shift, shift], heads
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += window - 1
        rel[:, :, 1] += window - 1
        rel[:, :, 0] *= 2 * window - 1
        self.register_buffer("index", rel.sum(-1).flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(x).permute(0, 2, 3, 1))
        bias = _get_relative_position_bias(self.table, self.index, self.window)
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, bias, self.window, self.heads, self.shift,
                                        qkv_bias=self.qkv.bias, proj_bias=self.proj.bias)


class MatMul(nn.Module):
    """Two linear maps of tokens, then q @ k^T (`qk`) or the scores @ v (`av`), as a spec's `matmul`."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.q, self.k, self.how = nn.Linear(8, 8), nn.Linear(8, 8), how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k = self.q(x), self.k(x)
        if self.how == "qk":
            return torch.matmul(q, k.transpose(-2, -1))
        if self.how == "qk@":
            return q @ k.transpose(-2, -1)
        return torch.matmul(torch.matmul(q, k.transpose(-2, -1)), k)


def _f(fn: Any, **kw: Any) -> Any:
    return lambda x: fn(x, **kw)


#: case name -> (torch input shape per sample, the network). tests/test_training_kinds.py has the specs.
CASES: dict[str, tuple[tuple[int, ...], Any]] = {
    "conv_first": (MAP, lambda: nn.Conv2d(4, 8, 3, padding=1)),
    "conv": (MAP, lambda: Seq(stem(), nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False))),
    "depthwise": (MAP, lambda: Seq(stem(), nn.Conv2d(4, 4, 3, padding=1, groups=4))),
    "convtranspose": (MAP, lambda: Seq(stem(), nn.ConvTranspose2d(4, 2, 2, stride=2))),
    "dense_first": (VEC, lambda: nn.Linear(12, 5)),
    "dense": (VEC, lambda: Seq(nn.Linear(12, 6), nn.Linear(6, 5))),
    "batchnorm": (MAP, lambda: Seq(stem(), nn.BatchNorm2d(4))),
    "batchnorm_first": (MAP, lambda: nn.BatchNorm2d(4)),
    "batchnorm_vector": (VEC, lambda: Seq(nn.Linear(12, 6), nn.BatchNorm1d(6))),
    "lrn": (MAP, lambda: Seq(stem(), nn.LocalResponseNorm(3, 1e-4, 0.75, 2.0))),
    "relu": (MAP, lambda: Seq(stem(), nn.ReLU())),
    "relu_inplace": (MAP, lambda: Seq(stem(), nn.ReLU(inplace=True))),
    "relu_functional_inplace": (MAP, lambda: Seq(stem(), _f(F.relu, inplace=True))),
    "relu_first": (MAP, lambda: nn.ReLU()),
    "relu6": (MAP, lambda: Seq(stem(), nn.ReLU6())),
    "relu6_inplace": (MAP, lambda: Seq(stem(), nn.ReLU6(inplace=True))),
    "sigmoid": (MAP, lambda: Seq(stem(), nn.Sigmoid())),
    "tanh": (MAP, lambda: Seq(stem(), nn.Tanh())),
    "hardswish": (MAP, lambda: Seq(stem(), nn.Hardswish())),
    "hardswish_inplace": (MAP, lambda: Seq(stem(), nn.Hardswish(inplace=True))),
    "softmax": (VEC, lambda: Seq(nn.Linear(12, 6), nn.Softmax(dim=1))),
    "softmax_tokens": (TOK, lambda: toks(nn.Linear(8, 8), nn.Softmax(dim=-1))),
    "silu": (MAP, lambda: Seq(stem(), nn.SiLU())),
    "silu_inplace": (MAP, lambda: Seq(stem(), nn.SiLU(inplace=True))),
    "gelu": (MAP, lambda: Seq(stem(), nn.GELU())),
    "gelu_tanh": (TOK, lambda: toks(nn.Linear(8, 8), nn.GELU(approximate="tanh"))),
    "hardsigmoid": (MAP, lambda: Seq(stem(), nn.Hardsigmoid())),
    "hardsigmoid_inplace": (MAP, lambda: Seq(stem(), nn.Hardsigmoid(inplace=True))),
    "leakyrelu": (MAP, lambda: Seq(stem(), nn.LeakyReLU(0.1))),
    "leakyrelu_inplace": (MAP, lambda: Seq(stem(), nn.LeakyReLU(0.1, inplace=True))),
    "prelu": (MAP, lambda: Seq(stem(), nn.PReLU())),
    "prelu_channels": (MAP, lambda: Seq(stem(), nn.PReLU(4))),
    "layernorm": (TOK, lambda: toks(nn.Linear(8, 8), nn.LayerNorm(8))),
    "layernorm_nobias": (TOK, lambda: toks(nn.Linear(8, 8), nn.LayerNorm(8, bias=False))),
    "layernorm2d": (MAP, lambda: Seq(stem(), LayerNorm2d(4))),
    "layernorm_vector": (VEC, lambda: Seq(nn.Linear(12, 6), nn.LayerNorm(6))),
    "groupnorm": (MAP, lambda: Seq(stem(), nn.GroupNorm(2, 4))),
    "groupnorm_noaffine": (MAP, lambda: Seq(stem(), nn.GroupNorm(2, 4, affine=False))),
    "scale": (MAP, lambda: Seq(stem(), Scale())),
    "maxpool": (MAP, lambda: Seq(stem(), nn.MaxPool2d(3, stride=2, padding=1))),
    "maxpool_ceil": (MAP, lambda: Seq(stem(), nn.MaxPool2d(2, stride=2, ceil_mode=True),
                                      nn.MaxPool2d(2, ceil_mode=True))),
    "maxpool_functional": (MAP, lambda: Seq(stem(), _f(F.max_pool2d, kernel_size=2))),
    "avgpool": (MAP, lambda: Seq(stem(), nn.AvgPool2d(2))),
    "avgpool_adaptive_module": (MAP, lambda: Seq(stem(), nn.AdaptiveAvgPool2d((6, 6)))),
    "avgpool_first": (MAP, lambda: nn.AvgPool2d(2)),
    "globalavgpool": (MAP, lambda: Seq(stem(), nn.AdaptiveAvgPool2d((1, 1)))),
    "globalavgpool_functional": (MAP, lambda: Seq(stem(), _f(F.adaptive_avg_pool2d, output_size=(1, 1)))),
    "globalavgpool_mean": (MAP, lambda: Seq(stem(), _f(torch.mean, dim=(2, 3)))),
    "globalmaxpool": (MAP, lambda: Seq(stem(), nn.AdaptiveMaxPool2d(1))),
    "adaptiveavgpool": (MAP, lambda: Seq(stem(), nn.AdaptiveAvgPool2d(4))),
    "adaptiveavgpool_1": (MAP, lambda: Seq(stem(), nn.AdaptiveAvgPool2d(1))),
    "adaptivemaxpool": (MAP, lambda: Seq(stem(), nn.AdaptiveMaxPool2d((4, 3)))),
    "add_inplace": (MAP, lambda: Residual("+=")),
    "add": (MAP, lambda: Residual("+")),
    "add_torch": (MAP, lambda: Residual("torch.add")),
    "multiply": (MAP, lambda: Gate()),
    "multiply_three": (MAP, lambda: Gate(three=True)),
    "multiply_gate_without_grad": (MAP, lambda: Gate(detached=True)),
    "concat": (MAP, lambda: Concat()),
    "flatten": (MAP, lambda: Seq(stem(), _f(torch.flatten, start_dim=1), nn.Linear(144, 3))),
    "dropout": (VEC, lambda: Seq(nn.Linear(12, 6), nn.Dropout(0.5))),
    "dropout_inplace": (VEC, lambda: Seq(nn.Linear(12, 6), nn.Dropout(0.5, inplace=True))),
    "dropout_zero": (VEC, lambda: Seq(nn.Linear(12, 6), nn.Dropout(0.0), nn.Linear(6, 2))),
    "crop": (MAP, lambda: Seq(stem(), _f(crop, h=3, w=4), nn.Conv2d(4, 2, 1))),
    "crop_like": (MAP, lambda: CropCat()),
    "zeropad": (MAP, lambda: Seq(stem(), nn.ZeroPad2d(1))),
    "upsample": (MAP, lambda: Seq(stem(), nn.Upsample(scale_factor=2))),
    "upsample_bilinear": (MAP, lambda: Seq(stem(), nn.Upsample(scale_factor=2, mode="bilinear"))),
    "identity": (MAP, lambda: Seq(stem(), nn.Identity(), nn.ReLU())),
    "droppath": (MAP, lambda: Seq(stem(), stochastic_depth(0.2))),
    "droppath_zero": (MAP, lambda: Seq(stem(), stochastic_depth(0.0), nn.ReLU())),
    "linear_tokens": (TOK, lambda: toks(nn.Linear(8, 8), nn.Linear(8, 6))),
    "linear_map": (MAP, lambda: NHWC(nn.Linear(8, 6))),
    "linear_after_tokens": (MAP, lambda: Tokens(nn.Linear(8, 6))),
    "tokens": (MAP, lambda: Tokens(nn.LayerNorm(8))),
    "tokenmap": ((8, 6, 6), lambda: toks(nn.Linear(8, 8), _f(torch.reshape, shape=(-1, 6, 6, 8)), nn.LayerNorm(8))),
    "classtoken": (TOK, lambda: toks(ClassToken())),
    "posembed": (TOK, lambda: toks(PosEmbed())),
    "tokenselect": (TOK, lambda: toks(Select())),
    "slice": (MAP, lambda: Chunk()),
    "shuffle": (MAP, lambda: Seq(stem(), partial(channel_shuffle, groups=2), nn.ReLU())),
    "patchmerge": (MAP, lambda: NHWC(_patch_merging_pad)),
    "patchmerge_odd": ((4, 5, 7), lambda: NHWC(_patch_merging_pad)),
    "attention": (TOK, lambda: toks(Attn())),
    "attention_first": (TOK, lambda: toks(Attn(first=True))),
    "attention_weights": (TOK, lambda: toks(Attn(need_weights=True))),
    "windowattention": ((4, 6, 6), lambda: WindowAttention(3, 0)),
    "windowattention_shifted": ((4, 6, 6), lambda: WindowAttention(3, 1)),
    "windowattention_padded": ((4, 5, 7), lambda: WindowAttention(3, 1)),
    "windowattention_one_window": ((4, 3, 3), lambda: WindowAttention(3, 1)),
    "windowattention_one_column": ((4, 6, 3), lambda: WindowAttention(3, 1)),
    "windowattention_one_head": ((4, 6, 6), lambda: WindowAttention(3, 1, heads=1)),
    "tiny_train": ((3, 8, 8), lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                                    nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Flatten(),
                                                    nn.Linear(128, 10))),
    "matmul": (TOK, lambda: toks(MatMul("qk"))),
    "matmul_at": (TOK, lambda: toks(MatMul("qk@"))),
    "matmul_chain": (TOK, lambda: toks(MatMul("av"))),
}


def saved(model: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """(bytes, storages) kept by autograd in one forward, the model's parameters and buffers left out."""
    state = {t.untyped_storage()._cdata for t in (*model.parameters(), *model.buffers())}
    kept: dict[int, int] = {}
    held: list[Any] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        if s._cdata not in state:
            kept[s._cdata] = s.nbytes()
            held.append(s)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(kept.values()), len(kept)


def main() -> int:
    out: dict[str, Any] = {"about": __doc__.split("\n\n")[0], "torch": torch.__version__, "cases": {}}
    for name, (shape, build) in CASES.items():
        torch.manual_seed(0)
        entry: dict[str, Any] = {"input": list(shape)}
        for b in BATCHES:
            model = build().train()
            x = torch.randn(b, *shape)
            try:
                entry[str(b)] = dict(zip(("saved", "storages"), saved(model, x), strict=True))
            except ValueError as e:  # BatchNorm in training on one value per channel
                entry[str(b)] = {"error": str(e)}
        out["cases"][name] = entry
        print(f"{name:28s} " + "  ".join(f"{entry[str(b)].get('saved', 'error')!s:>8}" for b in BATCHES)
              + f"  ({entry['3']['storages']} storages)", file=sys.stderr)
    text = "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in out.items() if k != "cases")
    text += ',\n"cases": {\n' + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in out["cases"].items())
    OUT.write_text(text + "\n}\n}\n")
    return 0


if __name__ == "__main__":
    assert math.prod(MAP) == 144
    sys.exit(main())
