"""What autograd saves in a training forward of torchvision's own models, for zoo specs whose plain-torch
copies are not in tests/torchref yet.

Run by hand, in a venv with torchvision (its torch cannot be CI's 2.13; here torch 2.14.1, torchvision
0.29.1, CPU):

    /work/venvs/tv/bin/python tests/measured/training_torchvision.py   # -> tests/data/training_torchvision.json
    /work/venvs/tv/bin/python tests/measured/training_torchvision.py swin_t   # these again, the others kept

The figure is tests/torchref/measure_training.py's `saved` (the bytes of the distinct storages passing
through saved_tensors_hooks' pack hook, the model's parameters and buffers left out, and their count),
at batch 1 and 8, each model built by torchvision without weights, in training mode. On the networks
registered in tests/torchref, torch 2.14.1 on torchvision's models and torch 2.13.0 on the copies gave
the same figures (checked for resnet50 and googlenet below). tests/test_training_zoo.py pins these.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torchvision
import torchvision.models as tvm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "torchref"))
from measure_training import saved  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "data" / "training_torchvision.json"
#: name -> (torchvision builder (in torchvision.models), its keyword arguments, the spec (from the repository's
#: root), the spec's variant, input side). ViT-B/16 and Swin-T are the zoo's specs of torchvision's models, which
#: tests/torchref copies too: here their attention and shifted window attention are torchvision's own (Swin-T
#: with its stochastic depth, rising to 0.2, which keeps one value a sample for each of 22 branches).
MODELS = {
    "resnet50": ("resnet50", {}, "specs/resnet50.yaml", None, 224),
    "googlenet": ("googlenet", {"aux_logits": False, "transform_input": True, "init_weights": False},
                  "specs/googlenet.yaml", None, 224),
    "googlenet_aux_logits": ("googlenet", {"aux_logits": True, "init_weights": False}, "specs/googlenet.yaml",
                             "aux_logits", 224),
    "densenet121": ("densenet121", {}, "specs/densenet.yaml", "densenet121", 224),
    "squeezenet1_0": ("squeezenet1_0", {}, "specs/squeezenet.yaml", "squeezenet1_0", 224),
    "squeezenet1_1": ("squeezenet1_1", {}, "specs/squeezenet.yaml", "squeezenet1_1", 224),
    "resnext50_32x4d": ("resnext50_32x4d", {}, "specs/resnet50.yaml", "resnext50_32x4d", 224),
    "wide_resnet50_2": ("wide_resnet50_2", {}, "specs/resnet50.yaml", "wide_resnet50_2", 224),
    "inception_v3": ("inception_v3", {"aux_logits": True, "init_weights": False}, "specs/inception_v3.yaml", None,
                     299),
    "vit_b_16": ("vit_b_16", {}, "specs/vit.yaml", "vit_b_16", 224),
    "swin_t": ("swin_t", {}, "specs/swin_t.yaml", None, 224),
}


def build(builder: str, kw: dict) -> torch.nn.Module:
    obj = tvm
    for part in builder.split("."):
        obj = getattr(obj, part)
    return obj(**kw) if "." in builder else obj(weights=None, **kw)


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    unknown = set(argv) - set(MODELS)
    if unknown:
        sys.exit(f"unknown: {', '.join(sorted(unknown))}; the models are {', '.join(MODELS)}")
    out = {"about": __doc__.split("\n\n")[0].replace("\n", " "),
           "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__}, "networks": {}}
    old = json.loads(OUT.read_text())["networks"] if argv and OUT.exists() else {}
    for name, (builder, kw, spec, variant, side) in MODELS.items():
        if argv and name not in argv:
            if name in old:
                out["networks"][name] = old[name]
            continue
        entry = {"spec": spec, "variant": variant, "builder": builder, "kwargs": kw, "saved": {}, "saved_tensors": {}}
        for b in (1, 8):
            model = build(builder, kw).train()
            x = torch.randn(b, 3, side, side, generator=torch.Generator().manual_seed(0))
            try:
                entry["saved"][str(b)], entry["saved_tensors"][str(b)] = saved(model, x)
            except ValueError as e:  # BatchNorm in training over one value per channel
                entry["saved"][str(b)] = entry["saved_tensors"][str(b)] = {"error": str(e)}
            del model, x
        out["networks"][name] = entry
        print(name, entry["saved"], file=sys.stderr, flush=True)
    OUT.write_text("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in out.items() if k != "networks")
                   + ',\n"networks": {\n' + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}"
                                                       for k, v in out["networks"].items()) + "\n}\n}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
