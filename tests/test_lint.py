"""ruff (in the test extra) over the package, tests and benchmarks, so style is part of the one test command."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import ROOT


def test_ruff_clean() -> None:
    cmd = [shutil.which("ruff") or "", "check", "--output-format", "concise", "."]
    if not cmd[0]:
        cmd = [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
