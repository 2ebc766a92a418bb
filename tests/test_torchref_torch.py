"""The plain-torch networks themselves, with torch (marker `torch`, deselected by default).

    pytest -m torch      # in a venv with torch 2.13.0 and the tools (what .ci/run makes)

Without torch every test here is skipped with the reason; torchvision's structure check also needs
torchvision (the venv that has it cannot have torch 2.13: `measure.py --torchvision` is the same check
as a script, and figures-torchvision.json records its outcome).
"""

from __future__ import annotations

import json

import pytest
from conftest import SPECS
from torchref import FIGURES, NETWORKS

import archcalc

pytestmark = pytest.mark.torch
MEASURED = json.loads(FIGURES.read_text(encoding="utf-8"))

#: re-measured here (every tool; batches): small networks, each exercising a distinct structure:
#: tanh + AvgPool2d + nn.Softmax (where batch handling differs most), F.relu + functional pooling,
#: ReLU6 + F.adaptive_avg_pool2d + residual `x + ...`, AdaptiveAvgPool2d + residual `+=`, Hardswish +
#: Hardsigmoid + squeeze-excitation's `scale * input`, x.chunk + torch.cat + x.mean([2, 3]), and a
#: transformer (nn.MultiheadAttention, LayerNorm, GELU, the class token: called outside no_grad)
REMEASURED = {"lenet5_softmax": (1, 2), "googlenet": (1,), "mobilenet_v2": (1,), "resnet18": (1,),
              "mobilenet_v3_small": (1, 2), "shufflenet_v2_x0_5": (1,), "vit_b_32": (1,)}


@pytest.fixture(scope="module")
def torch():  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    torch.set_num_threads(1)
    return torch


@pytest.mark.parametrize("name", list(NETWORKS))
def test_parameter_count(torch, name: str) -> None:  # type: ignore[no-untyped-def]
    net = NETWORKS[name]
    model = net.model()
    assert sum(p.numel() for p in model.parameters()) == net.num_params, net.num_params_source
    with torch.no_grad():
        out = model(torch.zeros(1, *net.input))
    # the spec's output, H x W x C as torch's C x H x W (U-Net's 388 x 388 x 2 map)
    (shape,) = [r.output_shape for r in archcalc.analyze(SPECS / net.spec, overrides=net.overrides,
                                                          variant=net.variant).outputs]
    assert tuple(out.shape) == (1, *((shape[2], shape[0], shape[1]) if len(shape) == 3 else shape))


@pytest.mark.filterwarnings("ignore")  # the tools' own deprecations (torch.jit in fvcore, distutils in thop)
@pytest.mark.parametrize("name", REMEASURED)
def test_remeasured_figures_equal_the_data_file(torch, name: str) -> None:  # type: ignore[no-untyped-def]
    for tool in ("torchinfo", "ptflops", "fvcore", "thop"):
        pytest.importorskip(tool, reason=f"{tool} is not installed")
    from torchref import measure
    net = NETWORKS[name]
    for batch in REMEASURED[name]:
        assert measure.measure(net.model, net.input, batch) == MEASURED["networks"][name]["batch"][str(batch)]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", [n for n, net in NETWORKS.items() if net.torchvision])
def test_same_as_torchvision(torch, name: str) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("torchvision", reason="torchvision is not installed (it needs another torch than CI's)")
    from torchref import measure
    assert measure.same_as_torchvision(NETWORKS[name]) == []
