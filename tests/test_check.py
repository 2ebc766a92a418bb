"""`archcalc check`: expect/budget blocks, verdicts, exit codes, JSON, folders."""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, run, run_process
from test_memory import RESIDUAL as MEMORY_RESIDUAL

from archcalc.check import check_paths, check_spec, exit_code, parse_expect
from archcalc.errors import SpecError
from archcalc.spec import load

# The notes' Figure 100: a 6 x 6 x 3 input, five 3 x 3 x 3 filters, no bias.
# params 5·27 = 135; MACs (3·3·3)·(4·4)·5 = 2,160; output 4 x 4 x 5.
BASE = """\
name: fig100
input: 6x6x3
vars: {filters: 5}
layers:
  - {kind: conv, name: conv, filters: filters, kernel: 3, bias: false}
"""


def spec(expect: str = "", budget: str = "") -> str:
    text = BASE
    if expect:
        text += "expect:\n" + expect
    if budget:
        text += "budget:\n" + budget
    return text


GOOD = spec('  params: {value: 135, source: "5·27 (arithmetic)"}\n'
            '  macs: {value: 2160, source: "notes, Figure 100"}\n'
            '  output_shape: {value: [4, 4, 5], source: "notes, Figure 100"}\n')


def test_pass(write) -> None:
    res = run("check", str(write(GOOD)))
    assert res.exit_code == 0
    assert res.output.startswith("PASS ")
    assert "3 figures hold" in res.output


def test_wrong_figure_exits_3_with_readable_diff(write) -> None:
    # vgg16.yaml edited to a wrong parameter count (one too many)
    text = (SPECS / "vgg16.yaml").read_text().replace("value: 138357544", "value: 138357545")
    res = run("check", str(write(text, "vgg16.yaml")))
    assert res.exit_code == 3
    assert "FAIL" in res.output
    assert "params: declared 138,357,545, computed 138,357,544, difference -1" in res.output
    assert "source: torchvision vgg16" in res.output
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "138357545" in s)
    assert f"vgg16.yaml:{line}:" in res.output


def test_tolerance(write) -> None:
    within = spec('  macs: {value: 2000, source: "rounded", tolerance: 160}\n')
    beyond = spec('  macs: {value: 2000, source: "rounded", tolerance: 159}\n')
    assert run("check", str(write(within, "a.yaml"))).exit_code == 0
    res = run("check", str(write(beyond, "b.yaml")))
    assert res.exit_code == 3
    assert "difference +160, tolerance 159" in res.output


def test_output_shape(write) -> None:
    assert run("check", str(write(spec('  output_shape: {value: 4x4x5, source: "notes"}\n')))).exit_code == 0
    res = run("check", str(write(spec('  output_shape: {value: [4, 4, 6], source: "notes"}\n'), "b.yaml")))
    assert res.exit_code == 3
    assert "output_shape: declared 4 x 4 x 6, computed 4 x 4 x 5" in res.output


def test_missing_source_is_invalid_with_location(write) -> None:
    p = write(spec("  params: {value: 135}\n"))
    res = run("check", str(p))
    assert res.exit_code == 1
    line = spec("  params: {value: 135}\n").splitlines().index("  params: {value: 135}") + 1
    assert f"{p}:{line}:11: expect.params names no `source`" in res.stderr
    assert "ERROR" in res.stdout


@pytest.mark.parametrize("entry, message", [
    ('  params: {value: 135, source: ""}\n', "`source` must be non-empty text"),
    ("  params: 135\n", "expect.params is a mapping"),
    ('  parms: {value: 135, source: "x"}\n', "did you mean 'params'?"),
    ('  params: {value: 135, source: "x", tolerence: 1}\n', "did you mean 'tolerance'?"),
    ('  params: {source: "x"}\n', "expect.params has no `value`"),
    ('  params: {value: -1, source: "x"}\n', "whole number"),
    ('  params: {value: 135, source: "x", tolerance: 0.5}\n', "tolerance must be a whole number"),
    ('  output_shape: {value: [4, 0], source: "x"}\n', "list of positive sizes"),
])
def test_malformed_expect(write, entry: str, message: str) -> None:
    res = run("check", str(write(spec(entry))))
    assert res.exit_code == 1
    assert message in res.stderr


def test_parse_expect_library() -> None:
    s = load(text=spec('  macs: {value: 2_160, source: " notes "}\n'), path="t.yaml")
    (e,) = parse_expect(s.root)
    assert (e.key, e.value, e.source, e.tolerance, e.loc.line) == ("macs", 2160, "notes", 0, 7)
    with pytest.raises(SpecError) as ei:
        parse_expect(load(text=spec('  macs: {value: 1, source: "x", tolerance: 1}\n'
                                    '  output_shape: {value: [1], source: "x", tolerance: 1}\n'),
                          path="t.yaml").root)
    assert "takes no `tolerance`" in ei.value.message


def test_budgets(write) -> None:
    ok = spec(budget="  max_params: 135\n  max_macs: 2160\n  max_activation_bytes: 1000000\n")
    res = run("check", str(write(ok, "ok.yaml")))
    assert res.exit_code == 0 and "3 budgets hold" in res.output
    over = spec(budget="  max_macs: 2000\n")
    res = run("check", str(write(over, "over.yaml")))
    assert res.exit_code == 3
    assert "max_macs: computed 2,160, budget 2,000 (over by 160)" in res.output
    res = run("check", str(write(spec(budget="  max_mac: 1\n"), "typo.yaml")))
    assert res.exit_code == 1 and "did you mean 'max_macs'?" in res.stderr


def test_set_applies_to_budgets(write) -> None:
    p = write(spec(budget="  max_params: 200\n"))
    assert run("check", str(p)).exit_code == 0
    res = run("check", str(p), "--set", "filters=8")  # 8·27 = 216 > 200
    assert res.exit_code == 3 and "over by 16" in res.output


def test_json(write) -> None:
    bad = spec('  params: {value: 136, source: "typo"}\n', "  max_macs: 5000\n")
    res = run("check", "--format", "json", str(write(bad)))
    assert res.exit_code == 3
    doc = json.loads(res.output)
    assert doc["schema_version"] == 1 and doc["ok"] is False and doc["exit_code"] == 3
    (s,) = doc["specs"]
    assert s["status"] == "fail" and s["name"] == "fig100"
    params, budget = s["checks"]
    assert (params["declared"], params["computed"], params["difference"], params["ok"]) == (136, 135, -1, False)
    assert budget["kind"] == "budget" and budget["ok"] is True


def test_json_invalid(write) -> None:
    res = run("check", "-f", "json", str(write(spec("  params: {value: 135}\n"))))
    assert res.exit_code == 1
    (s,) = json.loads(res.output)["specs"]
    assert s["status"] == "invalid" and "no `source`" in s["error"]["message"] and s["error"]["location"]


def test_folder_traversal(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "sub" / "b.yml").write_text(GOOD)
    (tmp_path / ".hidden" / "c.yaml").write_text("not: [a spec")
    (tmp_path / "notes.txt").write_text("ignored")
    res = run("check", str(tmp_path))
    assert res.exit_code == 0
    assert "2 specs: 2 passed" in res.output
    # one wrong figure: 3; one invalid spec besides: 1, and the others are still checked
    (tmp_path / "sub" / "wrong.yaml").write_text(GOOD.replace("value: 135", "value: 134"))
    assert run("check", str(tmp_path)).exit_code == 3
    (tmp_path / "sub" / "broken.yaml").write_text(BASE + "expect: [1]\n")
    res = run("check", str(tmp_path))
    assert res.exit_code == 1
    assert "4 specs: 2 passed, 1 failed, 1 invalid" in res.output


def test_folder_without_specs_and_missing_file(tmp_path) -> None:
    assert run("check", str(tmp_path)).exit_code == 1
    res = run("check", str(tmp_path / "nope.yaml"))
    assert res.exit_code == 1 and "no such file" in res.stderr


def test_unchecked_and_non_specs(write, tmp_path) -> None:
    res = run("check", str(write(BASE)))
    assert res.exit_code == 0 and "SKIP" in res.output
    ci = write("on: push\njobs: {}\n", "workflow.yaml")
    assert run("check", str(ci)).exit_code == 1
    res = run("check", "--skip-non-specs", str(ci), str(write(GOOD, "good.yaml")))
    assert res.exit_code == 0 and "1 spec: 1 passed" in res.output


# --- the pre-commit hook: only spec files are judged ---------------------------------------------

NOT_SPECS = {
    # a map's tile set: `layers:` of another tool, no `input:`, no `kind:`
    "tiles.yaml": "name: city\nlayers:\n  - {name: roads, url: tiles/roads}\n  - {name: water, zoom: [3, 12]}\n",
    "workflow.yml": "on: push\njobs: {test: {runs-on: ubuntu-latest}}\n",
    # a Helm template: not YAML until rendered
    "chart.yaml": "layers:\n{{- range .Values.layers }}\n  - name: {{ . }}\n{{- end }}\n",
    "list.yaml": "- layers: 1\n",
}
JUDGED = {  # specs, each with a mistake the hook must report (exit 1)
    "no_input.yaml": "layers:\n  - {kind: conv, filters: 2, kernel: 3}\n",
    "syntax.yaml": "input: 8x8x3\nlayers: [\n  {kind: relu\n",
    "bad_layers.yaml": "input: 8x8x3\nlayers: {kind: relu}\n",
}


def hook_run(tmp_path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    """What pre-commit runs: the hook's entry with the staged files its `files:` pattern selects."""
    import re

    import yaml
    from conftest import ROOT
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    staged = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        if re.search(hook["files"], name):
            staged.append(str(tmp_path / name))
    prog, *args = hook["entry"].split()
    assert prog == "archcalc"
    return run(*args, *staged)


def test_hook_judges_only_specs(tmp_path) -> None:
    r = hook_run(tmp_path, {**NOT_SPECS, "good.yaml": GOOD, "notes.txt": "layers: 1\n"})
    assert r.exit_code == 0 and "1 spec: 1 passed" in r.output
    for name in NOT_SPECS:
        assert name not in r.output and name not in r.stderr
    for name, text in JUDGED.items():
        r = hook_run(tmp_path, {name: text})
        assert r.exit_code == 1 and f"ERROR {tmp_path / name}" in r.output, name
    r = hook_run(tmp_path, {"no_input.yaml": JUDGED["no_input.yaml"]})
    assert "the spec has no `input:`" in r.stderr


def test_what_marks_a_spec() -> None:
    from archcalc.check import is_spec_text
    assert is_spec_text({"input": "4x4x1", "layers": []})
    assert is_spec_text({"layers": [{"name": "a"}, {"kind": "relu"}]})
    assert not is_spec_text({"layers": [{"name": "roads"}]})
    assert not is_spec_text({"input": "4x4x1"}) and not is_spec_text([{"layers": 1}]) and not is_spec_text(None)


def test_library_exit_code(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    results = check_paths([tmp_path])
    assert [r.status for r in results] == ["pass"] and exit_code(results) == 0


def test_exit_code_in_a_real_process(write) -> None:
    p = write(GOOD.replace("value: 2160", "value: 2161"))
    proc = run_process("check", str(p))
    assert proc.returncode == 3
    assert "macs: declared 2,161, computed 2,160, difference -1" in proc.stdout


# --- peak activation memory ---------------------------------------------------------------------

# test_memory's residual spec: every tensor is 4·4·2 = 32 values, 128 B in float32. Inference in spec
# order: step a holds input + a; step b holds input (read later by c) + a (read by b) + b = 3 x 128 =
# 384 B; step c holds input + b + c = 384 B (a tie: the first step is named); step d holds c + d = 256 B.
# Peak 384 B at b.
RESIDUAL = "name: residual" + MEMORY_RESIDUAL.rstrip() + "\n"


def test_peak_budget_fails_and_passes(write) -> None:
    p = write(RESIDUAL + "budget:\n  max_peak_activation_bytes: 383\n")
    res = run("check", str(p))
    assert res.exit_code == 3
    assert f"{p}:9:30: max_peak_activation_bytes: computed 384, budget 383 (over by 1; peak at b)" in res.output
    assert run("check", str(write(RESIDUAL + "budget:\n  max_peak_activation_bytes: 384\n", "ok.yaml"))).exit_code == 0
    # float16 halves every tensor: 3 x 64 = 192 B fits a 383 B budget; a batch of 2 doubles it: 768 B
    assert run("check", str(p), "--dtype", "float16").exit_code == 0
    res = run("check", str(p), "--batch", "2", "-f", "json")
    (f,) = json.loads(res.stdout)["specs"][0]["checks"]
    assert (f["computed"], f["at"], f["ok"]) == (768, "b", False)


def test_peak_expectation(write) -> None:
    ok = RESIDUAL + 'expect:\n  peak_activation_bytes: {value: 384, source: "3 x 4·4·2 x 4 B (arithmetic above)"}\n'
    assert run("check", str(write(ok))).exit_code == 0
    res = run("check", str(write(ok.replace("value: 384", "value: 256"), "b.yaml")))
    assert res.exit_code == 3
    assert "peak_activation_bytes: declared 256, computed 384, difference +128" in res.output
    assert "peak at b)" in res.output


# --- convention profiles ------------------------------------------------------------------------

DATA = SPECS.parent / "tests" / "data"
# What the tools printed for torchvision's models (issue 8: torch 2.13 CPU, each tool's defaults)
RESNET_PRINTED = """\
expect:
  conventions:
    torchinfo: {value: 4_089_238_376, source: "torchinfo 1.8 Total mult-adds"}
    ptflops: {value: 4_132_436_968, source: "ptflops 0.7.5 pytorch backend"}
    fvcore: {value: 4_111_512_576, source: "fvcore 0.1.5 FlopCountAnalysis.total()"}
    thop: {value: 4_133_742_592, source: "thop 0.1.1 profile"}
"""
VGG_PRINTED = """\
expect:
  conventions:
    torch_ops: {avgpool: AdaptiveAvgPool2d}   # torchvision's AdaptiveAvgPool2d((7, 7))
    torchinfo: {value: 15_483_821_032, source: "torchinfo 1.8 Total mult-adds"}
    ptflops: {value: 15_523_225_576, source: "ptflops 0.7.5 pytorch backend"}
    fvcore: {value: 15_470_289_408, source: "fvcore 0.1.5 FlopCountAnalysis.total()"}
    thop: {value: 15_470_314_496, source: "thop 0.1.1 profile"}
"""


def _tv(name: str, tail: str) -> str:
    return (DATA / name).read_text(encoding="utf-8") + tail


def test_printed_figures_hold(write) -> None:
    res = run("check", str(write(_tv("resnet50_tv.yaml", RESNET_PRINTED), "r.yaml")),
              str(write(_tv("vgg16_tv.yaml", VGG_PRINTED), "v.yaml")))
    assert res.exit_code == 0, res.output + res.stderr
    assert "PASS" in res.output and "4 figures hold (tool counts: torchinfo, ptflops, fvcore, thop)" in res.output


def test_printed_figure_off_by_one(write) -> None:
    text = _tv("resnet50_tv.yaml", RESNET_PRINTED.replace("4_089_238_376", "4_089_238_377"))
    p = write(text, "r.yaml")
    res = run("check", str(p))
    assert res.exit_code == 3
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "4_089_238_377" in s)
    assert (f"{p}:{line}:24: conventions.torchinfo: declared 4,089,238,377, computed 4,089,238,376, "
            "difference -1") in res.output
    # the figure explained: ResNet-50's MACs + fc's 1,000 bias adds + 2C per BatchNorm layer (53,120,
    # tests/test_profiles.py: 2 x (64 + the stages' 6w per block + 4w per downsample))
    assert "torchinfo 1.8 'Total mult-adds' 4,089,238,376 = macs 4,089,184,256 + bias_adds 1,000 + batchnorm 53,120" \
        in res.output


def test_vgg_without_its_torch_ops(write) -> None:
    # Read as a plain nn.AvgPool2d, the 1 x 1 pooling of 7 x 7 x 512 = 25,088 values is counted otherwise:
    # fvcore 0 instead of 1 per input element; thop 1 per output instead of (kernel 1 + 1) per output:
    # both 25,088 fewer. ptflops counts both modules 2 per input element; torchinfo counts no pooling.
    text = _tv("vgg16_tv.yaml", VGG_PRINTED.replace("    torch_ops: {avgpool: AdaptiveAvgPool2d}", ""))
    res = run("check", str(write(text, "v.yaml")))
    assert res.exit_code == 3
    assert "2 of 4 checks differ" in res.output
    assert "conventions.fvcore: declared 15,470,289,408, computed 15,470,264,320, difference -25,088" in res.output
    assert "conventions.thop: declared 15,470,314,496, computed 15,470,289,408, difference -25,088" in res.output
    # --torch-op supplies it from the command line, and wins over the spec's own torch_ops
    p = write(text, "v2.yaml")
    assert run("check", str(p), "--torch-op", "avgpool=AdaptiveAvgPool2d").exit_code == 0
    res = run("check", str(write(_tv("vgg16_tv.yaml", VGG_PRINTED), "v3.yaml")), "--torch-op", "avgpool=AvgPool2d")
    assert res.exit_code == 3 and "difference -25,088" in res.output


TORCHINFO_MACS = """\
expect:
  macs: {value: 4_089_238_376, source: "torchinfo 1.8 Total mult-adds, as our CI prints it"}
budget:
  max_macs: 4_089_238_376
"""


def test_convention_flag_counts_macs_as_that_tool(write) -> None:
    p = write(_tv("resnet50_tv.yaml", TORCHINFO_MACS), "r.yaml")
    res = run("check", str(p), "--convention", "torchinfo")
    assert res.exit_code == 0, res.output
    assert res.output.startswith("--convention torchinfo: `macs` figures and `max_macs` budgets are compared "
                                 "with what torchinfo 1.8 prints as 'Total mult-adds'")
    assert "1 figure, 1 budget hold (tool counts: torchinfo)" in res.output
    # without the flag the figure is archcalc's textbook MACs, 54,120 (1,000 + 53,120) fewer
    res = run("check", str(p))
    assert res.exit_code == 3
    assert "macs: declared 4,089,238,376, computed 4,089,184,256, difference -54,120" in res.output
    # under thop the budget is exceeded: 4,133,742,592 - 4,089,238,376 = 44,504,216
    res = run("check", str(p), "--convention", "thop")
    assert res.exit_code == 3
    assert "max_macs as thop counts: computed 4,133,742,592, budget 4,089,238,376 (over by 44,504,216)" in res.output
    assert "macs as thop counts: declared 4,089,238,376" in res.output


def test_budget_under_a_convention(write) -> None:
    budget = "budget:\n  conventions: {fvcore: 4_111_512_575, torchinfo: 4_089_238_376}\n"
    res = run("check", str(write(_tv("resnet50_tv.yaml", budget), "r.yaml")))
    assert res.exit_code == 3
    assert "conventions.fvcore: computed 4,111,512,576, budget 4,111,512,575 (over by 1)" in res.output
    assert "conventions.torchinfo" not in res.output  # met exactly


def test_convention_json(write) -> None:
    p = write(_tv("resnet50_tv.yaml", TORCHINFO_MACS + "  conventions: {thop: 5_000_000_000}\n"), "r.yaml")
    res = run("check", str(p), "--convention", "torchinfo", "-f", "json")
    assert res.exit_code == 0, res.stdout
    doc = json.loads(res.stdout)
    assert doc["convention"]["name"] == "torchinfo" and doc["convention"]["applies_to"] == ["macs", "max_macs"]
    (s,) = doc["specs"]
    assert [(c["key"], c["convention"], c["computed"]) for c in s["checks"]] == [
        ("macs", "torchinfo", 4_089_238_376), ("max_macs", "torchinfo", 4_089_238_376),
        ("conventions.thop", "thop", 4_133_742_592)]
    assert s["conventions"]["torchinfo"]["breakdown"] == {"macs": 4_089_184_256, "bias_adds": 1000, "batchnorm": 53_120}
    assert s["conventions"]["thop"]["total"] == 4_133_742_592
    plain = json.loads(run("check", str(p), "-f", "json").stdout)
    assert plain["convention"] is None and list(plain["specs"][0]["conventions"]) == ["thop"]


def test_check_spec_library() -> None:
    r = check_spec(DATA / "resnet50_tv.yaml", convention="fvcore")
    assert r.status == "unchecked" and r.conventions["fvcore"]["total"] == 4_111_512_576


@pytest.mark.parametrize("block, line, col, message, hint", [
    ("expect:\n  conventions:\n    torchinf: {value: 1, source: x}\n", 3, 5,
     "expect.conventions: unknown convention 'torchinf'", "did you mean 'torchinfo'?"),
    ("expect:\n  torchinfo: {value: 1, source: x}\n", 2, 3,
     "expect: unknown figure 'torchinfo'", "goes under `conventions:`"),
    ("expect:\n  fvcore_macs: {value: 1, source: x}\n", 2, 3,
     "expect: unknown figure 'fvcore_macs'", "fvcore's figure goes under `conventions:`"),
    ("budget:\n  max_thop_macs: 1\n", 2, 3, "budget: unknown key 'max_thop_macs'",
     "budget: {conventions: {thop: 5_000_000_000}}"),
    ("budget:\n  conventions: {tohp: 1}\n", 2, 17, "budget.conventions: unknown convention 'tohp'",
     "did you mean 'thop'?"),
    ("expect:\n  conventions:\n    thop: {value: 1, sorce: x}\n", 3, 22, "expect.conventions.thop: unknown key 'sorce'",
     "did you mean 'source'?"),
    ("expect:\n  conventions:\n    thop: {value: 1}\n", 3, 11, "expect.conventions.thop names no `source`", ""),
    ("expect:\n  conventions: [thop]\n", 2, 16, "expect.conventions is a mapping", "torch_ops"),
    ("budget:\n  conventions: {thop: 0}\n", 2, 23, "budget.conventions.thop must be a whole number >= 1", ""),
    ("expect:\n  conventions:\n    torch_ops: {fc: F.relu}\n", 3, 21,
     "expect.conventions.torch_ops.fc: a dense layer is one of Linear", ""),
    ("expect:\n  conventions:\n    torch_ops: {avgpol: AdaptiveAvgPool2d}\n", 3, 17,
     "expect.conventions.torch_ops.avgpol: no layer named 'avgpol'", "did you mean 'avgpool'?"),
    ("expect:\n  conventions:\n    torch_ops: [avgpool]\n", 3, 16,
     "expect.conventions.torch_ops is a mapping of layer -> torch op", ""),
    ("expect:\n  conventions:\n    torch_ops: {avgpool: AdaptiveAvgPool2d}\n"
     "budget:\n  conventions:\n    torch_ops: {avgpool: F.adaptive_avg_pool2d}\n", 6, 26,
     "budget.conventions.torch_ops.avgpool: F.adaptive_avg_pool2d here, but AdaptiveAvgPool2d at", ""),
    ("expect:\n  peak_activation: {value: 1, source: x}\n", 2, 3, "expect: unknown figure 'peak_activation'",
     "did you mean 'peak_activation_bytes'?"),
    ("budget:\n  max_peak_activation: 1\n", 2, 3, "budget: unknown key 'max_peak_activation'",
     "did you mean 'max_peak_activation_bytes'?"),
])
def test_bad_keys_are_located(write, block: str, line: int, col: int, message: str, hint: str) -> None:
    base = (DATA / "resnet50_tv.yaml").read_text(encoding="utf-8")
    p = write(base + block, "r.yaml")
    res = run("check", str(p))
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    at = base.count("\n") + line
    assert f"error: {p}:{at}:{col}: {message}" in res.stderr
    assert hint in res.stderr


def test_torch_op_no_checked_spec_has(write) -> None:
    p = write(_tv("resnet50_tv.yaml", TORCHINFO_MACS), "r.yaml")
    res = run("check", str(p), "--convention", "thop", "--torch-op", "avgpol=F.adaptive_avg_pool2d")
    assert res.exit_code == 1 and "no checked spec has a layer named 'avgpol'" in res.stderr
    res = run("check", str(p), "--convention", "thop", "--torch-op", "fc=F.relu")
    assert res.exit_code == 1 and "--torch-op fc=F.relu: a dense layer is one of Linear" in res.stderr


# --- any expect/budget block: a verdict or a located error, never a traceback ------------------

# A valid pair of blocks using every key (figures need not hold: the verdict is not what is tested)
VALID_BLOCKS: dict = {
    "expect": {"macs": {"value": 64, "source": "x", "tolerance": 0},
               "peak_activation_bytes": {"value": 384, "source": "x"},
               "output_shape": {"value": [32], "source": "x"},
               "conventions": {"torch_ops": {"b": "F.relu", "c": "torch.add"},
                               "thop": {"value": 64, "source": "x"}, "ptflops-nofunc": {"value": 1, "source": "x"}}},
    "budget": {"max_macs": 64, "max_peak_activation_bytes": 384,
               "conventions": {"torch_ops": {"b": "F.relu"}, "fvcore": 100}},
}


def _places(tree: object, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _places(v, (*path, k))
    return out


PLACES = _places(VALID_BLOCKS)[1:]
#: What a user may put in any place instead: each type, and words close to the real ones
BAD = [None, True, -1, 0, 1.5, "", "x", "F.relu", "4x4x2", [1, 2], [], {"zz": 1}, {"value": 1}, {"source": "x"}]


@pytest.mark.parametrize("path", PLACES, ids=["/".join(p) for p in PLACES])
def test_any_value_in_any_place_gives_a_verdict_or_a_located_error(path: tuple) -> None:
    import copy

    import yaml

    from archcalc.errors import ArchcalcError
    edits = [(leaf, False) for leaf in BAD] + [(key, True) for key in ("zz", "tohp", "value", "torch_ops", 3)]
    for leaf, as_key in edits:
        doc = copy.deepcopy(VALID_BLOCKS)
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if as_key:  # a misspelt or foreign key in its place
            parent[leaf] = parent.pop(path[-1])
        else:
            parent[path[-1]] = leaf
        text = RESIDUAL + yaml.safe_dump(doc, allow_unicode=True)
        try:
            check_spec(load(text=text, path="fuzz.yaml"), convention="thop", torch={"b": "F.relu"})
        except ArchcalcError as e:
            assert e.loc is not None and e.loc.path == "fuzz.yaml", e


def test_the_valid_block_is_valid() -> None:
    import yaml
    r = check_spec(load(text=RESIDUAL + yaml.safe_dump(VALID_BLOCKS), path="v.yaml"), convention="thop")
    assert r.error is None and len(r.findings) == 8
