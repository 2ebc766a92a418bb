"""Issue 16's speed target: importing an exported ResNet-50 (about 100 MB with weights) takes
under a second of archcalc's own time beyond reading the file; and an exported ViT-B/16 (about
350 MB, 1,000 nodes of which a third are attention's reshapes) too. Prints both parts for each.

    python benchmarks/bench_import.py             # needs archcalc[onnx]; archcalc's own exports
    python benchmarks/bench_import.py --torch     # also torch.onnx.export of tests/torchref's copies
                                                  # (the registered ones of these names; needs torch)

"Reading" is the file's bytes and their protobuf parse (what any ONNX tool pays), timed inside
archcalc's read; archcalc's own time is the rest: the checks, shape inference on a weightless
copy, the walk through the operator table, the names and blocks, the check of every shape, and
the analysis of the spec it wrote. Best of three runs each, in the same runs; one thread.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: ViT-B/16 as torchvision's vit_b_16 (86,567,656 parameters, 17.56 GMACs), written with today's kinds
VIT_B_16 = """
name: ViT-B/16
input: 224x224x3
blocks:
  encoder_block:
    layers:
      - {kind: layernorm, name: ln_1, eps: 1e-6}
      - {kind: attention, name: self_attention, heads: 12}
      - {kind: add, name: add, from: [self_attention, input]}
      - {kind: layernorm, name: ln_2, eps: 1e-6}
      - {kind: linear, name: mlp_0, units: 3072}
      - {kind: gelu, name: mlp_1}
      - {kind: linear, name: mlp_3, units: 768}
      - {kind: add, name: add_1, from: [add, mlp_3]}
layers:
  - {kind: conv, name: conv_proj, filters: 768, kernel: 16, stride: 16}
  - {kind: tokens, name: tokens}
  - {kind: classtoken, name: class_token}
  - {kind: posembed, name: pos_embedding}
  - {kind: encoder_block, name: encoder_layer, repeat: 12}
  - {kind: layernorm, name: ln, eps: 1e-6}
  - {kind: tokenselect, name: class_out}
  - {kind: dense, name: head, units: 1000}
"""


def _time(path: Path) -> dict[str, float]:
    """Best of three runs of each part: reading the file's bytes and parsing them (timed inside
    archcalc's read), the rest of the read (checks, shape inference on a weightless copy), and the
    import after it (operator table, names and blocks, shape check, YAML, analysis)."""
    import archcalc
    from archcalc.bridge import importer, read
    from archcalc.bridge.emit import to_yaml
    best: dict[str, float] = {}

    def keep(k: str, v: float) -> None:
        best[k] = min(best.get(k, float("inf")), v)
    for _ in range(3):
        t0 = time.perf_counter()
        model = read.read(path)
        t1 = time.perf_counter()
        imp = importer.convert(model)
        importer.name_layers(imp.layers)
        importer.check(imp, to_yaml(imp, flat=True), str(path))
        archcalc.analyze(archcalc.load(text=to_yaml(imp)))
        t2 = time.perf_counter()
        keep("file", model.timing["file"])
        keep("parse", model.timing["parse"])
        keep("checks", t1 - t0 - model.timing["file"] - model.timing["parse"])
        keep("rest", t2 - t1)
        keep("own", t2 - t0 - model.timing["file"] - model.timing["parse"])
        best["layers"] = len(imp.layers)
    return best


def _report(what: str, path: Path) -> None:
    t = _time(path)
    print(f"{what}: {path.stat().st_size / 1e6:.1f} MB, {int(t['layers'])} layers")
    print(f"  reading the file: {t['file']:.3f} s; parsing it (protobuf): {t['parse']:.3f} s")
    print(f"  archcalc: checks and shape inference {t['checks']:.3f} s; operator table, names, blocks, shape "
          f"check, YAML and analysis {t['rest']:.3f} s")
    print(f"  archcalc's own time beyond reading the file: {t['own']:.3f} s (target: under 1 s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch", action="store_true", help="also time torch.onnx.export of the torch reference copies")
    args = ap.parse_args()
    import archcalc
    from archcalc.bridge.onnx_out import export_onnx, save
    with tempfile.TemporaryDirectory() as d:
        for what, spec in (("ResNet-50 exported by archcalc", archcalc.load(ROOT / "specs" / "resnet50.yaml")),
                           ("ViT-B/16 exported by archcalc", archcalc.load(text=VIT_B_16))):
            path = Path(d) / "model.onnx"
            save(export_onnx(archcalc.build(spec)), path)
            _report(what, path)
            path.unlink()
        if args.torch:
            import torch
            torch.set_num_threads(1)
            sys.path.insert(0, str(ROOT / "tests"))
            from torchref import NETWORKS
            for name in ("resnet50", "vit_b_16"):
                if name not in NETWORKS:
                    print(f"{name}: not in tests/torchref's registry yet")
                    continue
                path = Path(d) / f"{name}.onnx"
                net = NETWORKS[name]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(net.model(), (torch.zeros(1, *net.input),), str(path), dynamo=False)
                _report(f"{name} exported by torch.onnx.export (TorchScript, opset 20)", path)
                path.unlink()


if __name__ == "__main__":
    main()
