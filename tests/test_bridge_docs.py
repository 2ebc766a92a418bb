"""docs/import-export.md's worked example, run as written."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def test_worked_example(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="needs archcalc[torch] (pip install torch==2.13.0)")
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    doc = (ROOT / "docs" / "import-export.md").read_text()
    section = doc[doc.index("## Worked example"):]
    cmds = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip().splitlines()
    shutil.copytree(ROOT / "tests" / "torchref", tmp_path / "torchref")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    outs = []
    for c in cmds:
        args = c.split()
        assert args[0] == "archcalc"
        r = subprocess.run([sys.executable, "-m", "archcalc", *args[1:]], cwd=tmp_path, capture_output=True,
                           text=True, env=env)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout + r.stderr)
    assert "imported 68 layers; parameters 11,699,112 = the initializers' 11,699,112 float elements" in outs[0]
    assert "1,814,073,344" in outs[1]
    spec = (tmp_path / "resnet18.yaml").read_text()
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    assert block.strip() in spec
    src = (tmp_path / "resnet18_model.py").read_text()
    for cls in ("BlockDownsample", "Layer", "Resnet18"):
        assert f"class {cls}(nn.Module)" in src
    m = importlib.util.spec_from_file_location("resnet18_model", tmp_path / "resnet18_model.py")
    mod = importlib.util.module_from_spec(m)
    m.loader.exec_module(mod)
    assert sum(p.numel() for p in mod.Resnet18().parameters()) == 11_689_512
