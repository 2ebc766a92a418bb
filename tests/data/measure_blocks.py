"""torchvision's own blocks on deterministic inputs and weights, for tests/test_modern_blocks.py to pin.
Not a test. Run with torch and torchvision (here torch 2.14.1 and torchvision 0.29.1, /work/venvs/tv):

    python tests/data/measure_blocks.py

Values are sin(a·i + b)·s in row-major order of torch's own array shapes (the tests rebuild them
and move them to archcalc's layouts); everything in float64.
"""

import numpy as np
import torch
from torch import nn
from torchvision.models import convnext_tiny
from torchvision.models.convnext import CNBlock
from torchvision.ops.misc import SqueezeExcitation

torch.set_num_threads(1)


def det(shape: tuple[int, ...], a: float, b: float, s: float) -> torch.Tensor:
    n = int(np.prod(shape))
    return torch.tensor(np.sin(np.arange(n) * a + b) * s, dtype=torch.float64).reshape(shape)


def fill(module: nn.Module) -> None:
    """Every parameter, in named_parameters order k = 0, 1, ...: det(shape, 0.3 + 0.07·k, 0.1·k, 0.5)."""
    with torch.no_grad():
        for k, (_, p) in enumerate(module.named_parameters()):
            p.copy_(det(tuple(p.shape), 0.3 + 0.07 * k, 0.1 * k, 0.5))


def summary(y: torch.Tensor) -> tuple[float, ...]:
    v = y.detach().numpy().ravel()
    return (float(v.sum()), float(np.abs(v).sum()), float(v[0]), float(v[len(v) // 2]), float(v[-1]))


if __name__ == "__main__":
    x = det((2, 16, 9, 7), 0.37, 0.1, 3.0)
    for gate in (nn.Sigmoid, nn.Hardsigmoid):
        se = SqueezeExcitation(16, 8, scale_activation=gate).double().eval()
        fill(se)
        print(f"SqueezeExcitation(16, 8, scale_activation={gate.__name__}):",
              [n for n, _ in se.named_parameters()], sum(p.numel() for p in se.parameters()), summary(se(x)))
    block = CNBlock(16, layer_scale=1e-6, stochastic_depth_prob=0.1).double().eval()
    fill(block)
    with torch.no_grad():
        block.layer_scale.fill_(0.5)  # 1e-6 in a fresh model: the block would hide behind its residual
    print("CNBlock(16, 1e-6, 0.1):", [n for n, _ in block.named_parameters()],
          sum(p.numel() for p in block.parameters()), summary(block(x)))
    tiny = convnext_tiny()
    print("convnext_tiny: features[0][1]", type(tiny.features[0][1]).__name__,
          sum(p.numel() for p in tiny.features[0][1].parameters()),
          "features[1][0].layer_scale", tiny.features[1][0].layer_scale.numel(),
          "features[1][0] block", sum(p.numel() for p in tiny.features[1][0].parameters()),
          "total", sum(p.numel() for p in tiny.parameters()))
