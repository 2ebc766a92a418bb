"""ConvNeXt as torchvision 0.29's models/convnext.py builds it: the stem and the downsampling layers
normalise with LayerNorm2d (nn.LayerNorm's subclass that permutes and calls F.layer_norm), each CNBlock
with nn.LayerNorm between two Permute modules, its layer scale is `self.layer_scale * x` and its
residual `result += input`."""

from functools import partial

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .tvops import Permute, StochasticDepth


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Conv2dNormActivation(nn.Sequential):
    """torchvision.ops.misc.Conv2dNormActivation as ConvNeXt's stem uses it: conv (bias), norm, no activation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 norm_layer: type[nn.Module]) -> None:
        super().__init__(nn.Conv2d(in_channels, out_channels, kernel_size, stride, 0, bias=True),
                         norm_layer(out_channels))
        self.out_channels = out_channels


class CNBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: Tensor) -> Tensor:
        result = self.layer_scale * self.block(input)
        result = self.stochastic_depth(result)
        result += input
        return result


class ConvNeXt(nn.Module):
    def __init__(self, block_setting: list[tuple[int, int | None, int]], stochastic_depth_prob: float = 0.0,
                 layer_scale: float = 1e-6, num_classes: int = 1000) -> None:
        super().__init__()
        norm_layer = partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [Conv2dNormActivation(3, block_setting[0][0], 4, 4, norm_layer)]
        total_stage_blocks = sum(n for _, _, n in block_setting)
        stage_block_id = 0
        for cin, cout, n in block_setting:
            stage: list[nn.Module] = []
            for _ in range(n):
                sd_prob = stochastic_depth_prob * stage_block_id / (total_stage_blocks - 1.0)
                stage.append(CNBlock(cin, layer_scale, sd_prob))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if cout is not None:
                layers.append(nn.Sequential(norm_layer(cin), nn.Conv2d(cin, cout, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1][1] or block_setting[-1][0]
        self.classifier = nn.Sequential(norm_layer(last), nn.Flatten(1), nn.Linear(last, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        return self.classifier(x)


def _widths(c: int, deep: int) -> list[tuple[int, int | None, int]]:
    return [(c, 2 * c, 3), (2 * c, 4 * c, 3), (4 * c, 8 * c, deep), (8 * c, None, 3)]


def convnext_tiny() -> ConvNeXt:
    return ConvNeXt(_widths(96, 9), 0.1)


def convnext_small() -> ConvNeXt:
    return ConvNeXt(_widths(96, 27), 0.4)


def convnext_base() -> ConvNeXt:
    return ConvNeXt(_widths(128, 27), 0.5)


def convnext_large() -> ConvNeXt:
    return ConvNeXt(_widths(192, 27), 0.5)
