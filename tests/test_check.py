"""`archcalc check`: expect/budget blocks, verdicts, exit codes, JSON, folders."""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, run, run_process

from archcalc.check import check_paths, exit_code, parse_expect
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


def test_library_exit_code(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    results = check_paths([tmp_path])
    assert [r.status for r in results] == ["pass"] and exit_code(results) == 0


def test_exit_code_in_a_real_process(write) -> None:
    p = write(GOOD.replace("value: 2160", "value: 2161"))
    proc = run_process("check", str(p))
    assert proc.returncode == 3
    assert "macs: declared 2,161, computed 2,160, difference -1" in proc.stdout
