"""What autograd saves, measured again with torch (marker `torch`, deselected by default).

    pytest -m torch      # in a venv with torch 2.13.0 (what .ci/run makes)

tests/test_training_kinds.py and tests/test_training_zoo.py hold archcalc to the figures measured once
(tests/data/saved_kinds.json, tests/torchref/training.json); here torch measures them again, so a torch
that saved otherwise would be noticed: every kind's small network at batch 1 and 3, and five networks
(ViT-B/32 and Swin-T for attention and window attention).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from torchref import NETWORKS, TRAINING

pytestmark = pytest.mark.torch
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def torch():  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    torch.set_num_threads(1)
    return torch


def test_every_kind_again(torch) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(HERE / "measured"))
    import saved_kinds
    measured = json.loads((HERE / "data" / "saved_kinds.json").read_text(encoding="utf-8"))["cases"]
    for name, (shape, build) in saved_kinds.CASES.items():
        for b in saved_kinds.BATCHES:
            torch.manual_seed(0)
            want = measured[name][str(b)]
            try:
                got = dict(zip(("saved", "storages"), saved_kinds.saved(build().train(), torch.randn(b, *shape)),
                               strict=True))
            except ValueError as e:
                got = {"error": str(e)}
            assert got == want, (name, b)


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "mobilenet_v2", "vit_b_32", "swin_t"])
def test_networks_again(torch, name: str) -> None:  # type: ignore[no-untyped-def]
    from torchref import measure_training
    want = json.loads(TRAINING.read_text(encoding="utf-8"))["networks"][name]
    got = measure_training.measure(NETWORKS[name], batches=(1,))
    assert got["saved"]["1"] == want["saved"]["1"] and got["saved_tensors"]["1"] == want["saved_tensors"]["1"]
    for key in ("flopcounter_step", "grad_bytes", "optimizer_state"):
        assert got[key] == want[key], key
