"""Plain-torch models of the zoo specs that no library ships, as their specs describe them: LeNet-5
(specs/lenet5.yaml), MobileNet v1 (specs/mobilenet_v1.yaml) and the 34-layer plain network
(specs/plain34.yaml). Module names follow the specs' layer names. `softmax=True` ends the network in
nn.Softmax(dim=1), as the specs' `--set softmax=true` does."""

from collections import OrderedDict

import torch
import torch.nn as nn
from torch import Tensor


class LeNet5(nn.Module):
    """conv 5x5 -> tanh -> avg pool 2 (twice), then 400 -> 120 -> 84 -> 10 with tanh between."""

    def __init__(self, num_classes: int = 10, softmax: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.tanh1 = nn.Tanh()
        self.pool1 = nn.AvgPool2d(2, stride=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.tanh2 = nn.Tanh()
        self.pool2 = nn.AvgPool2d(2, stride=2)
        self.fc1 = nn.Linear(400, 120)
        self.tanh3 = nn.Tanh()
        self.fc2 = nn.Linear(120, 84)
        self.tanh4 = nn.Tanh()
        self.fc3 = nn.Linear(84, num_classes)
        self.softmax = nn.Softmax(dim=1) if softmax else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool1(self.tanh1(self.conv1(x)))
        x = self.pool2(self.tanh2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.tanh3(self.fc1(x))
        x = self.tanh4(self.fc2(x))
        x = self.fc3(x)
        return self.softmax(x) if self.softmax is not None else x


class DepthwiseSeparable(nn.Module):
    """The spec's `dwsep` block: 3x3 depthwise + BN + ReLU, 1x1 pointwise + BN + ReLU, no conv bias."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        # padding 1: the spec's TensorFlow `same` gives the same output size at 224 (ceil(H / stride))
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.dw_bn = nn.BatchNorm2d(cin)
        self.dw_relu = nn.ReLU(inplace=True)
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(cout)
        self.pw_relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.dw_relu(self.dw_bn(self.dw(x)))
        return self.pw_relu(self.pw_bn(self.pw(x)))


class MobileNetV1(nn.Module):
    """Howard et al. 2017, Table 1, with width multiplier alpha (int(c * alpha), Keras' rounding)."""

    BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
              (512, 1), (1024, 2), (1024, 1))

    def __init__(self, num_classes: int = 1000, alpha: float = 1.0, softmax: bool = False) -> None:
        super().__init__()
        c = int(32 * alpha)
        self.conv1 = nn.Conv2d(3, c, 3, 2, 1, bias=False)
        self.conv1_bn = nn.BatchNorm2d(c)
        self.conv1_relu = nn.ReLU(inplace=True)
        for i, (filters, stride) in enumerate(self.BLOCKS, 1):
            self.add_module(f"block{i}", DepthwiseSeparable(c, int(filters * alpha), stride))
            c = int(filters * alpha)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c, num_classes)
        self.softmax = nn.Softmax(dim=1) if softmax else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1_relu(self.conv1_bn(self.conv1(x)))
        for i in range(1, len(self.BLOCKS) + 1):
            x = getattr(self, f"block{i}")(x)
        x = torch.flatten(self.pool(x), 1)
        x = self.fc(x)
        return self.softmax(x) if self.softmax is not None else x


class ConvBNReLU(nn.Sequential):
    """The spec's `conv_bn_relu` block: a 3x3 convolution without bias, BatchNorm, ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(OrderedDict(conv=nn.Conv2d(cin, cout, 3, stride, 1, bias=False), bn=nn.BatchNorm2d(cout),
                                     relu=nn.ReLU(inplace=True)))


class Plain34(nn.Module):
    """He et al. 2015, Figure 3 (middle): ResNet-34's layers without a shortcut."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        cin = 64
        for i, (filters, n, stride) in enumerate(((64, 6, 1), (128, 8, 2), (256, 12, 2), (512, 6, 2)), 1):
            stage = OrderedDict((f"conv{j}", ConvBNReLU(cin if j == 1 else filters, filters, stride if j == 1 else 1))
                                for j in range(1, n + 1))
            self.add_module(f"layer{i}", nn.Sequential(stage))
            cin = filters
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def lenet5(**kwargs) -> LeNet5:
    return LeNet5(**kwargs)


def mobilenet_v1(**kwargs) -> MobileNetV1:
    return MobileNetV1(**kwargs)


def plain34(**kwargs) -> Plain34:
    return Plain34(**kwargs)
