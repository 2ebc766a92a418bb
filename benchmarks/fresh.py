"""Timing a command in a fresh process, for the benchmarks that compare whole commands."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> tuple[float, str]:
    """Wall seconds and standard output of `cmd` run from the repository root; exits on failure."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    dt = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"{cmd[0]} {cmd[1]} ... failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return dt, p.stdout
