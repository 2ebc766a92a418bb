"""Start-up: `archcalc summarize specs/resnet50.yaml` (table and JSON) in a fresh process, against the floor.

The floor is `python -c "import click, rich, yaml"`: the packages archcalc cannot do without.
The commands run alternately in fresh processes (so a busy machine slows all alike), output
to a pipe, and the medians are compared. Target (issues 7 and 14): at most 1.5 x the floor,
table and JSON. The package's bytecode is compiled first, as an installed package's is.

`--against DIR` also times the same commands in another checkout (e.g. the commit before a
change: `git worktree add /tmp/base 21c220d`), interleaved with these, with this interpreter,
and prints each command's ratio to that checkout's. Each checkout reads its own specs/.

    python benchmarks/bench_startup.py [--runs 21] [--against DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from fresh import ROOT, checkout, compile_bytecode, timed

TARGET = 1.5

FLOOR = "floor: import click, rich, yaml"
COMMANDS = {
    FLOOR: [sys.executable, "-c", "import click, rich, yaml"],
    "archcalc summarize resnet50": [sys.executable, "-m", "archcalc", "summarize", "specs/resnet50.yaml"],
    "archcalc summarize resnet152": [sys.executable, "-m", "archcalc", "summarize", "specs/resnet152.yaml"],
    "archcalc summarize resnet50 --json": [sys.executable, "-m", "archcalc", "summarize", "specs/resnet50.yaml",
                                           "--format", "json"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=21, help="runs of each command (alternating)")
    ap.add_argument("--against", metavar="DIR", help="another checkout whose commands run interleaved")
    args = ap.parse_args()
    runs: dict[str, tuple[list[str], Path]] = {name: (cmd, ROOT) for name, cmd in COMMANDS.items()}
    other = checkout(args.against) if args.against else None
    if other is not None:
        runs.update({f"{name} [against]": (cmd, other) for name, cmd in COMMANDS.items() if name != FLOOR})
    compile_bytecode(ROOT, *([other] if other else []))
    times: dict[str, list[float]] = {k: [] for k in runs}
    for cmd, cwd in runs.values():  # warm the file cache
        timed(cmd, cwd)
    for _ in range(args.runs):
        for name, (cmd, cwd) in runs.items():
            times[name].append(timed(cmd, cwd)[0])
    floor = statistics.median(times[FLOOR])
    print(f"{'command':50} {'median ms':>10} {'min ms':>8} {'x floor':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        line = f"{name:50} {med * 1e3:10.1f} {min(ts) * 1e3:8.1f} {med / floor:8.2f}"
        if other is not None and name != FLOOR and not name.endswith("[against]"):
            line += f"   {med / statistics.median(times[name + ' [against]']):.2f} x against"
        print(line)
    print()
    for name in ("archcalc summarize resnet50", "archcalc summarize resnet50 --json"):
        ratio = statistics.median(times[name]) / floor
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(f"{name[9:]} / floor = {ratio:.2f} (target <= {TARGET}: {verdict})")
    print(f"{args.runs} alternating runs, medians, Python {sys.version.split()[0]}"
          + (f"; against {other}" if other else ""))


if __name__ == "__main__":
    main()
