"""Every zoo network's training step against what PyTorch measured (issue 17).

tests/torchref/training.json was written by `python tests/torchref/measure_training.py` in torch 2.13.0
(CPU) from the plain-torch copies of tests/torchref, each in training mode: the bytes autograd saved in
one forward at batch 1 and 8 (the distinct storages through saved_tensors_hooks, the model's parameters
and buffers left out), FlopCounterMode over a forward and backward, the gradients' bytes and each
optimizer's state after one step. Here, without torch, the shipped spec (in the setting the network is
registered with, a training pass) must give every one of those figures exactly.

tests/data/training_torchvision.json holds the same saved-bytes figure measured on torchvision 0.29.1's own
models (torch 2.14.1) for zoo specs whose copies are not registered yet (DenseNet, SqueezeNet, ResNeXt,
Wide ResNet, Inception-v3, GoogLeNet with its auxiliary heads) and for the zoo's ViT-B/16 and Swin-T (torchvision's
own attention and window attention, beside the copies'), measured by tests/measured/training_torchvision.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, SPECS
from torchref import NETWORKS, TRAINING, Net

import archcalc
from archcalc import SpecError, training

MEASURED = json.loads(TRAINING.read_text(encoding="utf-8"))
TORCHVISION = json.loads((Path(__file__).parent / "data" / "training_torchvision.json").read_text(encoding="utf-8"))
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")


def _analyze(net: Net, batch: int = 1) -> archcalc.Analysis:
    return archcalc.analyze(SPECS / net.spec, overrides=net.overrides, batch=batch, variant=net.variant,
                            training=True)


def _figures(name: str) -> dict:
    e = MEASURED["networks"].get(name)
    if e is None:
        pytest.fail(f"{name} is registered in tests/torchref but not measured: run "
                    f"`python tests/torchref/measure_training.py --only {name}` with torch 2.13")
    return e


def test_measured_with_cis_torch() -> None:
    assert MEASURED["versions"]["torch"].startswith("2.13.0")
    v = TORCHVISION["versions"]
    assert v["torch"].startswith("2.14.1") and v["torchvision"].startswith("0.29.1")


def test_every_registered_network_is_measured() -> None:
    missing = sorted(set(NETWORKS) - set(MEASURED["networks"]))
    assert not missing, ("measure them: python tests/torchref/measure_training.py --only " + " ".join(missing))
    # figures measured ahead of their registration, on the copies another branch adds (zoo-cnn's, measured
    # with main's tests/torchref), wait for the registry: each names a spec (and variant) of the zoo
    for name, e in MEASURED["networks"].items():
        if name not in NETWORKS and (SPECS / e["spec"]).exists():
            spec = archcalc.load(SPECS / e["spec"])
            assert e["variant"] is None or e["variant"] in spec.variants, name


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_saved_bytes_are_what_pytorch_saved(name: str, batch: int) -> None:
    net = NETWORKS[name]
    measured = _figures(name)
    saved, storages = measured["saved"][str(batch)], measured["saved_tensors"][str(batch)]
    an = _analyze(net, batch)
    if isinstance(saved, dict):  # torch refused the batch (BatchNorm over one value per channel): so do we
        with pytest.raises(SpecError, match="more than 1 value per channel"):
            training.step(an)
        return
    s = training.step(an)
    assert (s.saved_bytes, s.saved_storages) == (saved, storages)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_step_macs_gradients_and_optimizer_state(name: str) -> None:
    net = NETWORKS[name]
    measured = _figures(name)
    an = _analyze(net, measured["step_batch"])
    s = training.step(an)
    # FlopCounterMode (torch/utils/flop_counter.py, conv_backward_flop) counts a grouped convolution's weight
    # gradient as if it were dense: `groups` times archcalc's (the forward's) MACs. And it has no formula for
    # scaled_dot_product_attention's CPU kernel (torch 2.13 registers the CUDA ones only), which
    # nn.MultiheadAttention(need_weights=False) runs here as aten._scaled_dot_product_flash_attention_for_cpu
    # and its _backward: ViT's Q·K^T and weights·V, 2·h·L·L·d MACs forward and twice that backward, go
    # uncounted (ViT-B/16: 12 blocks x 6·12·197·197·64 = 2,145,982,464). Everything else agrees.
    grouped = unseen = 0
    for r, x in zip(an.rows, s.layers, strict=True):
        groups = r.input_shapes[0][-1] if r.kind == "depthwise" else r.node.kind.groups if r.kind == "conv" else 1
        grouped += (groups - 1) * x.weight_grads.value
        if r.kind == "attention":
            n, _, h, d = r.node.kind.geometry(list(r.input_shapes))
            unseen += 6 * h * n * n * d * s.batch
    assert 2 * (s.step_macs + grouped - unseen) == measured["flopcounter_step"]
    assert s.grad_bytes == measured["grad_bytes"]
    for opt in OPTIMIZERS:
        assert training.step(an, training.Options(opt)).optimizer_bytes == measured["optimizer_state"][opt], opt


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", list(TORCHVISION["networks"]))
def test_saved_bytes_of_torchvisions_models(name: str, batch: int) -> None:
    e = TORCHVISION["networks"][name]
    saved, storages = e["saved"][str(batch)], e["saved_tensors"][str(batch)]
    an = archcalc.analyze(ROOT / e["spec"], variant=e["variant"], batch=batch, training=True)
    if isinstance(saved, dict):
        with pytest.raises(SpecError, match="more than 1 value per channel"):
            training.step(an)
        return
    s = training.step(an)
    assert (s.saved_bytes, s.saved_storages) == (saved, storages)


def test_torch_214_on_torchvision_and_213_on_the_copies_agree() -> None:
    for name, copy in (("resnet50", "resnet50"), ("googlenet", "googlenet")):
        tv, mine = TORCHVISION["networks"][name], MEASURED["networks"][copy]
        assert tv["saved"] == mine["saved"] and tv["saved_tensors"] == mine["saved_tensors"]
