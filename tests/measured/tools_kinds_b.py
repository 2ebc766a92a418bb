"""What each counting tool prints for the small torch modules behind the kinds of issue 14, part B.

Run by hand, not by pytest (the default suite never imports torch):

    /work/venvs/t213/bin/python tests/measured/tools_kinds_b.py          # torch 2.13 (CPU)
    /work/venvs/tv/bin/python tests/measured/tools_kinds_b.py --swin     # + torchvision's Swin attention

Each line: module, batch, then the total of torchinfo (summary().total_mult_adds), ptflops
(get_model_complexity_info, pytorch backend, functionals patched and not), fvcore
(FlopCountAnalysis.total()), thop (profile()[0]) and FlopCounterMode (get_total_flops()).
tests/test_profiles_kinds_b.py pins these figures; archcalc/profiles.py reproduces them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import warnings

import torch
from torch import nn

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
torch.set_num_threads(1)


class Attn(nn.Module):  # torchvision's EncoderBlock calls it so: self_attention(x, x, x, need_weights=False)
    def __init__(self, c: int, heads: int, bias: bool = True, need_weights: bool = False) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(c, heads, bias=bias, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x):
        return self.mha(x, x, x, need_weights=self.need_weights)[0]


class MatmulQK(nn.Module):  # x by x^T, three ways of writing it
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    def forward(self, x):
        kt = x.transpose(-2, -1)
        if self.how == "@":
            return x @ kt
        if self.how == "bmm":
            return torch.bmm(x, kt)
        return torch.matmul(x, kt)


class ClassToken(nn.Module):  # torchvision VisionTransformer.forward
    def __init__(self, c: int) -> None:
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, c))

    def forward(self, x):
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class PosEmbed(nn.Module):  # torchvision Encoder.forward
    def __init__(self, n: int, c: int) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.zeros(1, n, c).normal_(std=0.02))

    def forward(self, x):
        return x + self.pos_embedding


class CatTokens(nn.Module):
    def forward(self, x):
        return torch.cat([x, x], dim=1)


class Tokens(nn.Module):  # torchvision VisionTransformer._process_input after conv_proj
    def forward(self, x):
        return x.flatten(2).transpose(1, 2)


class Select(nn.Module):
    def forward(self, x):
        return x[:, 0]


class Chunk(nn.Module):  # torchvision shufflenetv2 InvertedResidual: x1, x2 = x.chunk(2, dim=1)
    def forward(self, x):
        return x.chunk(2, dim=1)[1]


class Shuffle(nn.Module):  # torchvision shufflenetv2.channel_shuffle
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c, h, w = x.size()
        x = x.view(b, self.groups, c // self.groups, h, w)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(b, -1, h, w)


def tools(model: nn.Module, shape: tuple[int, ...]) -> dict[str, int]:
    from fvcore.nn import FlopCountAnalysis
    from ptflops import get_model_complexity_info
    from thop import profile
    from torch.utils.flop_counter import FlopCounterMode
    from torchinfo import summary

    model.eval()
    out: dict[str, int] = {}
    out["torchinfo"] = summary(model, input_size=shape, verbose=0).total_mult_adds
    batch = shape[0]
    for name, cfg in (("ptflops", {}), ("ptflops-nofunc", {"count_functional": False})):
        with contextlib.redirect_stdout(io.StringIO()):
            macs, _ = get_model_complexity_info(
                model, tuple(shape[1:]), as_strings=False, print_per_layer_stat=False, backend="pytorch",
                input_constructor=(lambda res, b=batch: torch.randn(b, *res)), backend_specific_config=cfg)
        out[name] = int(macs)
    x = torch.randn(*shape)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        out["fvcore"] = int(FlopCountAnalysis(model, (x,)).unsupported_ops_warnings(False)
                            .uncalled_modules_warnings(False).total())
        out["thop"] = int(profile(model, inputs=(x,), verbose=False)[0])
    with FlopCounterMode(display=False) as fc:
        model(x)
    out["flopcounter"] = int(fc.get_total_flops())
    return out


def cases(swin: bool) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    torch.manual_seed(0)
    c = [
        ("Linear(8, 6) on N x 8", nn.Linear(8, 6), (8,)),
        ("Linear(8, 6) on N x 5 x 8", nn.Linear(8, 6), (5, 8)),
        ("Linear(8, 6) on N x 3 x 4 x 8", nn.Linear(8, 6), (3, 4, 8)),
        ("Linear(8, 6, bias=False) on N x 5 x 8", nn.Linear(8, 6, bias=False), (5, 8)),
        ("MultiheadAttention(16, 4) need_weights=False on N x 5 x 16", Attn(16, 4), (5, 16)),
        ("MultiheadAttention(16, 4) need_weights=True on N x 5 x 16", Attn(16, 4, need_weights=True), (5, 16)),
        ("MultiheadAttention(16, 4, bias=False) need_weights=False on N x 5 x 16", Attn(16, 4, bias=False),
         (5, 16)),
        ("torch.matmul(x, x^T) on N x 5 x 16", MatmulQK("matmul"), (5, 16)),
        ("x @ x^T on N x 5 x 16", MatmulQK("@"), (5, 16)),
        ("torch.bmm(x, x^T) on N x 5 x 16", MatmulQK("bmm"), (5, 16)),
        ("class token cat on N x 5 x 16", ClassToken(16), (5, 16)),
        ("x + pos_embedding on N x 5 x 16", PosEmbed(5, 16), (5, 16)),
        ("torch.cat([x, x], dim=1) on N x 5 x 16", CatTokens(), (5, 16)),
        ("x.flatten(2).transpose(1, 2) on N x 16 x 3 x 4", Tokens(), (16, 3, 4)),
        ("x[:, 0] on N x 5 x 16", Select(), (5, 16)),
        ("x.chunk(2, dim=1)[1] on N x 8 x 3 x 4", Chunk(), (8, 3, 4)),
        ("channel_shuffle(x, 2) on N x 8 x 3 x 4", Shuffle(2), (8, 3, 4)),
    ]
    if swin:
        from torchvision.models.swin_transformer import PatchMerging, ShiftedWindowAttention
        c += [
            ("ShiftedWindowAttention(16, [2, 2], [0, 0], 4) on N x 4 x 6 x 16",
             ShiftedWindowAttention(16, [2, 2], [0, 0], 4), None),
            ("ShiftedWindowAttention(16, [2, 2], [1, 1], 4) on N x 4 x 6 x 16",
             ShiftedWindowAttention(16, [2, 2], [1, 1], 4), None),
            ("ShiftedWindowAttention(16, [3, 3], [1, 1], 2) on N x 5 x 4 x 16 (padded to 6 x 6)",
             ShiftedWindowAttention(16, [3, 3], [1, 1], 2), None),
            ("PatchMerging(8) on N x 4 x 6 x 8", PatchMerging(8), None),
        ]
    return c


SWIN_SHAPES = {"(16, [2, 2], [0, 0], 4)": (4, 6, 16), "(16, [2, 2], [1, 1], 4)": (4, 6, 16),
               "(16, [3, 3], [1, 1], 2)": (5, 4, 16), "PatchMerging(8)": (4, 6, 8)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--swin", action="store_true", help="also torchvision's Swin modules (needs torchvision)")
    args = ap.parse_args()
    print(f"torch {torch.__version__}")
    for name, model, shape in cases(args.swin):
        if shape is None:
            shape = next(s for k, s in SWIN_SHAPES.items() if k in name)
        for batch in (1, 2):
            figures = tools(model, (batch, *shape))
            print(f"{name} | batch {batch} | " + " ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
