"""What torchinfo, ptflops, fvcore, thop and FlopCounterMode print for the torch ops of issue 14's
new kinds (part A), and for ModernA, the plain-torch twin of tests/data/modern_a.yaml. Not a test:
tests/test_profiles_modern.py pins what this printed. Run in a venv with torch 2.13 (CPU),
torchinfo 1.8.0, ptflops 0.7.5, fvcore 0.1.5 and thop 0.1.1 (on this machine /work/venvs/t213):

    python tests/data/measure_modern.py > tests/data/measured_modern.json
"""

import contextlib
import io
import json
import logging
import sys
import warnings

import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(1)
logging.disable(logging.WARNING)
warnings.filterwarnings("ignore")


def tools(model: nn.Module, x: torch.Tensor) -> dict:
    """Each tool's printed total for model(x), with its default settings."""
    from fvcore.nn import FlopCountAnalysis
    from ptflops import get_model_complexity_info
    from thop import profile
    from torch.utils.flop_counter import FlopCounterMode
    from torchinfo import summary
    model.eval()
    out = {"torchinfo": summary(model, input_data=[x], verbose=0).total_mult_adds}
    for name, cfg in (("ptflops", {}), ("ptflops-nofunc", {"count_functional": False})):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            macs, _ = get_model_complexity_info(model, tuple(x.shape[1:]), input_constructor=lambda _: x,
                                                as_strings=False, print_per_layer_stat=False, verbose=False,
                                                backend="pytorch", backend_specific_config=cfg)
        out[name] = macs
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        fa = FlopCountAnalysis(model, (x,))
        fa.unsupported_ops_warnings(False)
        fa.uncalled_modules_warnings(False)
        out["fvcore"] = fa.total()
    with contextlib.redirect_stdout(io.StringIO()):
        out["thop"] = int(profile(model, inputs=(x,), verbose=False)[0])
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    out["flopcounter"] = counter.get_total_flops()
    return out


class Fn(nn.Module):
    """A module whose forward is f(self, x): a functional call, or a product written `*`."""

    def __init__(self, f, **params: torch.Tensor) -> None:
        super().__init__()
        self.f = f
        for k, v in params.items():
            setattr(self, k, nn.Parameter(v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(self, x)


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d, in plain torch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ChannelsLast(nn.Module):
    """ConvNeXt's CNBlock: Permute([0, 2, 3, 1]), an nn.LayerNorm(C), and back."""

    def __init__(self, norm: nn.Module) -> None:
        super().__init__()
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth at inference: the identity."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def ops(c: int, h: int, w: int) -> dict:
    """label -> module computing one op on an N x c x h x w input."""
    def gate(x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3), keepdim=True)
    d = {
        "SiLU": nn.SiLU(), "F.silu": Fn(lambda m, x: F.silu(x)),
        "GELU": nn.GELU(), "GELU(tanh)": nn.GELU(approximate="tanh"), "F.gelu": Fn(lambda m, x: F.gelu(x)),
        "Hardsigmoid": nn.Hardsigmoid(), "F.hardsigmoid": Fn(lambda m, x: F.hardsigmoid(x)),
        "LeakyReLU": nn.LeakyReLU(0.1), "F.leaky_relu": Fn(lambda m, x: F.leaky_relu(x, 0.1)),
        "PReLU(1)": nn.PReLU(), "PReLU(C)": nn.PReLU(c),
        "F.prelu(C)": Fn(lambda m, x: F.prelu(x, m.w), w=torch.full((c,), 0.25)),
        "LayerNorm2d": LayerNorm2d(c), "LayerNorm": ChannelsLast(nn.LayerNorm(c)),
        "LayerNorm(affine=False)": ChannelsLast(nn.LayerNorm(c, elementwise_affine=False)),
        "LayerNorm(bias=False)": ChannelsLast(nn.LayerNorm(c, bias=False)),
        "F.layer_norm": Fn(lambda m, x: F.layer_norm(x.permute(0, 2, 3, 1), (c,), m.g, m.b).permute(0, 3, 1, 2),
                           g=torch.ones(c), b=torch.zeros(c)),
        "x * x.mean((2, 3), keepdim=True)": Fn(lambda m, x: x * gate(x)),
        "torch.mul(x, x.mean((2, 3), keepdim=True))": Fn(lambda m, x: torch.mul(x, gate(x))),
        "x.mul(x.mean((2, 3), keepdim=True))": Fn(lambda m, x: x.mul(gate(x))),
        "x * x": Fn(lambda m, x: x * x), "torch.mul(x, x)": Fn(lambda m, x: torch.mul(x, x)),
        "gamma * x": Fn(lambda m, x: m.gamma * x, gamma=torch.full((c, 1, 1), 1e-6)),
        "torch.mul(gamma, x)": Fn(lambda m, x: torch.mul(m.gamma, x), gamma=torch.full((c, 1, 1), 1e-6)),
        "Identity": nn.Identity(), "StochasticDepth": StochasticDepth(0.1),
        # in place (issue 17: what a training step keeps depends on it; the tools count the same)
        "SiLU(inplace=True)": nn.SiLU(inplace=True), "F.silu(inplace=True)": Fn(lambda m, x: F.silu(x, inplace=True)),
        "Hardsigmoid(inplace=True)": nn.Hardsigmoid(inplace=True),
        "F.hardsigmoid(inplace=True)": Fn(lambda m, x: F.hardsigmoid(x, inplace=True)),
        "LeakyReLU(inplace=True)": nn.LeakyReLU(0.1, inplace=True),
        "F.leaky_relu(inplace=True)": Fn(lambda m, x: F.leaky_relu(x, 0.1, inplace=True)),
    }
    if c % 2 == 0:
        d["GroupNorm(2)"] = nn.GroupNorm(2, c)
        d["GroupNorm(2, affine=False)"] = nn.GroupNorm(2, c, affine=False)
        d["F.group_norm(2)"] = Fn(lambda m, x: F.group_norm(x, 2, m.g, m.b), g=torch.ones(c), b=torch.zeros(c))
    for size in ((1, 1), (2, 2), (3, 2), (h, w), (h + 2, w)):
        d[f"AdaptiveAvgPool2d({size})"] = nn.AdaptiveAvgPool2d(size)
        d[f"F.adaptive_avg_pool2d({size})"] = Fn(lambda m, x, s=size: F.adaptive_avg_pool2d(x, s))
        d[f"AdaptiveMaxPool2d({size})"] = nn.AdaptiveMaxPool2d(size)
        d[f"F.adaptive_max_pool2d({size})"] = Fn(lambda m, x, s=size: F.adaptive_max_pool2d(x, s))
    return d


#: ConvTranspose2d(C_in, C_out, kernel, stride, padding, output_padding, groups, bias, dilation)
TRANSPOSED = [(4, 6, 2, 2, 0, 0, 1, True, 1), (4, 6, 3, 2, 1, 1, 1, True, 1), (4, 6, 4, 2, 1, 0, 2, False, 1),
              (4, 4, 3, 3, 2, 2, 4, True, 1), (4, 2, (3, 2), (2, 1), (1, 0), (1, 0), 2, True, (1, 2))]


class ModernA(nn.Module):
    """tests/data/modern_a.yaml, as torch code would write it (2,794 parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.gn = nn.GroupNorm(2, 8)
        self.act = nn.PReLU(8)
        self.se_pool = nn.AdaptiveAvgPool2d(1)
        self.se_fc1, self.se_relu, self.se_fc2 = nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 8, 1)
        self.se_gate = nn.Hardsigmoid()
        self.silu = nn.SiLU()
        self.down = nn.Conv2d(8, 16, 3, 2, 1)
        self.ln = ChannelsLast(nn.LayerNorm(16, eps=1e-6))
        self.gelu = nn.GELU()
        self.pw = nn.Conv2d(16, 16, 1)
        self.layer_scale = nn.Parameter(torch.full((16, 1, 1), 1e-6))
        self.drop = StochasticDepth(0.1)
        self.leaky, self.keep = nn.LeakyReLU(0.1), nn.Identity()
        self.up1 = nn.ConvTranspose2d(16, 8, 2, 2)
        self.up2 = nn.ConvTranspose2d(8, 4, 3, 2, 1, 1)
        self.gelu_tanh = nn.GELU(approximate="tanh")
        self.pool1, self.pool2 = nn.AdaptiveAvgPool2d((5, 3)), nn.AdaptiveMaxPool2d(2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.gn(self.stem(x)))
        x = self.silu(x * self.se_gate(self.se_fc2(self.se_relu(self.se_fc1(self.se_pool(x))))))
        d = self.down(x)
        y = self.drop(self.layer_scale * self.pw(self.gelu(self.ln(d))))
        x = self.keep(self.leaky(d + y))
        x = self.pool2(self.pool1(self.gelu_tanh(self.up2(self.up1(x)))))
        return self.fc(torch.flatten(x, 1))


if __name__ == "__main__":
    rows = []
    for shape in [(1, 8, 5, 5), (2, 8, 5, 5), (1, 6, 3, 7), (2, 6, 4, 6)]:
        for label, m in ops(*shape[1:]).items():
            rows.append({"op": label, "input": list(shape), **tools(m, torch.randn(*shape))})
    for shape in [(1, 4, 5, 5), (2, 4, 3, 4)]:
        for cfg in TRANSPOSED:
            m = nn.ConvTranspose2d(*cfg)
            rows.append({"op": f"ConvTranspose2d{cfg}", "input": list(shape), **tools(m, torch.randn(*shape))})
    net = ModernA()
    for batch in (1, 2):
        rows.append({"op": "ModernA", "input": [batch, 3, 16, 16], "params": sum(p.numel() for p in net.parameters()),
                     **tools(net, torch.randn(batch, 3, 16, 16))})
    sys.stdout.write("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
