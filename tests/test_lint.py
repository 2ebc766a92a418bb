"""ruff (in the test extra) over the package, tests and benchmarks, so style is part of the one test command."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_ruff_clean() -> None:
    # the ruff of this environment (the test extra's), not whichever is first on PATH
    cmd = [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
