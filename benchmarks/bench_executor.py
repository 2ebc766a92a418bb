"""The NumPy executor against torch's CPU forward, side by side, and its speed and memory (figures printed).

    PYTHONPATH=. python benchmarks/bench_executor.py --torch-python /path/to/python-with-torch
        [--threads 1] [--rounds 3] [--repeat 5] [--nets vgg16,resnet50,...] [--net NAME=SPEC] [--by-kind]

The networks (issue 14): VGG-16, ResNet-50, MobileNetV2, EfficientNet-B0 and ViT-B/16 at 224 x 224,
batch 1, float32, named as the torch reference registry names them (tests/torchref: `NETWORKS`). A
registered network is run from its spec (and variant) on archcalc's side and from its plain-torch
copy on torch's; one that is not registered yet is taken from the zoo by name (`--net NAME=SPEC`
gives any other spec), and its torch side is reported as missing.

Every measurement runs in a fresh child process, `--rounds` times, interleaved (archcalc's forward
of a network, then torch's, then the next network...); each child keeps the best of `--repeat`
forwards, and the best child is kept: on a shared machine a neighbour's load only ever slows a
run down. Children inherit the caller's environment; `--threads` (default 1) sets the BLAS and
OpenMP thread counts in both (OPENBLAS/OMP/MKL_NUM_THREADS) and `torch.set_num_threads` in torch's.
torch's side runs in the Python given by `--torch-python` (default: this one, if it has torch),
under `torch.inference_mode()`, in its default (contiguous NCHW) layout. Without a torch the
benchmark says so and prints archcalc's figures alone.

Printed: per network, archcalc's and torch's best milliseconds and their ratio beside issue 14's
target (at most 1.2x), and beside them the least CPU time of a forward on each side (the calling
thread's, time.thread_time: what the forward costs apart from waiting for a CPU that neighbours
share); the executed MACs are checked against the analysis. Then issue 5's figures:
GFLOP/s (2 x executed MACs / time) as a fraction of NumPy's 2048 x 2048 float32 matmul measured
the same way (VGG-16 >= 0.70, ResNet-50 >= 0.50), MobileNetV2's time over what its MACs would
take at ResNet-50's rate (<= 2.0), and the growth of peak RSS on the first forward of a fresh
process over parameters plus the two largest activations (<= 1.5): VmHWM after resetting it
through /proc/self/clear_refs, over the RSS right before the executor starts (interpreter,
NumPy, archcalc and a warmed-up BLAS already loaded); where that is not allowed, ru_maxrss, an
upper bound. `--by-kind` adds archcalc's milliseconds per layer kind of each network's best run.
The load average before and after is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

#: (label, name in the torch reference registry, zoo name to use until the registry has it)
NETS = [("VGG-16", "vgg16", "vgg16"), ("ResNet-50", "resnet50", "resnet50"),
        ("MobileNetV2", "mobilenet_v2", "mobilenet_v2"),
        ("EfficientNet-B0", "efficientnet_b0", "efficientnet@efficientnet_b0"),
        ("ViT-B/16", "vit_b_16", "vit@vit_b_16")]
TARGET_OF_TORCH = 1.2      # x torch's forward, at most (issue 14)
TARGET_OF_MATMUL = {"vgg16": 0.70, "resnet50": 0.50}   # issue 5
TARGET_MOBILENET = 2.0     # x the time its MACs would take at ResNet-50's rate, at most (issue 5)
TARGET_RSS = 1.5           # x (parameters + the two largest activations), at most (issue 5)
RESOLUTION = 224


def _status(key: str) -> int | None:
    """A /proc/self/status figure in bytes (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _registry() -> dict:
    """The torch reference registry (importing it does not import torch)."""
    sys.path.insert(0, str(TESTS))
    try:
        from torchref import NETWORKS
    except ImportError:
        return {}
    finally:
        sys.path.remove(str(TESTS))
    return NETWORKS


# --- children ---------------------------------------------------------------------------------

def child_matmul(repeat: int) -> dict:
    import numpy as np
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        np.matmul(a, a, out=out)
        best = min(best, time.perf_counter() - t)
    return {"seconds": best}


def child_archcalc(spec: str, repeat: int) -> dict:
    """First forward of a fresh process for memory, then the best of `repeat` for time."""
    import resource

    import numpy as np

    import archcalc
    from archcalc.execute import execute, retain_freed_memory
    retain_freed_memory()  # as `archcalc run` does
    an = archcalc.analyze(spec, input_shape=(RESOLUTION, RESOLUTION, 3), batch=1)
    w = np.ones((256, 256), np.float32)
    w @ w  # BLAS starts its threads and allocates its buffers: part of the baseline, like the imports
    del w
    base = _status("VmRSS")
    exact = _reset_peak() and base is not None
    if not exact:
        base = base or 0
    ex = execute(an.graph, keep=False)
    peak = _status("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    best, cpu = ex, ex.cpu_seconds
    for _ in range(repeat - 1):
        e = execute(an.graph, keep=False)
        cpu = min(cpu, e.cpu_seconds)
        if e.seconds < best.seconds:
            best = e
    kinds: dict[str, float] = {}
    for r in best.layers:
        kinds[r.kind] = kinds.get(r.kind, 0.0) + r.seconds
    sizes = sorted(r.activation_elems * an.batch * 4 for r in an.rows)
    return {"seconds": best.seconds, "cpu": cpu, "macs": ex.macs, "analytic_macs": an.totals.macs,
            "growth": peak - base,
            "exact_rss": exact, "params_bytes": ex.param_bytes, "pair": sum(sizes[-2:]),
            "estimate": ex.peak_estimate, "kinds": kinds}


def child_torch(name: str, repeat: int, threads: int) -> dict:
    """The registry's plain-torch copy, best of `repeat` forwards after one to warm up."""
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, str(TESTS))
    from torchref import NETWORKS
    net = NETWORKS[name]
    model = net.model()
    x = torch.randn(1, net.input[0], RESOLUTION, RESOLUTION, generator=torch.Generator().manual_seed(0))
    best = cpu = float("inf")
    with torch.inference_mode():
        model(x)
        for _ in range(repeat):
            t, c = time.perf_counter(), time.thread_time()
            model(x)
            best, cpu = min(best, time.perf_counter() - t), min(cpu, time.thread_time() - c)
    return {"seconds": best, "cpu": cpu, "version": torch.__version__, "threads": torch.get_num_threads()}


# --- the parent --------------------------------------------------------------------------------

def _env(threads: int) -> dict[str, str]:
    """The caller's environment, with this checkout first on the path and the thread counts set."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def _child(python: str, args: list[str], threads: int) -> dict:
    p = subprocess.run([python, __file__, *args, "--threads", str(threads)], capture_output=True, text=True,
                       cwd=ROOT, env=_env(threads))
    if p.returncode:
        raise RuntimeError((p.stderr.strip().splitlines() or ["(no message)"])[-1])
    return json.loads(p.stdout.strip().splitlines()[-1])


def _torch_python(given: str | None) -> tuple[str | None, str]:
    """The Python that runs torch's side, or None and why not."""
    python = given or sys.executable
    p = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    if p.returncode:
        why = "no --torch-python given, and this Python has no torch" if given is None else \
            f"{python} cannot import torch"
        return None, why
    return python, p.stdout.strip()


def _spec_of(name: str, zoo_name: str, registry: dict, given: dict[str, str], specs_dir: Path | None) -> str | None:
    """archcalc's spec for a network: --net's, the registry's (spec@variant), else the zoo's by name."""
    if name in given:
        return given[name]
    if name in registry:
        net = registry[name]
        return f"specs/{net.spec}" + (f"@{net.variant}" if net.variant else "")
    from archcalc import zoo
    base, _, variant = zoo_name.partition("@")
    path = zoo.find(base)
    if path is None and specs_dir is not None:
        alt = specs_dir / f"{base}.yaml"
        path = alt if alt.exists() else None
    if path is None:
        return None
    return str(path) + (f"@{variant}" if variant else "")


def _verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--torch-python", help="a Python with torch, for torch's side (default: this one, if it has torch)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads on both sides (default 1)")
    ap.add_argument("--rounds", type=int, default=3, help="fresh processes per measurement (best kept)")
    ap.add_argument("--repeat", type=int, default=5, help="forwards (or matmuls) timed in each process")
    ap.add_argument("--nets", help="comma-separated registry names (default: the five of issue 14)")
    ap.add_argument("--net", action="append", default=[], metavar="NAME=SPEC",
                    help="archcalc's spec for a network (a path, optionally @variant)")
    ap.add_argument("--specs", type=Path, help="also look for zoo specs missing from this checkout in this folder")
    ap.add_argument("--by-kind", action="store_true", help="archcalc's milliseconds per layer kind")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        what, arg = args.child
        res = (child_matmul(args.repeat) if what == "matmul" else child_torch(arg, args.repeat, args.threads)
               if what == "torch" else child_archcalc(arg, args.repeat))
        print(json.dumps(res))
        return

    registry = _registry()
    given = dict(n.split("=", 1) for n in args.net)
    wanted = args.nets.split(",") if args.nets else [n for _, n, _ in NETS]
    labels = {n: label for label, n, _ in NETS}
    zoo_names = {n: z for _, n, z in NETS}
    torch_py, torch_about = _torch_python(args.torch_python)
    load_before = os.getloadavg()
    nets: list[tuple[str, str, bool]] = []   # (name, spec, torch copy registered)
    for name in wanted:
        spec = _spec_of(name, zoo_names.get(name, name), registry, given, args.specs)
        if spec is None:
            print(f"{labels.get(name, name):<16} skipped: no spec (not in the registry nor the zoo; --net {name}=SPEC)")
            continue
        nets.append((name, spec, name in registry))

    mm = float("inf")
    best: dict[str, dict] = {}
    torch_best: dict[str, float] = {}
    torch_cpu: dict[str, float] = {}
    failed: dict[str, str] = {}
    torch_failed: dict[str, str] = {}
    for _ in range(args.rounds):
        mm = min(mm, _child(sys.executable, ["--child", "matmul", "-", "--repeat", str(args.repeat)],
                            args.threads)["seconds"])
        for name, spec, registered in nets:
            try:
                r = _child(sys.executable, ["--child", "archcalc", spec, "--repeat", str(args.repeat)], args.threads)
            except RuntimeError as e:
                failed[name] = str(e)
            else:
                prev = best.get(name)
                if prev is None or r["seconds"] < prev["seconds"]:
                    best[name] = r
                if prev is not None:  # memory: the worst first forward, not the best; CPU: the least
                    best[name]["growth"] = max(prev["growth"], r["growth"])
                    best[name]["cpu"] = min(prev["cpu"], r["cpu"])
            if torch_py and registered and name not in torch_failed:
                try:
                    tr = _child(torch_py, ["--child", "torch", name, "--repeat", str(args.repeat)], args.threads)
                except RuntimeError as e:
                    torch_failed[name] = str(e)
                else:
                    torch_best[name] = min(torch_best.get(name, float("inf")), tr["seconds"])
                    torch_cpu[name] = min(torch_cpu.get(name, float("inf")), tr["cpu"])
                    torch_about = f"torch {tr['version']}, {tr['threads']} thread(s), {torch_py}"
    load_after = os.getloadavg()

    print(f"best of {args.rounds} fresh processes x {args.repeat} forwards, interleaved; {args.threads} "
          f"thread(s) each side (OPENBLAS/OMP/MKL_NUM_THREADS); {os.cpu_count()} CPUs; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"torch side: {torch_about}" if torch_py else f"torch side: not measured ({torch_about})")
    print(f"\n{'':16} {'wall (best of all forwards)':^29}   {'CPU time of the forward':^29}")
    print(f"{'network':<16} {'archcalc ms':>11} {'torch ms':>9} {'ratio':>6}   {'archcalc ms':>11} {'torch ms':>9} "
          f"{'ratio':>6}  spec")
    for name, spec, _ in nets:
        label = labels.get(name, name)
        if name in failed:
            print(f"{label:<16} archcalc failed: {failed[name]}")
            continue
        r = best[name]
        if name in torch_best:
            ratio, cpu_ratio = r["seconds"] / torch_best[name], r["cpu"] / torch_cpu[name]
            line = (f"{label:<16} {r['seconds'] * 1e3:11.1f} {torch_best[name] * 1e3:9.1f} {ratio:6.2f}   "
                    f"{r['cpu'] * 1e3:11.1f} {torch_cpu[name] * 1e3:9.1f} {cpu_ratio:6.2f}  {spec}  "
                    f"(target <= {TARGET_OF_TORCH}: {_verdict(ratio <= TARGET_OF_TORCH)})")
        else:
            why = (f"torch: {torch_failed[name]}" if name in torch_failed else "no torch" if not torch_py
                   else "no torch copy in tests/torchref yet")
            line = (f"{label:<16} {r['seconds'] * 1e3:11.1f} {'-':>9} {'':>6}   {r['cpu'] * 1e3:11.1f} {'-':>9} "
                    f"{'':>6}  {spec}  ({why})")
        if r["macs"] != r["analytic_macs"]:
            line += "  EXECUTED MACs DIFFER FROM THE ANALYSIS"
        print(line)

    mm_rate = 2 * 2048**3 / mm / 1e9
    print(f"\nnumpy matmul 2048x2048 float32: {mm_rate:.1f} GFLOP/s")
    rates: dict[str, float] = {}
    for name, _, _ in nets:
        if name not in best:
            continue
        r = best[name]
        gf = 2 * r["macs"] / r["seconds"] / 1e9
        rates[name] = gf
        line = f"{labels.get(name, name):<16} {gf:6.1f} GFLOP/s  {gf / mm_rate:5.2f} x matmul"
        if name in TARGET_OF_MATMUL:
            tgt = TARGET_OF_MATMUL[name]
            line += f" (target >= {tgt:.2f}: {_verdict(gf / mm_rate >= tgt)})"
        print(line)
    if "mobilenet_v2" in rates and "resnet50" in rates:
        x = rates["resnet50"] / rates["mobilenet_v2"]
        print(f"MobileNetV2      {x:.2f} x the time its MACs would take at ResNet-50's rate "
              f"(target <= {TARGET_MOBILENET:.1f}: {_verdict(x <= TARGET_MOBILENET)})")
    for name, _, _ in nets:
        if name not in best:
            continue
        r = best[name]
        ratio = r["growth"] / (r["params_bytes"] + r["pair"])
        how = "VmHWM" if r["exact_rss"] else "ru_maxrss, an upper bound"
        print(f"{labels.get(name, name):<16} peak RSS growth {r['growth'] / 2**20:6.1f} MiB ({how}) = {ratio:.2f} x "
              f"(params {r['params_bytes'] / 2**20:.1f} + two largest activations {r['pair'] / 2**20:.1f} MiB) "
              f"(target <= {TARGET_RSS}: {_verdict(ratio <= TARGET_RSS)}); "
              f"executor's estimate {r['estimate'] / 2**20:.1f} MiB")
    if args.by_kind:
        for name, _, _ in nets:
            if name not in best:
                continue
            r = best[name]
            parts = sorted(r["kinds"].items(), key=lambda kv: -kv[1])
            print(f"\n{labels.get(name, name)}, archcalc's best run by kind: " + ", ".join(
                f"{k} {s * 1e3:.1f} ms" for k, s in parts if s >= 5e-5))


if __name__ == "__main__":
    main()
