"""The peak memory of a training step on the CPU, beside archcalc's liveness model (a check, not a pin).

Run by hand with CI's torch (2.13, CPU) and archcalc importable:

    /work/venvs/t213/bin/python tests/measured/peak_cpu.py resnet18:4 resnet50:4 mobilenet_v2:4 vgg16:2

torch has no allocator statistics on the CPU, so this reads glibc's (mallinfo2: bytes in use, mmapped
blocks included) after every aten op of one step (a TorchDispatchMode sees the backward's ops too):
the forward, `out.sum().backward()` and SGD with momentum's step, after a first step made the momentum
buffers and `zero_grad(set_to_none=True)` dropped the gradients. The baseline before the step holds
the parameters, buffers, momentum buffers and the batch; the peak above it is set beside archcalc's peak
less what the baseline holds (parameters, buffers, optimizer state, the batch). An op's own temporaries
and glibc's rounding make the two differ a little; docs/training.md quotes the outcome.
"""

from __future__ import annotations

import ctypes
import gc
import math
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
from torchref import NETWORKS  # noqa: E402

import archcalc  # noqa: E402
from archcalc import training  # noqa: E402


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]


_libc = ctypes.CDLL("libc.so.6")
_libc.mallinfo2.restype = _Mallinfo2


def in_use() -> int:
    m = _libc.mallinfo2()
    return m.uordblks + m.hblkhd


class Track(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, in_use())
        return out


def measure(name: str, batch: int) -> tuple[int, int]:
    net = NETWORKS[name]
    model = net.model().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch, *net.input)
    model(x).sum().backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    gc.collect()
    base = in_use()
    t = Track()
    with t:
        model(x).sum().backward()
        opt.step()
    an = archcalc.analyze(ROOT / "specs" / net.spec, overrides=net.overrides, variant=net.variant, batch=batch,
                          training=True)
    s = training.step(an, training.Options("momentum"))
    held = s.param_bytes + s.buffer_bytes + s.optimizer_bytes + math.prod(an.input_shape) * batch * 4
    return t.peak - base, s.peak.bytes - held


def main() -> int:
    torch.set_num_threads(1)
    for arg in sys.argv[1:] or ["resnet18:4"]:
        name, _, b = arg.partition(":")
        measured, model = measure(name, int(b or 1))
        print(f"{name} batch {b}: measured {measured:,} B above the baseline, archcalc {model:,} B "
              f"({100 * (model - measured) / measured:+.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
