"""Timing a command in a fresh process, for the benchmarks that compare whole commands."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: Path = ROOT) -> tuple[float, str]:
    """Wall seconds and standard output of `cmd` run from `cwd` (the repository root); exits on failure."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    dt = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"{cmd[0]} {cmd[1]} ... failed ({p.returncode}) in {cwd}:\n{p.stderr[-2000:]}")
    return dt, p.stdout


def checkout(path: str) -> Path:
    """Another checkout of archcalc to run side by side (`--against`): its commands run with this
    interpreter from that folder, whose `archcalc` then comes first on the path."""
    p = Path(path).resolve()
    if not (p / "archcalc" / "__init__.py").is_file():
        sys.exit(f"--against {path}: no archcalc package there (give the root of a checkout, e.g. "
                 "one made by `git worktree add /tmp/base 21c220d`)")
    return p


def compile_bytecode(*roots: Path) -> None:
    """Write the .pyc files of each checkout's archcalc before timing: without them (a fresh
    clone, or PYTHONDONTWRITEBYTECODE set) every run would compile the package again."""
    for root in roots:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "archcalc")], capture_output=True,
                       check=True)
