"""Executor speed and memory on VGG-16, ResNet-50 and MobileNetV2 at 224 x 224, batch 1 (figures printed).

    PYTHONPATH=. python benchmarks/bench_executor.py [--repeat 5] [--specs DIR]

For each network: best-of-N milliseconds, achieved GFLOP/s (2 x MACs / time), and that as a
ratio to the NumPy matmul throughput (2048 x 2048 float32) measured in the same run; peak RSS
(each network in its own process) against parameters plus the largest pair of live activations.
Targets (issue 5): VGG-16 >= 0.70 of matmul, ResNet-50 >= 0.50, MobileNetV2 within 2x of what
its MACs would cost at ResNet-50's rate. Specs that are absent are skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETS = [("VGG-16", "specs/vgg16.yaml"), ("ResNet-50", "specs/resnet50.yaml"),
        ("MobileNetV2", "specs/mobilenet_v2.yaml")]


def matmul_gflops(repeat: int) -> float:
    import numpy as np
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeat))
    return 2 * 2048**3 / best / 1e9


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def one(path: str, repeat: int) -> dict:
    """Run in a child process: best time, MACs, peak RSS, parameter and activation bytes."""
    import resource

    import archcalc
    from archcalc.execute import execute
    an = archcalc.analyze(ROOT / path, input_shape=(224, 224, 3), batch=1)
    best = min(execute(an.graph, seed=0, keep=False).seconds for _ in range(repeat))
    ex = execute(an.graph, keep=False)
    sizes = [r.activation_elems * 4 for r in an.rows]
    pair = sum(sorted(sizes)[-2:])
    return {"seconds": best, "macs": ex.macs, "analytic_macs": an.totals.macs,
            "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "params_bytes": ex.param_bytes, "pair": pair}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--specs", type=Path, help="Also look for missing specs (by file name) in this folder.")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.repeat)))
        return
    mm = matmul_gflops(args.repeat)
    print(f"numpy matmul 2048x2048 float32: {mm:.1f} GFLOP/s")
    rates: dict[str, float] = {}
    macs_of: dict[str, int] = {}
    for name, path in NETS:
        if not (ROOT / path).exists():
            alt = args.specs / Path(path).name if args.specs else None
            if alt is None or not alt.exists():
                print(f"{name:<12} skipped: {path} is not in this checkout")
                continue
            path = str(alt.resolve())
        p = subprocess.run([sys.executable, __file__, "--child", path, "--repeat", str(args.repeat)],
                           capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
        if p.returncode:
            print(f"{name:<12} failed: {p.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(p.stdout)
        gf = 2 * r["macs"] / r["seconds"] / 1e9
        rates[name], macs_of[name] = gf, r["macs"]
        mem_ratio = r["rss"] / (r["params_bytes"] + r["pair"])
        print(f"{name:<12} {r['seconds'] * 1e3:8.1f} ms  {gf:6.1f} GFLOP/s  {gf / mm:5.2f} x matmul  "
              f"peak RSS {r['rss'] / 2**20:7.1f} MiB = {mem_ratio:.2f} x (params + largest activation pair)"
              + ("" if r["macs"] == r["analytic_macs"] else "  MACs DISAGREE"))
    if "MobileNetV2" in rates and "ResNet-50" in rates:
        at_resnet = 2 * macs_of["MobileNetV2"] / rates["ResNet-50"] / 1e9
        actual = 2 * macs_of["MobileNetV2"] / rates["MobileNetV2"] / 1e9
        print(f"MobileNetV2 takes {actual / at_resnet:.2f} x what its MACs would cost at ResNet-50's rate")


if __name__ == "__main__":
    main()
