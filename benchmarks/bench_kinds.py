"""The forwards of issue 14's new kinds beside torch's own ops, on the sizes the zoo networks use
(ViT-B/16, ConvNeXt-T, EfficientNet-B0, U-Net, DCGAN), one thread each, float32 (figures printed).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_kinds.py [--rounds 5] [--repeat 5]

Needs torch beside NumPy in the same interpreter (here /work/venvs/t213). Each case runs
archcalc's forward and torch's op alternately, `--rounds` times `--repeat` calls, and keeps the
best of each (on a shared machine a neighbour's load only ever slows a run down). Printed:
milliseconds of each and archcalc's over torch's.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from archcalc.forward import FORWARDS, Tally  # noqa: E402
from archcalc.kinds import REGISTRY  # noqa: E402


def kind(name: str, **values: Any) -> Any:
    cls = REGISTRY[name]
    d = {k: (f.convert(f.default, {}) if f.type in ("pair", "padding") else f.default)
         for k, f in cls.fields.items() if not f.required}
    return cls(**{**d, **values})


def cases(torch: Any) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(label, archcalc's forward, torch's op) on the same sizes (NHWC here, NCHW there)."""
    F, nn = torch.nn.functional, torch.nn
    rng = np.random.default_rng(0)
    out = []

    def case(label: str, name: str, fields: dict, shapes: list, weights: dict, op: Callable, *targs: Any) -> None:
        """weights: name -> shape (standard normal values), or (value, *shape) for a constant."""
        k, fw = kind(name, **fields), FORWARDS[name]
        xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        ws = {n: (np.full(s[1:], s[0], np.float32) if isinstance(s[0], float) else
                  rng.standard_normal(s).astype(np.float32)) for n, s in weights.items()}
        out.append((label, lambda: fw.run(Tally(), k, xs, ws), lambda: op(*targs)))

    r = torch.randn
    seq, vit_mlp, cn_mlp, eff = r(1, 197, 768), r(1, 197, 3072), r(1, 384, 56, 56), r(1, 96, 112, 112)
    case("gelu, ViT-B/16 MLP 197 x 3072", "gelu", {}, [(1, 197, 3072)], {}, F.gelu, vit_mlp)
    case("gelu, ConvNeXt-T stage 1 56 x 56 x 384", "gelu", {}, [(1, 56, 56, 384)], {}, F.gelu, cn_mlp)
    case("gelu tanh, 197 x 3072", "gelu", {"approximate": "tanh"}, [(1, 197, 3072)], {},
         lambda v: F.gelu(v, approximate="tanh"), vit_mlp)
    case("silu, EfficientNet-B0 112 x 112 x 96", "silu", {}, [(1, 112, 112, 96)], {}, F.silu, eff)
    case("hardsigmoid 56 x 56 x 96", "hardsigmoid", {}, [(1, 56, 56, 96)], {}, F.hardsigmoid, cn_mlp[:, :96])
    case("leakyrelu 112 x 112 x 96", "leakyrelu", {"slope": Fraction(1, 10)}, [(1, 112, 112, 96)], {},
         lambda v: F.leaky_relu(v, 0.1), eff)
    prelu = nn.PReLU(96)
    case("prelu per channel 112 x 112 x 96", "prelu", {"per_channel": True}, [(1, 112, 112, 96)],
         {"slope": (0.25, 96)}, prelu, eff)  # torch's initial slope, 0.25
    case("multiply, SE gate 112 x 112 x 96", "multiply", {}, [(1, 112, 112, 96), (1, 1, 1, 96)], {},
         lambda a, b: a * b, eff, r(1, 96, 1, 1))
    ln = nn.LayerNorm(768)
    case("layernorm, ViT-B/16 197 x 768", "layernorm", {}, [(1, 197, 768)], {"gamma": (768,), "beta": (768,)},
         ln, seq)
    ln96 = nn.LayerNorm(96)
    case("layernorm over C, ConvNeXt-T 56 x 56 x 96", "layernorm", {}, [(1, 56, 56, 96)],
         {"gamma": (96,), "beta": (96,)}, lambda v: ln96(v.permute(0, 2, 3, 1)).permute(0, 3, 1, 2),
         r(1, 96, 56, 56))
    gn = nn.GroupNorm(32, 256)
    case("groupnorm 32 groups, 56 x 56 x 256", "groupnorm", {"groups": 32}, [(1, 56, 56, 256)],
         {"gamma": (256,), "beta": (256,)}, gn, r(1, 256, 56, 56))
    case("scale, ConvNeXt-T 56 x 56 x 96", "scale", {}, [(1, 56, 56, 96)], {"gamma": (96,)},
         lambda g, v: g * v, r(96, 1, 1), r(1, 96, 56, 56))
    up = nn.ConvTranspose2d(512, 256, 2, 2)
    case("convtranspose 2 x 2 s2, U-Net 28 x 28 x 512 -> 256", "convtranspose",
         {"filters": 256, "kernel": (2, 2), "stride": (2, 2)}, [(1, 28, 28, 512)],
         {"kernel": (2, 2, 256, 512), "bias": (256,)}, up, r(1, 512, 28, 28))
    dc = nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False)
    case("convtranspose 4 x 4 s2 p1, DCGAN 8 x 8 x 256 -> 128", "convtranspose",
         {"filters": 128, "kernel": (4, 4), "stride": (2, 2), "padding": 1, "bias": False}, [(1, 8, 8, 256)],
         {"kernel": (4, 4, 128, 256)}, dc, r(1, 256, 8, 8))
    case("adaptiveavgpool 13 x 13 x 256 -> 6 x 6", "adaptiveavgpool", {"size": (6, 6)}, [(1, 13, 13, 256)], {},
         lambda v: F.adaptive_avg_pool2d(v, 6), r(1, 256, 13, 13))
    case("adaptivemaxpool 14 x 14 x 512 -> 7 x 7", "adaptivemaxpool", {"size": (7, 7)}, [(1, 14, 14, 512)], {},
         lambda v: F.adaptive_max_pool2d(v, 7), r(1, 512, 14, 14))
    return out


def best(f: Callable[[], Any], repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        f()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    with torch.no_grad():
        print(f"{'case':52} {'archcalc ms':>11} {'torch ms':>9} {'ratio':>6}")
        for label, ours, theirs in cases(torch):
            ours(), theirs()  # warm up
            a = b = float("inf")
            for _ in range(args.rounds):
                a = min(a, best(ours, args.repeat))
                b = min(b, best(theirs, args.repeat))
            print(f"{label:52} {a * 1e3:11.3f} {b * 1e3:9.3f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
