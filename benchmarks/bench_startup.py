"""Start-up: `archcalc summarize specs/resnet50.yaml` in a fresh process, against the floor.

The floor is `python -c "import click, rich, yaml"`: the packages archcalc cannot do without.
Both commands run alternately in fresh processes (so a busy machine slows both alike), output
to a pipe, and the medians are compared. Target (issue 7): the ratio at most 1.5.

    python benchmarks/bench_startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from fresh import timed

TARGET = 1.5

COMMANDS = {
    "floor: import click, rich, yaml": [sys.executable, "-c", "import click, rich, yaml"],
    "archcalc summarize resnet50": [sys.executable, "-m", "archcalc", "summarize", "specs/resnet50.yaml"],
    "archcalc summarize resnet152": [sys.executable, "-m", "archcalc", "summarize", "specs/resnet152.yaml"],
    "archcalc summarize resnet50 --json": [sys.executable, "-m", "archcalc", "summarize", "specs/resnet50.yaml",
                                           "--format", "json"],
}


def run_once(cmd: list[str]) -> float:
    return timed(cmd)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=21, help="runs of each command (alternating)")
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for cmd in COMMANDS.values():  # warm the file cache and .pyc files
        run_once(cmd)
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            times[name].append(run_once(cmd))
    floor = statistics.median(times[next(iter(COMMANDS))])
    print(f"{'command':40} {'median ms':>10} {'min ms':>8} {'x floor':>8}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:40} {med * 1e3:10.1f} {min(ts) * 1e3:8.1f} {med / floor:8.2f}")
    ratio = statistics.median(times["archcalc summarize resnet50"]) / floor
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"\nsummarize resnet50 / floor = {ratio:.2f} (target <= {TARGET}: {verdict}); "
          f"{args.runs} alternating runs, medians, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
