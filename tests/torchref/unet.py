"""U-Net (Ronneberger et al. 2015, Figure 1) in plain torch, built as specs/unet.yaml says: no
torchvision model exists, so this copy is the spec's own torch model, module for layer (enc1 ... enc5,
pool1 ... pool4, up4 ... up1, dec4 ... dec1, out), ReLUs as nn.ReLU modules, the copy and crop as a
centred slice x[:, :, t:t + h, l:l + w] (the `crop` kind's torch op) and torch.cat([copy, up], 1)."""

import torch
from torch import Tensor, nn


class DoubleConv(nn.Sequential):
    """Two unpadded 3x3 convolutions, each followed by a ReLU (the spec's `double_conv` block)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3)
        self.relu2 = nn.ReLU(inplace=True)


def crop(x: Tensor, like: Tensor) -> Tensor:
    """The centre of x with like's H x W: floor((H - h)/2) rows off the top, as the `crop` kind."""
    h, w = like.shape[-2:]
    t, l = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[:, :, t:t + h, l:l + w]


class UNet(nn.Module):
    def __init__(self, channels: int = 1, classes: int = 2, width: int = 64) -> None:
        super().__init__()
        w = [width * 2**i for i in range(5)]  # 64, 128, 256, 512, 1024
        self.enc1 = DoubleConv(channels, w[0])
        self.pool1 = nn.MaxPool2d(2)
        self.enc2 = DoubleConv(w[0], w[1])
        self.pool2 = nn.MaxPool2d(2)
        self.enc3 = DoubleConv(w[1], w[2])
        self.pool3 = nn.MaxPool2d(2)
        self.enc4 = DoubleConv(w[2], w[3])
        self.pool4 = nn.MaxPool2d(2)
        self.enc5 = DoubleConv(w[3], w[4])
        self.up4 = nn.ConvTranspose2d(w[4], w[3], 2, stride=2)
        self.dec4 = DoubleConv(w[4], w[3])
        self.up3 = nn.ConvTranspose2d(w[3], w[2], 2, stride=2)
        self.dec3 = DoubleConv(w[3], w[2])
        self.up2 = nn.ConvTranspose2d(w[2], w[1], 2, stride=2)
        self.dec2 = DoubleConv(w[2], w[1])
        self.up1 = nn.ConvTranspose2d(w[1], w[0], 2, stride=2)
        self.dec1 = DoubleConv(w[1], w[0])
        self.out = nn.Conv2d(w[0], classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool1(e1))
        e3 = self.enc3(self.pool2(e2))
        e4 = self.enc4(self.pool3(e3))
        x = self.enc5(self.pool4(e4))
        for up, dec, skip in ((self.up4, self.dec4, e4), (self.up3, self.dec3, e3), (self.up2, self.dec2, e2),
                              (self.up1, self.dec1, e1)):
            u = up(x)
            x = dec(torch.cat([crop(skip, u), u], 1))
        return self.out(x)


def unet() -> UNet:
    return UNet()
