"""The report formats on a large graph (finding 33 of issue 15): JSON beside the table.

`archcalc summarize` of a legal 99,999-layer spec (`input: 8x8x3`, one `relu` repeated) in
every format, each in a fresh process writing to /dev/null as a user's `> file` does. Printed
per format: the best wall time of `--repeat` runs, its rate in layers a second, the peak RSS of
the process, and the ratio of each to the table's. Before the report layer streamed the JSON,
`-f json` took 3.6 x the table's time and 5.1 x its memory (8.3 s and 732 MB against 2.3 s
and 145 MB on the finding's machine); the target is JSON at no more than 1.5 x the table in
both. Times nothing in tests (tests/test_glance.py checks the streaming without a clock).

    python benchmarks/bench_report.py [--layers 99999] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5

#: run in a fresh process: the command's output to /dev/null, its figures on stderr
CHILD = r"""
import json, os, resource, sys, time
from archcalc.cli import cli
t = time.perf_counter()
try:
    cli.main(sys.argv[1:], prog_name="archcalc", standalone_mode=False)
finally:
    sys.stdout.flush()
    print(json.dumps({"seconds": time.perf_counter() - t,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}), file=sys.stderr)
"""

FORMATS = {"table": [], "json": ["-f", "json"], "csv": ["-f", "csv"], "markdown": ["-f", "markdown"],
           "json --depth 0": ["-f", "json", "--depth", "0"]}


def run(spec: str, extra: list[str]) -> dict[str, float]:
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, "summarize", spec, *extra], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"summarize {' '.join(extra)} failed:\n{p.stderr[-2000:]}")
    d = json.loads(p.stderr.strip().splitlines()[-1])
    d["wall"] = wall
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=99_999)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(f"input: 8x8x3\nlayers:\n  - {{kind: relu, repeat: {args.layers}}}\n")
        spec = f.name
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):  # interleaved, so a neighbour's load falls on every format alike
        for name, extra in FORMATS.items():
            d = run(spec, extra)
            b = best.setdefault(name, d)
            b["wall"], b["rss"] = min(b["wall"], d["wall"]), min(b["rss"], d["rss"])
    Path(spec).unlink()
    table = best["table"]
    print(f"summarize of {args.layers:,} layers, fresh process to /dev/null, best of {args.repeat}:")
    print(f"{'format':<16}{'wall s':>8}{'layers/s':>11}{'peak RSS MB':>13}{'time / table':>14}{'RSS / table':>13}")
    for name, d in best.items():
        rt, rm = d["wall"] / table["wall"], d["rss"] / table["rss"]
        mark = "" if name == "table" else ("  pass" if name != "json" or (rt <= TARGET and rm <= TARGET)
                                           else "  MISS")
        print(f"{name:<16}{d['wall']:>8.2f}{args.layers / d['wall']:>11,.0f}{d['rss'] / 1e6:>13.0f}"
              f"{rt:>14.2f}{rm:>13.2f}{mark if name == 'json' else ''}")
    print(f"target: json at most {TARGET} x the table's time and peak RSS")


if __name__ == "__main__":
    main()
