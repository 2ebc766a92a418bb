"""archcalc sweep: the MobileNet v1 paper's width and resolution tables, grids, speed, formats."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import SPECS, run

import archcalc
from archcalc.errors import SpecError
from archcalc.sweep import grid, sweep

MOBILENET = SPECS / "mobilenet_v1.yaml"

# Howard et al. 2017, Table 6 (width multiplier, 224 x 224): million mult-adds, million parameters.
# Keras' docstring copies this table with 529 for the first row: a misprint of 569.
TABLE6 = {"1": (569, 4.2), "0.75": (325, 2.6), "0.5": (149, 1.3), "0.25": (41, 0.5)}
# Table 7 (resolution, alpha 1.0): million mult-adds. 160 gives 290,675,200, which rounds to 291
# (TF-slim's model table prints 291); the paper prints 290, so that row matches within 1M.
TABLE7 = {224: 569, 192: 418, 160: 290, 128: 186}


def test_width_multiplier_table() -> None:
    s = sweep(archcalc.load(MOBILENET), {"alpha": list(TABLE6)})
    for p, (alpha, (madds, params)) in zip(s.points, TABLE6.items(), strict=True):
        assert round(p.macs / 1e6) == madds, alpha
        assert round(p.trainable_params / 1e6, 1) == params, alpha
        assert p.output_shape == (1000,)


def test_resolution_table() -> None:
    s = sweep(archcalc.load(MOBILENET), {"resolution": list(TABLE7)})
    got = {p.values["resolution"]: p.macs for p in s.points}
    assert got == {224: 568_740_352, 192: 418_121_728, 160: 290_675_200, 128: 186_400_768}
    for r, madds in TABLE7.items():
        assert abs(got[r] / 1e6 - madds) < 1
    assert all(p.trainable_params == 4_231_976 for p in s.points)  # resolution leaves parameters alone


def test_mobilenet_spec_figures() -> None:
    # conv 3x3/2: 112·112·32·(3·3·3) = 10,838,016; FC: 1024·1000 = 1,024,000 MACs, 1,025,000 params
    an = archcalc.analyze(MOBILENET)
    rows = {r.name: r for r in an.rows}
    assert rows["conv1"].macs == 112 * 112 * 32 * (3 * 3 * 3)
    assert rows["fc"].macs == 1024 * 1000 and rows["fc"].params == 1024 * 1000 + 1000
    assert rows["block13/pw_relu"].output_shape == (7, 7, 1024)
    assert an.totals.macs == 568_740_352 and an.totals.params == 4_253_864
    # BatchNorm running statistics: 2 per channel of every BN layer
    bn = sum(r.output_shape[-1] for r in an.rows if r.kind == "batchnorm")
    assert an.totals.non_trainable_params == 2 * bn == 21_888


def test_points_equal_full_analysis() -> None:
    spec = archcalc.load(MOBILENET)
    s = sweep(spec, {"alpha": ["0.75", "0.5"], "resolution": [192, 96]}, batches=[1, 3], dtype="float16")
    assert len(s.points) == 8
    for p in s.points:
        t = archcalc.analyze(spec, overrides=p.values, batch=p.batch, dtype="float16").totals
        assert (p.params, p.trainable_params, p.non_trainable_params, p.macs, p.flops, p.param_bytes,
                p.activation_bytes) == (t.params, t.trainable_params, t.non_trainable_params, t.macs, t.flops,
                                        t.param_bytes, t.activation_bytes)


def test_grid_order_first_axis_slowest() -> None:
    assert list(grid([("a", [1, 2]), ("b", [3, 4])])) == [
        {"a": 1, "b": 3}, {"a": 1, "b": 4}, {"a": 2, "b": 3}, {"a": 2, "b": 4}]


def test_input_sweep_any_spec() -> None:
    # LeNet-5 on 64 x 64: conv1 60·60·6·(5·5·1) = 540,000 MACs instead of 28·28·6·(5·5·1) = 117,600
    s = sweep(archcalc.load(SPECS / "lenet5.yaml"), inputs=[(32, 32, 1), (64, 64, 1)])
    assert [p.input_shape for p in s.points] == [(32, 32, 1), (64, 64, 1)]
    assert s.points[0].macs == 416_520
    assert s.points[1].macs > s.points[0].macs
    rows = {r.name: r for r in archcalc.analyze(SPECS / "lenet5.yaml", input_shape=(64, 64, 1)).rows}
    assert rows["conv1"].macs == 60 * 60 * 6 * (5 * 5 * 1)


def test_invalid_point_is_located() -> None:
    with pytest.raises(SpecError) as e:
        sweep(archcalc.load(SPECS / "lenet5.yaml"), inputs=[(8, 8, 1)])
    # 8 x 8 -> conv1 4 x 4 -> pool 2 x 2 -> conv2's 5 x 5 kernel does not fit: the error names its line
    assert e.value.loc is not None and e.value.loc.path.endswith("lenet5.yaml")
    assert "conv2" in str(e.value)


def test_reshaped_points_equal_fresh_builds() -> None:
    # one expansion per alpha, reshaped per input and batch (Graph.reshaped): every point must
    # equal a fresh analysis (speed is measured by benchmarks/bench_analytic.py, not here)
    spec = archcalc.load(MOBILENET)
    inputs = [(224, 224, 3), (160, 160, 3), (97, 131, 3)]
    s = sweep(spec, {"alpha": ["0.5", "1"]}, inputs=inputs, batches=[1, 2])
    assert len(s.points) == 2 * 3 * 2
    for p in s.points:
        an = archcalc.analyze(spec, overrides=p.values, input_shape=p.input_shape, batch=p.batch)
        t = an.totals
        assert (p.output_shape, p.params, p.macs, p.activation_bytes) == (
            an.outputs[-1].output_shape, t.params, t.macs, t.activation_bytes)
    # a variable holding a list ([f_h, f_w]) is expanded once per value and reshaped too:
    # 8 x 8 and 9 x 9 inputs under kernel [1, 3] give (8, 6) and (9, 7); under [3, 3], (6, 6) and (7, 7)
    k = archcalc.load(text="input: 8x8x3\nvars: {k: 3}\nlayers:\n  - {kind: conv, filters: 2, kernel: k}\n",
                      path="k.yaml")
    s = sweep(k, {"k": [[3, 3], [1, 3]]}, inputs=[(8, 8, 3), (9, 9, 3)])
    assert [p.output_shape for p in s.points] == [(6, 6, 2), (7, 7, 2), (8, 6, 2), (9, 7, 2)]
    # an input too small for the network still fails at its layer on a reshaped graph:
    # LeNet-5 on 8 x 8 -> conv1 4 x 4 -> pool 2 x 2, too small for conv2's 5 x 5 kernel
    with pytest.raises(SpecError, match="conv2"):
        sweep(archcalc.load(SPECS / "lenet5.yaml"), inputs=[(32, 32, 1), (8, 8, 1)])


def test_cli_table_and_formats() -> None:
    args = ("sweep", str(MOBILENET), "--set", "alpha=1,0.75,0.5,0.25", "--set", "resolution=224,192,160,128")
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert "16 points (4 alpha x 4 resolution)" in r.stdout
    assert "568,740,352" in r.stdout and "13,570,048" in r.stdout
    d = json.loads(run(*args, "-f", "json").stdout)
    assert d["axes"] == {"alpha": [1, 0.75, 0.5, 0.25], "resolution": [224, 192, 160, 128]}
    assert [p["macs"] for p in d["points"][:4]] == [568_740_352, 418_121_728, 290_675_200, 186_400_768]
    assert d["points"][0]["macs_ratio_to_first"] == {"fraction": "1/1", "value": 1.0}
    rows = list(csv.DictReader(io.StringIO(run(*args, "-f", "csv").stdout)))
    assert len(rows) == 16 and rows[4]["alpha"] == "0.75" and rows[4]["macs"] == "325400448"
    md = run(*args, "-f", "markdown").stdout
    assert md.startswith("**MobileNet-v1**") and "| 0.25 | 128 |" in md


def test_cli_input_and_batch_lists() -> None:
    r = run("sweep", str(SPECS / "vgg16.yaml"), "--input", "224x224x3,160x160x3", "--batch", "1,2", "-f", "json")
    assert r.exit_code == 0, r.output
    pts = json.loads(r.stdout)["points"]
    assert [(p["input_shape"], p["batch"]) for p in pts] == [
        ([224, 224, 3], 1), ([224, 224, 3], 2), ([160, 160, 3], 1), ([160, 160, 3], 2)]
    assert pts[1]["macs"] == 2 * 15_470_264_320


def test_cli_errors() -> None:
    assert run("sweep", str(MOBILENET), "--set", "alpha").exit_code == 1
    assert run("sweep", str(MOBILENET), "--set", "alpha=").exit_code == 1
    bad = run("sweep", str(MOBILENET), "--set", "alhpa=1,2")
    assert bad.exit_code == 1 and "did you mean 'alpha'" in bad.stderr
    assert run("sweep", str(MOBILENET), "--batch", "1,x").exit_code == 1


def test_sweep_plot_against_the_swept_variable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "alpha.svg"
    r = run("sweep", "specs/mobilenet_v1.yaml", "--set", "alpha=1,0.5", "--plot", str(out))
    assert r.exit_code == 0, r.stderr
    svg = out.read_text()
    assert svg.startswith("<?xml") and "alpha" in svg
    r = run("sweep", "specs/mobilenet_v1.yaml", "--set", "alpha=1,0.5", "--set", "resolution=224,128",
            "--plot", str(tmp_path / "two.svg"))
    assert r.exit_code == 1 and r.stdout == "" and "has 2 axes" in r.stderr
