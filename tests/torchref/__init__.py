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
              "mobilenet_v2": "mobilenetv2", "swin_t": "swin"}.get(name, "resnet")
    return Net(name, f"{module}:{name}", f"{name}.yaml", num_params,
               f"torchvision 0.29 {name} weights metadata num_params", torchvision=name, **kw)


def _member(module: str, name: str, num_params: int, spec: str | None = None, resolution: int = 224) -> Net:
    """A member of a family spec, named by its torchvision builder and variant (densenet.yaml@densenet121)."""
    return Net(name, f"{module}:{name}", spec or f"{module}.yaml", num_params,
               f"torchvision 0.29 {name} weights metadata num_params", input=(3, resolution, resolution),
               variant=name, torchvision=name)


def _family(module: str, spec: str, members: dict[str, int]) -> list[Net]:
    """The members of a family spec, each its variant named as torchvision's builder."""
    return [Net(name, f"{module}:{name}", spec, n, f"torchvision 0.29 {name} weights metadata num_params",
                variant=name, torchvision=name) for name, n in members.items()]


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
    # inception_v3(weights=IMAGENET1K_V1) keeps AuxLogits (training-only in the spec) and transforms the input
    Net("inception_v3", "inception:inception_v3", "inception_v3.yaml", 27_161_264,
        "torchvision 0.29 Inception_V3_Weights.IMAGENET1K_V1 num_params (AuxLogits included)", input=(3, 299, 299),
        torchvision="inception_v3",
        torchvision_kwargs={"aux_logits": True, "transform_input": True, "init_weights": False}),
    Net("googlenet_aux_logits", "googlenet:googlenet", "googlenet.yaml", 13_004_888,
        "specs/googlenet.yaml@aux_logits: torchvision 0.29.1 googlenet(aux_logits=True), sum of parameters()",
        kwargs={"aux_logits": True}, variant="aux_logits", torchvision="googlenet",
        torchvision_kwargs={"aux_logits": True, "transform_input": True, "init_weights": False}),
    *(_member(*m) for m in (
        ("densenet", "densenet121", 7_978_856), ("densenet", "densenet161", 28_681_000),
        ("densenet", "densenet169", 14_149_480), ("densenet", "densenet201", 20_013_928),
        ("squeezenet", "squeezenet1_0", 1_248_424), ("squeezenet", "squeezenet1_1", 1_235_496),
        ("resnet", "resnext50_32x4d", 25_028_904, "resnet50.yaml"),
        ("resnet", "wide_resnet50_2", 68_883_240, "resnet50.yaml"),
        ("resnet", "resnext101_32x8d", 88_791_336, "resnet101.yaml"),
        ("resnet", "resnext101_64x4d", 83_455_272, "resnet101.yaml"),
        ("resnet", "wide_resnet101_2", 126_886_696, "resnet101.yaml"),
        ("mobilenetv3", "mobilenet_v3_large", 5_483_032, "mobilenet_v3.yaml"),
        ("mobilenetv3", "mobilenet_v3_small", 2_542_856, "mobilenet_v3.yaml"),
        ("efficientnet", "efficientnet_b0", 5_288_548, "efficientnet.yaml", 224),
        ("efficientnet", "efficientnet_b1", 7_794_184, "efficientnet.yaml", 240),
        ("efficientnet", "efficientnet_b2", 9_109_994, "efficientnet.yaml", 288),
        ("efficientnet", "efficientnet_b3", 12_233_232, "efficientnet.yaml", 300),
        ("efficientnet", "efficientnet_b4", 19_341_616, "efficientnet.yaml", 380),
        ("efficientnet", "efficientnet_b5", 30_389_784, "efficientnet.yaml", 456),
        ("efficientnet", "efficientnet_b6", 43_040_704, "efficientnet.yaml", 528),
        ("efficientnet", "efficientnet_b7", 66_347_960, "efficientnet.yaml", 600),
        ("shufflenetv2", "shufflenet_v2_x0_5", 1_366_792, "shufflenet_v2.yaml"),
        ("shufflenetv2", "shufflenet_v2_x1_0", 2_278_604, "shufflenet_v2.yaml"),
        ("shufflenetv2", "shufflenet_v2_x1_5", 3_503_624, "shufflenet_v2.yaml"),
        ("shufflenetv2", "shufflenet_v2_x2_0", 7_393_996, "shufflenet_v2.yaml"),
    )),
    *_family("convnext", "convnext.yaml", {"convnext_tiny": 28_589_128, "convnext_small": 50_223_688,
                                           "convnext_base": 88_591_464, "convnext_large": 197_767_336}),
    *_family("vit", "vit.yaml", {"vit_b_16": 86_567_656, "vit_b_32": 88_224_232, "vit_l_16": 304_326_632}),
    _tv("swin_t", 28_288_354),
    Net("unet", "unet:unet", "unet.yaml", 31_030_658,
        "arithmetic in specs/unet.yaml: the 23 convolutions' weights and biases", input=(1, 572, 572)),
)}

#: The tools measured, by archcalc profile name (archcalc.profiles.PROFILES).
TOOLS = ("torchinfo", "ptflops", "ptflops-nofunc", "fvcore", "thop", "flopcounter")
