"""Plain-torch copies of the zoo's networks, each tied to the spec that describes it.

torchvision cannot be installed beside the torch CI uses (2.13), so the networks the zoo takes from
torchvision are copied here in plain torch with the same module tree: the same module names and
classes, the same functional calls (GoogLeNet's BasicConv2d calls F.relu, MobileNetV2 pools with
F.adaptive_avg_pool2d, VGG and AlexNet keep their AdaptiveAvgPool2d), so every counting tool sees what
it sees in torchvision's model. `measure.py --torchvision` checks that in a torch that has torchvision:
state_dict keys and shapes, the modules called and the torch functions called, in order, and every
tool's figure. The zoo's other specs (LeNet-5, MobileNet v1, plain-34) are built as the specs say.

`NETWORKS` maps a name to a `Net`: how to build the model, its input, the spec (and variable settings)
that describes it, and its published parameter count. Importing this package does not import torch,
so the default test suite can read the registry and the measured figures (figures.json) without it.
Adding a network: a module here with a builder function, one `Net` below (a family spec's member
names its `variant`), then
`python tests/torchref/measure.py --only NAME` in a venv with torch 2.13 and the tools, and
`python tests/torchref/measure_training.py --only NAME` (torch 2.13 alone: what a training step keeps).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures.json"                    # measured on these copies (torch 2.13)
FIGURES_TORCHVISION = HERE / "figures-torchvision.json"  # measured on torchvision's own models
TRAINING = HERE / "training.json"                  # a training step's memory and MACs (measure_training.py)


@dataclass(frozen=True)
class Net:
    """One network: its plain-torch builder and the spec that describes it."""

    name: str
    builder: str                     # "module:function" in this package
    spec: str                        # a file under specs/
    num_params: int                  # sum of nn.Parameter sizes (torchvision's `num_params`)
    num_params_source: str
    input: tuple[int, int, int] = (3, 224, 224)   # C, H, W, as torch takes it
    kwargs: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # the spec's variables for this model
    variant: str | None = None       # the spec's `variants:` entry for this model (densenet.yaml@densenet121)
    torchvision: str | None = None   # torchvision.models builder with the same module tree
    torchvision_kwargs: dict[str, Any] = field(default_factory=dict)

    def model(self) -> Any:
        """The plain-torch model, in eval mode (imports torch)."""
        module, func = self.builder.split(":")
        return getattr(importlib.import_module(f"torchref.{module}"), func)(**self.kwargs).eval()

    def torchvision_model(self) -> Any:
        """torchvision's model, in eval mode, without weights (imports torchvision)."""
        import torchvision.models as tvm
        assert self.torchvision is not None, f"{self.name} has no torchvision counterpart"
        return getattr(tvm, self.torchvision)(weights=None, **self.torchvision_kwargs).eval()


def _tv(name: str, num_params: int, **kw: Any) -> Net:
    module = {"alexnet": "alexnet", "vgg16": "vgg", "vgg19": "vgg", "googlenet": "googlenet",
              "mobilenet_v2": "mobilenetv2"}.get(name, "resnet")
    return Net(name, f"{module}:{name}", f"{name}.yaml", num_params,
               f"torchvision 0.29 {name} weights metadata num_params", torchvision=name, **kw)


NETWORKS: dict[str, Net] = {n.name: n for n in (
    _tv("alexnet", 61_100_840),
    _tv("vgg16", 138_357_544),
    _tv("vgg19", 143_667_240),
    _tv("resnet18", 11_689_512),
    _tv("resnet34", 21_797_672),
    _tv("resnet50", 25_557_032),
    _tv("resnet101", 44_549_160),
    _tv("resnet152", 60_192_808),
    # googlenet(weights=IMAGENET1K_V1) loads with aux heads and transform_input, then drops the heads
    _tv("googlenet", 6_624_904, torchvision_kwargs={"aux_logits": False, "transform_input": True,
                                                   "init_weights": False}),
    _tv("mobilenet_v2", 3_504_872),
    Net("lenet5", "casestudies:lenet5", "lenet5.yaml", 61_706,
        "arithmetic in specs/lenet5.yaml: 156 + 2,416 + 48,120 + 10,164 + 850", input=(1, 32, 32)),
    Net("lenet5_softmax", "casestudies:lenet5", "lenet5.yaml", 61_706,
        "arithmetic in specs/lenet5.yaml (a softmax has no parameters)", input=(1, 32, 32),
        kwargs={"softmax": True}, overrides={"softmax": True}),
    Net("mobilenet_v1", "casestudies:mobilenet_v1", "mobilenet_v1.yaml", 4_231_976,
        "specs/mobilenet_v1.yaml: 4,231,976 trainable (Keras' MobileNet summary)"),
    Net("mobilenet_v1_softmax", "casestudies:mobilenet_v1", "mobilenet_v1.yaml", 4_231_976,
        "specs/mobilenet_v1.yaml: 4,231,976 trainable (a softmax has no parameters)",
        kwargs={"softmax": True}, overrides={"softmax": True}),
    Net("plain34", "casestudies:plain34", "plain34.yaml", 21_623_848,
        "arithmetic in specs/plain34.yaml: resnet34's 21,797,672 - 173,824 of projection shortcuts"),
)}

#: The tools measured, by archcalc profile name (archcalc.profiles.PROFILES).
TOOLS = ("torchinfo", "ptflops", "ptflops-nofunc", "fvcore", "thop", "flopcounter")
