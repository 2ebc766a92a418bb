"""EfficientNet B0-B7 as torchvision 0.29's models/efficientnet.py builds them: MBConv blocks of
Conv2dNormActivation (SiLU), SqueezeExcitation (SiLU, Sigmoid, `scale * input`) and, where the block is
residual, StochasticDepth then `result += input`; the stages as features.1 ... features.7."""

import copy
import math
from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor, nn

from .tvops import Conv2dNormActivation, SqueezeExcitation, StochasticDepth, _make_divisible


class MBConvConfig:
    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int, out_channels: int,
                 num_layers: int, width_mult: float = 1.0, depth_mult: float = 1.0) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = _make_divisible(input_channels * width_mult, 8)
        self.out_channels = _make_divisible(out_channels * width_mult, 8)
        self.num_layers = int(math.ceil(num_layers * depth_mult))


class MBConv(nn.Module):
    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float, norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = SqueezeExcitation) -> None:
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        activation_layer = nn.SiLU
        expanded_channels = _make_divisible(cnf.input_channels * cnf.expand_ratio, 8)
        if expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=activation_layer))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels, kernel_size=cnf.kernel,
                                           stride=cnf.stride, groups=expanded_channels, norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded_channels, squeeze_channels, activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += input
        return result


class EfficientNet(nn.Module):
    def __init__(self, inverted_residual_setting: list[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        layers: list[nn.Module] = []
        firstconv_output_channels = inverted_residual_setting[0].input_channels
        layers.append(Conv2dNormActivation(3, firstconv_output_channels, kernel_size=3, stride=2,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        total_stage_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        stage_block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
                stage.append(MBConv(block_cnf, sd_prob, norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = 4 * lastconv_input_channels
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_output_channels, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def _efficientnet(width_mult: float, depth_mult: float, dropout: float, **kwargs) -> EfficientNet:
    c = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    setting = [c(1, 3, 1, 32, 16, 1), c(6, 3, 2, 16, 24, 2), c(6, 5, 2, 24, 40, 2), c(6, 3, 2, 40, 80, 3),
               c(6, 5, 1, 80, 112, 3), c(6, 5, 2, 112, 192, 4), c(6, 3, 1, 192, 320, 1)]
    return EfficientNet(setting, dropout, **kwargs)


_BN_B5_ON = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


def efficientnet_b0(**kwargs) -> EfficientNet:
    return _efficientnet(1.0, 1.0, 0.2, **kwargs)


def efficientnet_b1(**kwargs) -> EfficientNet:
    return _efficientnet(1.0, 1.1, 0.2, **kwargs)


def efficientnet_b2(**kwargs) -> EfficientNet:
    return _efficientnet(1.1, 1.2, 0.3, **kwargs)


def efficientnet_b3(**kwargs) -> EfficientNet:
    return _efficientnet(1.2, 1.4, 0.3, **kwargs)


def efficientnet_b4(**kwargs) -> EfficientNet:
    return _efficientnet(1.4, 1.8, 0.4, **kwargs)


def efficientnet_b5(**kwargs) -> EfficientNet:
    return _efficientnet(1.6, 2.2, 0.4, norm_layer=_BN_B5_ON, **kwargs)


def efficientnet_b6(**kwargs) -> EfficientNet:
    return _efficientnet(1.8, 2.6, 0.5, norm_layer=_BN_B5_ON, **kwargs)


def efficientnet_b7(**kwargs) -> EfficientNet:
    return _efficientnet(2.0, 3.1, 0.5, norm_layer=_BN_B5_ON, **kwargs)
