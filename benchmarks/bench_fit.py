"""`archcalc fit SPEC --memory 24GiB` for every zoo network: the answer and how long it takes.

Issue 17's target: an answer for every zoo spec in well under a second. Each spec (every variant of a
family, as `archcalc check` takes them) runs as a fresh process, output to a pipe, alternating with the
floor (`python -c "import click, rich, yaml"`) so that a busy machine slows both alike; the table gives
the median wall time, its ratio to the floor's, and the time in-process (the walk and the fit alone,
best of the runs).

    python benchmarks/bench_fit.py [--runs 5] [--memory 24GiB] [--optimizer adam] [SPEC ...]

SPEC picks settings by their spec file's name (`vit`, `convnext`, `unet.yaml`): these only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from fresh import ROOT, timed

TARGET = 1.0  # seconds, a fresh process


def settings() -> list[str]:
    sys.path.insert(0, str(ROOT))
    import archcalc
    from archcalc.check import settings as of
    out = []
    for p in sorted((ROOT / "specs").glob("*.yaml")):
        out += [f"specs/{p.name}" + (f"@{v}" if v else "") for v in of(archcalc.load(p))]
    return out


def in_process(spec: str, memory: int, optimizer: str) -> tuple[float, int]:
    import archcalc
    from archcalc import training
    from archcalc.fit import fit
    t = time.perf_counter()
    an = archcalc.analyze(str(ROOT / spec), training=True)
    f = fit(an, memory, training.Options(optimizer))
    return time.perf_counter() - t, f.batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--memory", default="24GiB")
    ap.add_argument("--optimizer", default="adam")
    ap.add_argument("specs", nargs="*", help="only the settings of these spec files (vit, convnext.yaml ...)")
    args = ap.parse_args()
    chosen = [s for s in settings() if not args.specs or s.split("@")[0].removeprefix("specs/").removesuffix(".yaml")
              in {a.removesuffix(".yaml") for a in args.specs}]
    if not chosen:
        ap.error(f"no setting of {', '.join(args.specs)}: the specs are under specs/")
    from archcalc.fit import parse_size
    memory = parse_size(args.memory)
    floor_cmd = [sys.executable, "-c", "import click, rich, yaml"]
    print(f"archcalc fit SPEC --memory {args.memory} --optimizer {args.optimizer}: {args.runs} fresh runs each, "
          f"alternating with the floor; Python {sys.version.split()[0]}\n")
    print(f"{'spec':42} {'batch':>6} {'median s':>9} {'x floor':>8} {'in-process s':>13}")
    worst = 0.0
    for spec in chosen:
        cmd = [sys.executable, "-m", "archcalc", "fit", spec, "--memory", args.memory, "--optimizer", args.optimizer]
        runs, floors, inner = [], [], []
        for _ in range(args.runs):
            floors.append(timed(floor_cmd)[0])
            runs.append(timed(cmd)[0])
            dt, batch = in_process(spec, memory, args.optimizer)
            inner.append(dt)
        med = statistics.median(runs)
        worst = max(worst, med)
        print(f"{spec:42} {batch:>6} {med:9.3f} {med / statistics.median(floors):8.2f} {min(inner):13.3f}")
    print(f"\nslowest: {worst:.3f} s a fresh process (target: well under {TARGET:.0f} s: "
          f"{'met' if worst < TARGET else 'MISSED'})")


if __name__ == "__main__":
    main()
