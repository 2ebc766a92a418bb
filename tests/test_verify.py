"""`archcalc run` and `archcalc verify`: every spec in specs/ verifies; disagreements exit 3."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, SPECS, run, run_on_terminal, run_process, setting_id, zoo_settings

import archcalc
from archcalc.execute import ExecError, execute

#: Specs above this many MACs run in CI's slow step (the analytic count is instant to get).
SLOW_MACS = 100_000_000


def _param(p, v):
    marks = [pytest.mark.slow] if archcalc.analyze(p, variant=v).totals.macs > SLOW_MACS else []
    return pytest.param(setting_id(p, v), marks=marks, id=setting_id(p, v))


@pytest.mark.parametrize("setting", [_param(p, v) for p, v in zoo_settings()])
def test_every_spec_verifies(setting):
    r = run("verify", str(SPECS / setting))
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "agree" in r.stdout


#: The smallest member of each family, at a small input, in the default suite (every member runs
#: at full size above, in the slow step): the same layers, shapes and counts, a fraction of the time.
#: Inception-v3's auxiliary head needs the 17 x 17 grid of a 299 x 299 input (its 5x5 convolution
#: follows a 5x5/3 pool): at a small input it is left out, and its training pass runs at full size.
SMALL = [("squeezenet.yaml@squeezenet1_0,resolution=64"), ("squeezenet.yaml@squeezenet1_1,resolution=64"),
         ("densenet.yaml@densenet121,resolution=64"), ("inception_v3.yaml@resolution=75,aux_logits=false"),
         ("resnet50.yaml@resnext50_32x4d,resolution=64"), ("resnet50.yaml@wide_resnet50_2,resolution=32"),
         ("mobilenet_v2.yaml@resolution=64"), ("googlenet.yaml@aux_logits,resolution=64"),
         ("mobilenet_v3.yaml@mobilenet_v3_large,resolution=64"), ("efficientnet.yaml@efficientnet_b0,resolution=64"),
         ("shufflenet_v2.yaml@shufflenet_v2_x1_0,resolution=64")]


@pytest.mark.parametrize("setting", SMALL)
@pytest.mark.parametrize("train", [False, True], ids=["inference", "train"])
def test_families_verify_small(setting, train):
    r = run("verify", str(SPECS / setting), *(["--train"] if train else []))
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "agree" in r.stdout


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["inception_v3.yaml", "googlenet.yaml@aux_logits"])
def test_training_pass_verifies(setting):
    r = run("verify", str(SPECS / setting), "--train")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "training pass" in r.stdout and "agree" in r.stdout


def test_disagreement_exits_3_naming_layer_and_figures(monkeypatch):
    from archcalc.formula import q
    from archcalc.kinds.dense import Dense
    monkeypatch.setattr(Dense, "macs", lambda self, ins, out: q("wrong", ins[0][0] * out[0] + 1))
    r = run("verify", str(SPECS / "lenet5.yaml"))
    assert r.exit_code == 3
    assert "layer 'fc2' (dense): multiplications: analytic 10081, executed 10080" in r.stderr
    assert "3 of 13 layers disagree" in r.stderr


def test_batch_counts_are_totals():
    an = archcalc.analyze(SPECS / "lenet5.yaml", batch=3, overrides={"softmax": True})
    ex = execute(an.graph)
    assert ex.batch == 3 and ex.macs == an.totals.macs == 3 * 416_520
    assert ex.outputs["softmax1"].shape == (3, 10)
    np.testing.assert_allclose(ex.outputs["softmax1"].sum(axis=1), 1, rtol=1e-5)


def test_seed_weights_and_input_files(tmp_path):
    graph = archcalc.analyze(SPECS / "lenet5.yaml", overrides={"softmax": True}).graph
    a = execute(graph, seed=1)
    b = execute(graph, seed=1)
    c = execute(graph, seed=2)
    assert np.array_equal(a.outputs["softmax1"], b.outputs["softmax1"])
    assert not np.array_equal(a.outputs["softmax1"], c.outputs["softmax1"])
    # weights and input from files: a float64 run with the same arrays as a float32 run agrees closely
    rng = np.random.default_rng(0)
    ws = {}
    for node in graph.nodes:
        k = node.kind
        if k.name == "conv":
            cin = 1 if node.path == "conv1" else 6
            ws[f"{node.path}/kernel"] = rng.standard_normal((5, 5, cin, k.filters)) * 0.2
            ws[f"{node.path}/bias"] = rng.standard_normal(k.filters) * 0.1
        elif k.name == "dense":
            n_in = {"fc1": 400, "fc2": 120, "fc3": 84}[node.path]
            ws[f"{node.path}/kernel"] = rng.standard_normal((n_in, k.units)) * 0.1
            ws[f"{node.path}/bias"] = np.zeros(k.units)
    np.savez(tmp_path / "w.npz", **ws)
    np.save(tmp_path / "x.npy", rng.standard_normal((2, 32, 32, 1)))
    r32 = run("run", str(SPECS / "lenet5.yaml"), "--weights", str(tmp_path / "w.npz"), "--input-array",
              str(tmp_path / "x.npy"), "-o", str(tmp_path / "y32.npy"))
    assert r32.exit_code == 0, r32.stderr
    r64 = run("run", str(SPECS / "lenet5.yaml"), "--weights", str(tmp_path / "w.npz"), "--input-array",
              str(tmp_path / "x.npy"), "-o", str(tmp_path / "y64.npy"), "--dtype", "float64")
    assert r64.exit_code == 0, r64.stderr
    y32, y64 = np.load(tmp_path / "y32.npy"), np.load(tmp_path / "y64.npy")
    assert y32.dtype == np.float32 and y64.dtype == np.float64 and y64.shape == (2, 10)
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-6)
    del ws["fc3/bias"]
    np.savez(tmp_path / "bad.npz", **ws)
    bad = run("run", str(SPECS / "lenet5.yaml"), "--weights", str(tmp_path / "bad.npz"))
    assert bad.exit_code == 1 and "no array for fc3/bias" in bad.stderr


def test_column_major_weights_are_the_row_major_values():
    """linear and attention kernels are stored transposed in memory (Forward.column_major): the
    seeded values are those of the row-major draw, and a weights file gives the same output as the
    seeded run whose weights it holds."""
    from archcalc.execute import _init
    for dt in (np.dtype("float32"), np.dtype("float64")):
        a = _init(np.random.default_rng(3), "kernel", (700, 400), dt)
        b = _init(np.random.default_rng(3), "kernel", (700, 400), dt, column_major=True)
        assert b.flags.f_contiguous and not b.flags.c_contiguous and np.array_equal(a, b)
    spec = archcalc.load(text="input: 2x3x6\nlayers:\n  - {kind: tokens}\n  - {kind: linear, name: fc, units: 8}\n"
                              "  - {kind: attention, name: att, heads: 2}\n")
    graph = archcalc.analyze(spec).graph
    ex = execute(graph, seed=4)
    rng = np.random.default_rng(4)  # drawn as execute draws them: layer order, then the input
    ws = {"fc/kernel": _init(rng, "kernel", (6, 8), np.dtype("float32")),
          "fc/bias": _init(rng, "bias", (8,), np.dtype("float32"))}
    for k, s in (("qkv_kernel", (8, 24)), ("qkv_bias", (24,)), ("proj_kernel", (8, 8)), ("proj_bias", (8,))):
        ws[f"att/{k}"] = _init(rng, k, s, np.dtype("float32"))
    x = rng.standard_normal((1, 2, 3, 6), dtype=np.float32)
    again = execute(graph, weights=ws, input=x)
    assert np.array_equal(again.outputs["att"], ex.outputs["att"])


def test_memory_limit_refuses_before_running():
    graph = archcalc.analyze(SPECS / "vgg16.yaml").graph
    with pytest.raises(ExecError, match="needs about .* more than the 100.0 MiB allowed"):
        execute(graph, max_memory=100 * 2**20)
    r = run("verify", str(SPECS / "vgg16.yaml"), "--max-memory", "64M")
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "--max-memory" in r.stderr


def test_default_limit_is_the_memory_available(monkeypatch):
    """No --max-memory: the limit is what the machine has available (MemAvailable)."""
    from archcalc import execute as ex_mod
    assert ex_mod.available_memory() > 0
    monkeypatch.setattr(ex_mod, "available_memory", lambda: 200 * 2**20)
    with pytest.raises(ExecError, match="more than the 200.0 MiB allowed"):
        execute(archcalc.analyze(SPECS / "vgg16.yaml").graph)  # 528 MiB of parameters alone
    r = run("run", str(SPECS / "vgg16.yaml"))
    assert r.exit_code == 1 and "more than the 200.0 MiB allowed" in r.stderr and "--max-memory" in r.stderr


def test_peak_estimate_vgg16():
    """VGG-16's estimate is parameters + conv1_2's input and output + that conv's band scratch:
    the ReLUs write over their input, and nothing else is live then (not the sum of activations)."""
    from archcalc.execute import _plan
    from archcalc.forward.conv import CHUNK_BYTES
    an = archcalc.analyze(SPECS / "vgg16.yaml")
    plan = _plan(an.graph, np.dtype("float32"), 1)
    assert plan.param_bytes == an.totals.params * 4
    act = 224 * 224 * 64 * 4
    # conv1_2 bands: rows of 224 windows of 3 x 3 x 64 floats, as many as fit in CHUNK_BYTES (8 at 4 MiB);
    # its slab holds the band's padded input rows (band + 2) x 226 x 64, its im2col block band x 224 x 576
    band = CHUNK_BYTES // (224 * 576 * 4)
    scratch = ((band + 2) * 226 * 64 + band * 224 * 576) * 4
    assert plan.peak - plan.param_bytes == 2 * act + scratch


def test_estimate_bounds_what_numpy_allocates():
    """tracemalloc sees every NumPy buffer: the run's peak stays within the dry run's estimate,
    and above what it must hold (parameters plus the largest activation)."""
    import tracemalloc

    from archcalc.execute import _plan
    for name, kw in (("lenet5.yaml", {"batch": 4}), ("mobilenet_v2.yaml", {"input_shape": (64, 64, 3)}),
                     ("resnet18.yaml", {"input_shape": (64, 64, 3)}), ("googlenet.yaml", {"input_shape": (96, 96, 3)})):
        an = archcalc.analyze(SPECS / name, **kw)
        plan = _plan(an.graph, np.dtype("float32"), an.batch)
        execute(an.graph, keep=False)  # once untraced: first calls allocate NumPy's and Python's own caches
        tracemalloc.start()
        try:
            execute(an.graph, keep=False)
            _, traced = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        largest = max(r.activation_elems for r in an.rows) * an.batch * 4
        # 256 KiB: the interpreter's own allocations during the run (records, dicts), not arrays
        assert plan.param_bytes + largest <= traced <= plan.peak + (256 << 10), name


def test_run_output_is_only_results_when_piped():
    r = run_process("run", "specs/examples/conv_standard.yaml")
    assert r.returncode == 0 and r.stderr == ""
    assert "2,160" in r.stdout


def test_input_array_sets_the_batch_of_run_and_analysis(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((2, 32, 32, 1)))
    r = run("verify", str(SPECS / "lenet5.yaml"), "--input-array", str(tmp_path / "x.npy"))
    assert r.exit_code == 0, r.stderr
    assert "batch 2" in r.stdout and f"{2 * 416_520:,} multiplications" in r.stdout  # 416,520: LeNet-5 at batch 1
    r = run("verify", str(SPECS / "lenet5.yaml"), "--input-array", str(tmp_path / "x.npy"), "--batch", "3")
    assert r.exit_code == 1 and "holds a batch of 2, but --batch is 3" in r.stderr


@pytest.mark.parametrize("what,content,message", [
    ("--input-array", b"garbage", "it is not a NumPy .npy or .npz file"),
    ("--weights", b"garbage", "it is not a NumPy .npy or .npz file"),
    ("--input-array", "npz", "is an .npz archive, not one array"),
    ("--weights", "npy", "holds a single array, not an .npz archive"),
    ("--input-array", "strings", "holds <U1 values, not numbers"),
    ("--input-array", "shape", "the input array has shape (5, 5); the spec expects N x 32 x 32 x 1"),
    ("--weights", "shape", "weights file: conv1/kernel has shape (3, 3, 1, 6), the layer needs (5, 5, 1, 6)"),
])
def test_bad_arrays_are_refused_with_a_message(tmp_path, what, content, message):
    f = tmp_path / "f.npy"
    if content == "npz":
        np.savez(tmp_path / "f.npz", a=np.ones(3))
        f = tmp_path / "f.npz"
    elif content == "npy":
        np.save(f, np.ones(3))
    elif content == "strings":
        np.save(f, np.array(["a", "b"]))
    elif content == "shape" and what == "--input-array":
        np.save(f, np.ones((5, 5)))
    elif content == "shape":
        graph = archcalc.analyze(SPECS / "lenet5.yaml").graph
        from archcalc.execute import _plan
        want = {f"{n.path}/{k}": np.zeros(s) for n, ws in zip(graph.nodes, _plan(graph, np.dtype("float32"), 1).weights,
                                                              strict=True) for k, (s, _) in ws.items()}
        want["conv1/kernel"] = np.zeros((3, 3, 1, 6))
        f = tmp_path / "w.npz"
        np.savez(f, **want)
    else:
        f.write_bytes(content)
    r = run("run", str(SPECS / "lenet5.yaml"), what, str(f))
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_output_folder_checked_before_running(tmp_path):
    r = run("run", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / "missing" / "y.npy"))
    assert r.exit_code == 1 and "does not exist" in r.stderr and r.stdout == ""


def test_progress_on_a_terminal_only():
    """stderr a terminal: rich draws progress there; stdout still holds only the table."""
    p, seen = run_on_terminal("run", "specs/lenet5.yaml", env={"TERM": "xterm"}, stream="stderr")
    assert p.returncode == 0
    assert b"running" in seen  # the progress task's label, drawn by rich
    assert b"\x1b[" not in p.stdout and b"416,520" in p.stdout
    p, seen = run_on_terminal("run", "specs/lenet5.yaml", env={"TERM": "dumb"}, stream="stderr")
    assert p.returncode == 0 and b"\x1b" not in seen  # a progress bar redraws with escapes: none on dumb


def test_summarize_never_imports_numpy():
    code = ("import sys, archcalc.cli as c\n"
            "from click.testing import CliRunner\n"
            "r = CliRunner().invoke(c.cli, ['summarize', 'specs/lenet5.yaml'])\n"
            "assert r.exit_code == 0, r.output\n"
            "assert 'numpy' not in sys.modules, 'numpy imported'\n")
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert p.returncode == 0, p.stderr


#: One layer on a map (after the input), through each path perf's forwards take, with the scratch
#: each declares: conv's bands, its gathered 1x1 strided copy, its direct 1x1 (none), a conv with
#: groups = C run as depthwise (the padded slab, the weights repeated along a row), depthwise's row
#: and pixel forms (strided, with a multiplier), LayerNorm and GroupNorm by blocks (a crop's copy
#: when strided), SiLU and GELU by blocks.
_L, _L2 = "\nlayers:\n  - ", "\n  - "
SCRATCH_PATHS = {
    "conv bands": "input: 64x64x32" + _L + "{kind: conv, filters: 32, kernel: 3, padding: same}",
    "conv 1x1 gathered": "input: 128x128x64" + _L + "{kind: conv, filters: 16, kernel: 1, stride: 2}",
    "conv 1x1 direct": "input: 128x128x64" + _L + "{kind: conv, filters: 16, kernel: 1}",
    "conv groups=C": "input: 112x112x32" + _L + "{kind: conv, filters: 64, kernel: 3, groups: 32, padding: same}",
    "depthwise rows": "input: 112x112x48" + _L + "{kind: depthwise, kernel: 3, padding: same}",
    "depthwise pixels": "input: 56x56x256" + _L + "{kind: depthwise, kernel: 5, padding: same}",
    "depthwise stride 2": "input: 112x112x48" + _L + "{kind: depthwise, kernel: 3, stride: 2, padding: same}",
    "depthwise multiplier": "input: 112x112x24" + _L + "{kind: depthwise, kernel: 3, multiplier: 2, padding: same}",
    "layernorm": "input: 64x64x64" + _L + "{kind: layernorm}",
    "layernorm of a crop": "input: 64x64x64" + _L + "{kind: crop, size: [60, 60]}" + _L2 + "{kind: layernorm}",
    "groupnorm": "input: 64x64x64" + _L + "{kind: groupnorm, groups: 8}",
    "groupnorm of a crop": "input: 64x64x64" + _L + "{kind: crop, size: [60, 60]}" + _L2
                           + "{kind: groupnorm, groups: 8}",
    "silu": "input: 64x64x64" + _L + "{kind: conv, filters: 64, kernel: 1}" + _L2 + "{kind: silu}",
    "gelu": "input: 64x64x64" + _L + "{kind: gelu}",
}


def _traced_over_plan(text: str, dtype: str) -> int:
    import tracemalloc

    from archcalc.execute import _plan
    an = archcalc.analyze(archcalc.load(text=text + "\n"))
    plan = _plan(an.graph, np.dtype(dtype), 1)
    execute(an.graph, keep=False, dtype=dtype)  # once untraced: NumPy's and Python's own caches
    tracemalloc.start()
    try:
        execute(an.graph, keep=False, dtype=dtype)
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return traced - plan.peak


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", list(SCRATCH_PATHS))
def test_each_forward_path_keeps_to_its_scratch(path: str, dtype: str) -> None:
    """Where the layer's scratch decides the peak, what NumPy allocates stays within the plan's
    estimate by no more than a ReLU over the same map does (the run's own records, 4 KiB), one
    buffer of NumPy's ufunc loop (np.getbufsize() values: `y += bias` broadcasts through it, 33 KiB
    in float32, measured; the plan does not count it), and 16 KiB: each path's scratch (0.9 to 2.6 MiB
    here) would show were it uncounted."""
    base = _traced_over_plan("input: 128x128x64" + _L + "{kind: relu}", dtype)
    loop = np.getbufsize() * np.dtype(dtype).itemsize
    assert _traced_over_plan(SCRATCH_PATHS[path], dtype) <= base + loop + (16 << 10), path
