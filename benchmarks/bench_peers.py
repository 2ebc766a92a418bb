"""archcalc against the usual way, side by side: a fresh process that imports torch, builds
ResNet-50 and summarises it with torchinfo, and `archcalc summarize specs/resnet50.yaml`.

archcalc does not need torch, and its project never installs it: give this script a Python
that has torch and torchinfo (for example a venv made with `pip install torch==2.13.0
torchinfo numpy`). ResNet-50 is written here in plain torch (torchvision has no CPU build on this
machine); the script checks that torchinfo counts 25,557,032 parameters, torchvision's figure.

    python benchmarks/bench_peers.py --torch-python /path/to/venv/bin/python [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from fresh import timed

RESNET50 = r"""
import torch, torchinfo
from torch import nn

class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride, down):
        super().__init__()
        cout = width * 4
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) \
            if down else None

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + idt)

def resnet50():
    layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                   nn.MaxPool2d(3, 2, 1)], 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(Bottleneck(cin, width, stride if i == 0 else 1, i == 0))
            cin = width * 4
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))

s = torchinfo.summary(resnet50(), input_size=(1, 3, 224, 224), verbose=0)
print(s.trainable_params, s.total_mult_adds)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--torch-python", required=True, help="a Python with torch and torchinfo installed")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cmds = {
        "floor: import click, rich, yaml": [sys.executable, "-c", "import click, rich, yaml"],
        "import torch": [args.torch_python, "-c", "import torch"],
        "torch + torchinfo: ResNet-50": [args.torch_python, "-c", RESNET50],
        "archcalc summarize resnet50": [sys.executable, "-m", "archcalc", "summarize", "specs/resnet50.yaml"],
    }
    out = timed(cmds["torch + torchinfo: ResNet-50"])[1].split()
    if int(out[0]) != 25_557_032:
        sys.exit(f"the torch ResNet-50 here has {out[0]} trainable parameters, not torchvision's 25,557,032")
    print(f"torchinfo: {int(out[0]):,} trainable parameters, {int(out[1]):,} mult-adds (issue 8: 4,089,238,376)")
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(args.runs):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd)[0])
    ours = statistics.median(times["archcalc summarize resnet50"])
    print(f"{'command':34} {'median s':>9} {'x archcalc':>11}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:34} {med:9.3f} {med / ours:11.1f}")
    print(f"({args.runs} alternating runs in fresh processes, medians)")


if __name__ == "__main__":
    main()
