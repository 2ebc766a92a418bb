"""Issue 16's speed target: importing an exported ResNet-50 (about 100 MB with weights) takes
under a second of archcalc's own time beyond reading the file. Prints both parts.

    python benchmarks/bench_import.py          # needs archcalc[onnx]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import onnx

    import archcalc
    from archcalc.bridge import importer, read
    from archcalc.bridge.emit import to_yaml
    from archcalc.bridge.onnx_out import export_onnx, save
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "resnet50.onnx"
        save(export_onnx(archcalc.build(archcalc.load(ROOT / "specs" / "resnet50.yaml"))), path)
        size = path.stat().st_size
        best_read = best_all = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            m = onnx.ModelProto()
            m.ParseFromString(path.read_bytes())
            t1 = time.perf_counter()
            model = read.read(path)
            imp = importer.convert(model)
            importer.name_layers(imp.layers)
            archcalc.analyze(archcalc.load(text=to_yaml(imp)))
            t2 = time.perf_counter()
            best_read, best_all = min(best_read, t1 - t0), min(best_all, t2 - t1)
    print(f"ResNet-50 exported by archcalc: {size / 1e6:.1f} MB")
    print(f"reading the file (protobuf parse alone): {best_read:.3f} s")
    print(f"import + analysis of the spec, file read included: {best_all:.3f} s; "
          f"archcalc's own time beyond reading: {best_all - best_read:.3f} s (target: under 1 s)")


if __name__ == "__main__":
    main()
