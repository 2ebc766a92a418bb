"""Every command is linear in the spec's size (issue 15 B): the shapes that were not, at scale.

Each shape is a generated spec (the fuzz findings' documents, at growing sizes) and the command
that was slow on it. Each size runs in a fresh process; printed per size: the command's own CPU
time (user + system, after the interpreter is up: a busy machine changes it less than wall time),
its peak RSS, and the rate (items a second); per shape, how the time grew against the size
(linear: the time ratio is about the size ratio; quadratic: its square). Then the largest
accepted inputs, the figures docs/limits.md states.

    python benchmarks/bench_scale.py [--quick] [--repeat 2] [--only NAME] [--largest]

Figures are the best of --repeat fresh processes (a busy machine only ever slows a run down).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen_specs  # noqa: E402

#: runs `archcalc ARGS` in this process and reports its own time and peak RSS on stderr at exit
CHILD = r"""
import atexit, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0 = cpu()
def report():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sys.stderr.write(f"\nBENCH {cpu() - t0:.6f} {rss}\n")
atexit.register(report)
sys.argv = ["archcalc", *sys.argv[1:]]
from archcalc.cli import main
main()
"""


def run(args: list[str], expect: int, repeat: int) -> tuple[float, int, str]:
    """(seconds, peak RSS bytes, stderr's first line) of `archcalc args`, best of `repeat`."""
    best: tuple[float, int, str] | None = None
    for _ in range(repeat):
        p = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=ROOT,
                           env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        line = p.stderr.strip().splitlines()[-1]
        if p.returncode != expect or not line.startswith("BENCH "):
            sys.exit(f"archcalc {' '.join(args)[:200]} ended {p.returncode}, not {expect}:\n{p.stderr[-2000:]}")
        _, secs, rss = line.split()
        first = next((x for x in p.stderr.splitlines() if x.strip()), "")
        got = (float(secs), int(rss), first)
        if best is None or got[0] < best[0]:
            best = got
    assert best is not None
    return best


@dataclass
class Shape:
    name: str            # the finding (or class) it comes from
    what: str            # the items counted, for the rate
    sizes: tuple[int, ...]
    text: Callable[[int], str]
    args: Callable[[str], list[str]]
    expect: int = 0      # the exit status the command must end with
    quick: tuple[int, ...] = ()


def _vars(n: int) -> str:
    return gen_specs.variables(n, "{kind: relu, repeat: 2}", n // 2)


def _shape_reads(n: int) -> str:
    """n variables and n instances of a block whose layer reads its input's shape (in.c)."""
    return gen_specs.variables(n, "{kind: conv, filters: in.c, kernel: 1}", n)


def _torch_ops(n: int) -> str:
    ops = ", ".join(f"relu{i}: F.relu" for i in range(1, n + 1))
    return (f"input: 2x2x1\nlayers:\n  - {{kind: relu, name: relu, repeat: {n}}}\nexpect:\n  conventions:\n"
            f"    torch_ops: {{{ops}}}\n    ptflops: {{value: {4 * n}, source: 'arithmetic: 4 per F.relu'}}\n")


def _pool(n: int) -> str:
    return f"input: 28x28x192\nlayers:\n  - {{kind: maxpool, size: {n}, stride: 1, padding: same}}\n"


def _conv_filters(n: int) -> str:
    return (f"input: 16x16x3\nlayers:\n  - {{kind: conv, filters: {n}, kernel: 1, bias: false}}\n"
            "  - {kind: batchnorm}\n")


SHAPES = [
    Shape("02 did-you-mean", "arguments", (2_000, 8_000, 32_000, 128_000),
          lambda n: gen_specs.unknown_arguments(n, list(range(n))), lambda s: ["summarize", s], 1, (2_000, 8_000)),
    Shape("06 did-you-mean", "layers", (10_000, 40_000, 160_000), gen_specs.misspelt, lambda s: ["summarize", s], 1,
          (10_000, 40_000)),
    Shape("30 did-you-mean", "blocks", (3_000, 12_000, 48_000), gen_specs.unknown_kinds, lambda s: ["summarize", s], 1,
          (3_000, 12_000)),
    Shape("04 compare", "layers", (7, 8, 9, 10), gen_specs.nested_blocks, lambda s: ["compare", s, s], 0, (7, 8, 9)),
    Shape("31 --depth --convention", "instances", (12_500, 25_000, 50_000, 100_000), gen_specs.block_instances,
          lambda s: ["summarize", s, "--depth", "1", "--convention", "torchinfo"], 0, (12_500, 50_000)),
    Shape("32 flat list", "layers", (25_000, 50_000, 100_000), gen_specs.relus, lambda s: ["summarize", s], 0,
          (25_000, 100_000)),
    Shape("variables x copies", "variables", (12_500, 25_000, 50_000, 100_000), _vars, lambda s: ["summarize", s], 0,
          (12_500, 50_000)),
    Shape("torch_ops x rows", "torch ops", (5_000, 20_000, 80_000), _torch_ops, lambda s: ["check", s], 0,
          (5_000, 20_000)),
    Shape("in.* x variables", "variables", (12_500, 25_000, 50_000, 100_000), _shape_reads,
          lambda s: ["summarize", s], 0, (12_500, 50_000)),
    Shape("05 executor set-up", "window", (2**10, 2**20, 2**40), _pool, lambda s: ["run", s, "--max-memory", "1M"],
          1, (2**10, 2**40)),
    Shape("07 executor set-up", "filters", (2**10, 2**20, 2**40), _conv_filters,
          lambda s: ["verify", s, "--max-memory", "1M"], 1, (2**10, 2**40)),
]


def items(shape: Shape, n: int) -> int:
    return 3**n if shape.name.startswith("04") else n


def scale(repeat: int, quick: bool, only: str | None) -> None:
    print(f"Shapes at scale (best of {repeat} fresh processes; seconds = the command's own CPU time)")
    print(f"{'shape':26} {'size':>14} {'file':>9} {'seconds':>8} {'peak RSS':>9} {'rate /s':>12}  growth (of what)")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in SHAPES:
            if only and only not in shape.name:
                continue
            prev: tuple[int, float] | None = None
            for n in (shape.quick or shape.sizes) if quick else shape.sizes:
                path = Path(tmp) / "spec.yaml"
                text = shape.text(n)
                path.write_text(text, encoding="utf-8")
                secs, rss, _ = run(shape.args(str(path)), shape.expect, repeat)
                count = items(shape, n)
                growth = ""
                if prev is not None:
                    growth = f"x{count / prev[0]:g} {shape.what}: x{secs / prev[1]:.1f} time"
                prev = (count, secs)
                print(f"{shape.name:26} {count:>14,.4g} {len(text) / 2**20:>7.2f}MB {secs:>8.3f} "
                      f"{rss / 2**20:>7.0f}MB {count / secs:>12,.4g}  {growth}")


#: the largest input each limit accepts (docs/limits.md), and the command run on it
LARGEST = [
    ("100,000 layers through blocks and repeat", lambda: gen_specs.nested(100_000), ["summarize"], 0),
    ("100,000 layers written out (1.5 MB)", lambda: gen_specs.relus(100_000), ["summarize"], 0),
    ("100,000 layers, --depth 1 --convention torchinfo", lambda: gen_specs.block_instances(100_000),
     ["summarize", "--depth", "1", "--convention", "torchinfo"], 0),
    ("two 100,000-layer specs compared", lambda: gen_specs.relus(100_000), ["compare", "SPEC"], 0),
    ("8 MiB of layers in unused blocks", lambda: _unused_blocks(8 * 2**20), ["summarize"], 0),
    ("8 MiB of variables", lambda: _many_vars(8 * 2**20), ["summarize"], 0),
    ("8 MiB of misspelt layers (refused)", lambda: gen_specs.misspelt((8 * 2**20 - 64) // 38), ["summarize"], 1),
    ("a flat list past the layer limit, 8 MiB (refused)", lambda: gen_specs.relus((8 * 2**20 - 64) // 15),
     ["summarize"], 1),
    ("executor plan of 100,000 layers (refused: --max-memory 1)", lambda: gen_specs.nested(100_000),
     ["run", "--max-memory", "1"], 1),
]


def _unused_blocks(size: int) -> str:
    head = "input: 8x8x3\nlayers:\n  - {kind: relu}\nblocks:\n  spare:\n    layers:\n"
    line = "      - {kind: conv, filters: 8, kernel: 3}\n"
    return head + line * ((size - len(head) - 64) // len(line))


def _many_vars(size: int) -> str:
    head = "input: 8x8x3\nlayers:\n  - {kind: relu}\nvars:\n"
    n = (size - len(head)) // 16
    return head + "".join(f"  v{i:07d}: {i % 97}\n" for i in range(n))


def largest(repeat: int) -> None:
    print("\nThe largest accepted inputs (and the refusals at the size limit)")
    print(f"{'input':58} {'file':>8} {'seconds':>8} {'peak RSS':>9}  first line")
    with tempfile.TemporaryDirectory() as tmp:
        for label, make, args, expect in LARGEST:
            path = Path(tmp) / "spec.yaml"
            text = make()
            assert len(text.encode()) <= 8 * 2**20, (label, len(text))
            path.write_text(text, encoding="utf-8")
            argv = [args[0], str(path), *(str(path) if a == "SPEC" else a for a in args[1:])]
            secs, rss, first = run(argv, expect, repeat)
            print(f"{label:58} {len(text) / 2**20:>6.2f}MB {secs:>8.2f} {rss / 2**20:>7.0f}MB  "
                  f"{first.split(': ', 2)[-1][:50] if expect else ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two sizes a shape, and no largest inputs")
    ap.add_argument("--repeat", type=int, default=2, help="fresh processes per figure (best kept)")
    ap.add_argument("--only", help="only the shapes whose name holds this")
    ap.add_argument("--largest", action="store_true", help="only the largest accepted inputs")
    a = ap.parse_args()
    print(f"Python {sys.version.split()[0]} on {sys.platform}; {time.strftime('%Y-%m-%d')}")
    if not a.largest:
        scale(a.repeat, a.quick, a.only)
    if not a.quick and not a.only:
        largest(a.repeat)


if __name__ == "__main__":
    main()
