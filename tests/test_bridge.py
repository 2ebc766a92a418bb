"""Issue 16: ONNX and PyTorch in and out, and the four witnesses.

Tests that need the optional extras skip, visibly, without them (`pytest -ra` lists why);
.ci/run installs onnx, onnxruntime and torch 2.13.0 in a venv of its own and runs them all.
Figures: torchvision's num_params (weights metadata in torchvision/models/resnet.py);
MACs from the zoo specs, whose `expect:` blocks cite their sources.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import ROOT

import archcalc
from archcalc.walk import walk

SMALL = ["lenet5", "examples/conv_separable", "examples/conv_standard", "examples/inception_module",
         "examples/inception_bottleneck", "examples/inception_naive", "mobilenet_v1", "mobilenet_v2", "resnet18"]
BIG = ["alexnet", "vgg16", "vgg19", "googlenet", "plain34", "resnet34", "resnet50", "resnet101", "resnet152"]
ZOO = [pytest.param(s, id=s) for s in SMALL] + [pytest.param(s, id=s, marks=pytest.mark.slow) for s in BIG]


def _graph(name: str) -> archcalc.Graph:
    return archcalc.build(archcalc.load(ROOT / "specs" / f"{name}.yaml"))


def test_analytic_path_imports_no_extra() -> None:
    code = ("import sys, archcalc; archcalc.analyze('specs/resnet50.yaml');"
            "from archcalc.cli import main; sys.argv=['archcalc','summarize','specs/lenet5.yaml'];\n"
            "try: main()\nexcept SystemExit: pass\n"
            "bad = [m for m in ('onnx', 'onnxruntime', 'torch', 'numpy', 'archcalc.bridge') if m in sys.modules]\n"
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_kind_has_a_mapping_both_ways() -> None:
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    from archcalc.bridge.table import EXPORTERS, IMPORTERS
    from archcalc.kinds import REGISTRY
    kinds = {k for k, c in REGISTRY.items() if not c.internal and k != "unmapped"}
    assert kinds <= set(EXPORTERS), sorted(kinds - set(EXPORTERS))
    # every exported ONNX operator imports back
    for op in ("Conv", "Gemm", "BatchNormalization", "LRN", "Relu", "Clip", "Sigmoid", "Tanh", "HardSwish",
               "Softmax", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Pad",
               "Resize", "Dropout", "Add", "Sum", "Concat"):
        assert op in IMPORTERS, op


def _round_trip(tmp_path: Path, name: str) -> tuple[object, object, object]:
    from archcalc.bridge.importer import import_onnx
    from archcalc.bridge.onnx_out import export_onnx, save
    g = _graph(name)
    path = tmp_path / "m.onnx"
    save(export_onnx(g), path)
    text, imp = import_onnx(path)
    return walk(g), archcalc.analyze(archcalc.load(text=text)), imp


@pytest.mark.parametrize("name", ZOO)
def test_witness1_round_trip(tmp_path: Path, name: str) -> None:
    """spec -> ONNX -> spec: the same shapes, parameters and MACs, layer by layer."""
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    a, b, imp = _round_trip(tmp_path, name)
    rows = lambda an: [(r.kind, r.output_shape, r.trainable, r.non_trainable, r.macs) for r in an.rows]  # noqa: E731
    assert rows(a) == rows(b)
    assert b.totals.params == imp.initializer_floats  # the initializers are the parameters


def _executor_vs(graph: archcalc.Graph, run) -> float:
    import numpy as np

    from archcalc.bridge.layout import executor_weights
    from archcalc.execute import execute
    arrays = executor_weights(graph)
    x = np.random.default_rng(7).standard_normal((1, *graph.input_shape), dtype=np.float32)
    mapping = {f"{n.path}/{k}": a for n, ws in zip(graph.nodes, arrays, strict=True) for k, a in ws.items()}
    y = execute(graph, weights=mapping, input=x).outputs[graph.nodes[graph.outputs[-1]].path]
    got = run(arrays, x.transpose(0, 3, 1, 2).copy() if x.ndim == 4 else x)
    if got.ndim == 4:
        got = got.transpose(0, 2, 3, 1)
    return float(np.abs(got - y).max() / np.abs(y).max())


@pytest.mark.parametrize("name", ZOO)
def test_witness2_onnxruntime_agrees_with_the_executor(name: str) -> None:
    """A second runtime runs the exported model on the executor's weights: rel. error <= 1e-4."""
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    from archcalc.bridge.onnx_out import export_onnx
    g = _graph(name)

    def run(arrays, x):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(export_onnx(g, arrays=arrays).SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        return sess.run(None, {"input": x})[-1]
    assert _executor_vs(g, run) <= 1e-4


def _load_module(src: str, tmp_path: Path):
    p = tmp_path / "net.py"
    p.write_text(src)
    spec = importlib.util.spec_from_file_location(f"net_{abs(hash(src))}", p)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import torch
    return [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)][-1]


@pytest.mark.parametrize("name", ZOO)
def test_witness3_torch_module(tmp_path: Path, name: str) -> None:
    """The exported module: parameters = trainable parameters; output = the executor's."""
    torch = pytest.importorskip("torch", reason="needs archcalc[torch] (pip install torch==2.13.0)")
    torch.set_num_threads(1)
    from archcalc.bridge.torch_out import export_torch, state_dict
    g = _graph(name)
    model = _load_module(export_torch(g), tmp_path)().eval()
    assert sum(p.numel() for p in model.parameters()) == walk(g).totals.trainable_params

    def run(arrays, x):
        model.load_state_dict(state_dict(g, arrays, model), strict=False)
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    assert _executor_vs(g, run) <= 1e-4


def test_witness3_the_module_trains(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="needs archcalc[torch] (pip install torch==2.13.0)")
    torch.manual_seed(0)
    from archcalc.bridge.torch_out import export_torch
    model = _load_module(export_torch(_graph("resnet18")), tmp_path)().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([1, 2])
    before = model.fc.weight.detach().clone()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and not torch.equal(before, model.fc.weight)


def _torch_export(tmp_path: Path, name: str, seed: int = 0) -> Path:
    """torch.onnx.export of a plain-torch copy, with BatchNorm statistics like a trained model's."""
    torch = pytest.importorskip("torch", reason="needs archcalc[torch] (pip install torch==2.13.0)")
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    from bridge.nets import NETWORKS
    factory, chw, num_params, _ = NETWORKS[name]
    torch.manual_seed(seed)
    model = factory().eval()
    assert sum(p.numel() for p in model.parameters()) == num_params  # torchvision's num_params
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, *chw),), str(path), dynamo=False)
    return path


@pytest.mark.parametrize("name", ["resnet18", pytest.param("resnet50", marks=pytest.mark.slow)])
def test_witness4_torch_onnx_export_imports(tmp_path: Path, name: str) -> None:
    pytest.importorskip("torch", reason="needs archcalc[torch] (pip install torch==2.13.0)")
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    from bridge.nets import NETWORKS

    from archcalc.bridge.importer import import_onnx
    path = _torch_export(tmp_path, name)
    text, imp = import_onnx(path)
    an = archcalc.analyze(archcalc.load(text=text))
    own = archcalc.analyze(archcalc.load(ROOT / NETWORKS[name][3]))
    assert an.totals.macs == own.totals.macs            # MACs equal archcalc's own spec of the model
    assert an.totals.params == imp.initializer_floats   # parameters are the file's float elements
    assert imp.folded_bn == sum(r.kind == "batchnorm" for r in own.rows)  # said in the summary
    assert "folded" in text and an.rows[-1].output_shape == (1000,)
    # BatchNorm folded: the model's count less 4C per BatchNorm plus C bias per folded conv
    bn = sum(r.output_shape[-1] for r in own.rows if r.kind == "batchnorm")
    assert an.totals.params == own.totals.params - 4 * bn + bn
    if name == "resnet50":  # stages of bottleneck blocks, not 170 flat layers
        assert "repeat:" in text and text.count("{kind: layer,") == 4


def test_torch_import_keeps_batchnorm(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch", reason="needs archcalc[torch] (pip install torch==2.13.0)")
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    from archcalc.bridge.torch_in import import_torch
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    text, imp = import_torch("bridge.nets:resnet18", "3x224x224")
    an = archcalc.analyze(archcalc.load(text=text))
    assert an.totals.trainable_params == 11_689_512   # torchvision resnet18 num_params
    assert an.totals.macs == 1_814_073_344 == walk(_graph("resnet18")).totals.macs
    assert imp.folded_bn == 0


def test_flat_opts_out_of_blocks(tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="needs archcalc[onnx]")
    from archcalc.bridge.importer import import_onnx
    from archcalc.bridge.onnx_out import export_onnx, save
    save(export_onnx(_graph("resnet18")), tmp_path / "r.onnx")
    flat, _ = import_onnx(tmp_path / "r.onnx", flat=True)
    folded, _ = import_onnx(tmp_path / "r.onnx")
    assert "blocks:" not in flat and "blocks:" in folded
    a, b = archcalc.analyze(archcalc.load(text=flat)), archcalc.analyze(archcalc.load(text=folded))
    assert (a.totals.params, a.totals.macs, len(a.rows)) == (b.totals.params, b.totals.macs, len(b.rows))
