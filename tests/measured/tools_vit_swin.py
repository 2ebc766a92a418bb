"""What each counting tool prints for torchvision's vit_b_16 and swin_t, at 224 x 224, batch 1.

Run by hand in the torchvision environment (the default suite never imports torch):

    /work/venvs/tv/bin/python tests/measured/tools_vit_swin.py [vit_b_16 swin_t]

The same calls as tools_kinds_b.py (defaults of each tool, model in eval mode).
tests/test_profiles_kinds_b.py pins the printed totals.
"""

from __future__ import annotations

import sys

import torch
import torchvision
from tools_kinds_b import tools  # the same directory


def main() -> None:
    names = sys.argv[1:] or ["vit_b_16", "swin_t"]
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    for name in names:
        model = getattr(torchvision.models, name)()
        params = sum(p.numel() for p in model.parameters())
        figures = tools(model, (1, 3, 224, 224))
        print(f"{name} | params {params} | " + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
