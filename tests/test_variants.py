"""`variants:`: named settings of a spec's variables (and input), each with its own `expect:`,
selected as SPEC@variant wherever a spec is taken, and every one checked by `archcalc check`."""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, analyze_text, run

import archcalc
from archcalc import SpecError
from archcalc.check import PASS, UNCHECKED, check_paths, check_spec
from archcalc.spec import split_selector

WIDE = 3 * 3 * 3 * 8 + 8 + 3 * 3 * 8 * 16 + 16
DEFAULT = 3 * 3 * 3 * 4 + 4 + 3 * 3 * 4 * 8 + 8
FAMILY = f"""
name: Tiny
input: [r, r, 3]
vars: {{r: 8, f: 4, g: f * 2}}
variants:
  wide:
    name: Tiny-wide
    vars: {{f: 8}}
    expect:
      params: {{value: {WIDE}, source: "arithmetic: 3·3·3·8 + 8 + 3·3·8·16 + 16"}}
  big:
    vars: {{r: 16}}
    input: 16x16x1
    expect:
      output_shape: {{value: [16, 16, 8], source: "arithmetic"}}
  bare:
    vars: {{f: 2}}
layers:
  - {{kind: conv, filters: f, kernel: 3, padding: same}}
  - {{kind: conv, filters: g, kernel: 3, padding: same}}
expect:
  params: {{value: {DEFAULT}, source: "arithmetic: 3·3·3·4 + 4 + 3·3·4·8 + 8"}}
"""


def test_a_variant_redefines_variables_in_place() -> None:
    spec = archcalc.load(text=FAMILY)
    wide = archcalc.analyze(spec, variant="wide")
    # g = f * 2 is evaluated after the variant's f: 16, not 8
    assert [r.output_shape[2] for r in wide.rows[1:]] == [8, 16]
    assert wide.name == "Tiny-wide" and wide.graph.variant == "wide"
    assert archcalc.analyze(spec, variant="bare").name == "Tiny@bare"
    big = archcalc.analyze(spec, variant="big")
    assert big.input_shape == (16, 16, 1)   # the variant's input, not [r, r, 3]
    # --set wins over the variant
    assert archcalc.analyze(spec, variant="wide", overrides={"f": 1}).rows[1].output_shape == (8, 8, 1)


def test_selectors() -> None:
    assert split_selector("x.yaml") == ("x.yaml", None, [])
    assert split_selector("x.yaml@b3") == ("x.yaml", "b3", [])
    assert split_selector("x.yaml@b3,r=2") == ("x.yaml", "b3", ["r=2"])
    assert split_selector("x.yaml@r=2,w=make_divisible(3, 8)") == ("x.yaml", None, ["r=2", "w=make_divisible(3, 8)"])
    with pytest.raises(SpecError, match="names two variants"):
        split_selector("x.yaml@a,b")
    with pytest.raises(SpecError, match=r"^nope\.yaml@@b3: no such file: nope\.yaml@ \(the part before the last '@'"):
        split_selector("nope.yaml@@b3")
    for arg in ("x.yaml@", "x.yaml@@", "x.yaml@ , "):  # found by the fuzzer: `@@` read as the file `x.yaml@`
        with pytest.raises(SpecError, match=r"^x\.yaml@.*: nothing after the last '@'$"):
            split_selector(arg)


def test_paths_select_variants(write) -> None:  # type: ignore[no-untyped-def]
    p = write(FAMILY, "tiny.yaml")
    assert archcalc.analyze(f"{p}@wide").name == "Tiny-wide"
    assert archcalc.analyze(f"{p}@wide,f=1").rows[1].output_shape == (8, 8, 1)
    at = write("input: 4\nlayers:\n  - {kind: relu}\n", "a@b.yaml")  # an existing file is a path
    assert archcalc.analyze(str(at)).rows[1].output_shape == (4,)


def test_unknown_variants() -> None:
    spec = archcalc.load(text=FAMILY)
    with pytest.raises(SpecError) as e:
        archcalc.analyze(spec, variant="wid")
    assert "has no variant 'wid'" in e.value.message and "did you mean 'wide'?" in e.value.hint
    with pytest.raises(SpecError) as e:
        archcalc.analyze(archcalc.load(SPECS / "lenet5.yaml"), variant="x")
    assert "has no variants" in e.value.message and "NAME=VALUE" in e.value.hint


@pytest.mark.parametrize(("variants", "message"), [
    ("  a: {vars: {ff: 1}}\n", "variant 'a' sets 'ff', which the spec does not declare"),
    ("  a: {vars: {f: 1}, expect: {}, colour: red}\n", "unknown key 'colour' in variant 'a'"),
    ("  a: 3\n", "variant 'a' is a mapping"),
    ("  'a b': {vars: {f: 1}}\n", "a variant name is a word"),
    ("  a: {vars: 3}\n", "`vars` is a mapping"),
])
def test_malformed_variants_are_located(variants: str, message: str) -> None:
    text = "input: 4x4x1\nvars: {f: 2}\nlayers:\n  - {kind: conv, filters: f, kernel: 1}\nvariants:\n" + variants
    with pytest.raises(SpecError) as e:
        analyze_text(text)
    assert message in e.value.message and e.value.loc.line == 6


def test_check_holds_every_variant_to_its_figures(write) -> None:  # type: ignore[no-untyped-def]
    p = write(FAMILY, "tiny.yaml")
    results = check_paths([p])
    assert [(r.variant, r.status) for r in results] == [(None, PASS), ("wide", PASS), ("big", PASS),
                                                        ("bare", UNCHECKED)]
    assert [r.shown for r in results][1] == f"{p}@wide"
    one = check_paths([f"{p}@big"])
    assert [(r.variant, r.status) for r in one] == [("big", PASS)]
    bad = write(FAMILY.replace("[16, 16, 8]", "[16, 16, 9]"), "bad.yaml")
    r = run("check", str(bad))
    assert r.exit_code == 3
    assert f"FAIL  {bad}@big (Tiny@big): 1 of 1 checks differ" in r.stdout
    assert "4 specs: 2 passed, 1 failed, 0 invalid, 1 without checks" in r.stdout
    js = json.loads(run("check", str(bad), "-f", "json").stdout)
    assert [s["variant"] for s in js["specs"]] == [None, "wide", "big", "bare"]


def test_default_setting_is_checked_only_when_the_top_level_declares_figures() -> None:
    from archcalc.check import settings
    assert settings(archcalc.load(SPECS / "densenet.yaml")) == ["densenet121", "densenet161", "densenet169",
                                                                "densenet201"]
    assert settings(archcalc.load(SPECS / "resnet50.yaml")) == [None, "resnext50_32x4d", "wide_resnet50_2"]
    assert settings(archcalc.load(SPECS / "lenet5.yaml")) == [None]


def test_check_spec_by_path_and_variant() -> None:
    r = check_spec(f"{SPECS / 'densenet.yaml'}@densenet161")
    assert r.status == PASS and r.variant == "densenet161" and r.name == "DenseNet-161"


@pytest.mark.parametrize("command", [["summarize"], ["graph"], ["sweep", "--set", "resolution=64,96"],
                                     ["verify"], ["run"]])
def test_every_command_takes_spec_at_variant(command: list[str]) -> None:
    r = run(command[0], str(SPECS / "squeezenet.yaml@squeezenet1_1,resolution=64"), *command[1:])
    assert r.exit_code == 0, r.stderr
    assert "SqueezeNet 1.1" in r.stdout


def test_compare_variants_of_one_family() -> None:
    r = run("compare", str(SPECS / "resnet50.yaml"), str(SPECS / "resnet50.yaml@resnext50_32x4d"),
            str(SPECS / "resnet50.yaml@wide_resnet50_2,resolution=160"), "--totals")
    assert r.exit_code == 0, r.stderr
    assert "ResNeXt-50 32x4d" in r.stdout and "Wide ResNet-50-2 (resolution=160)" in r.stdout
    # 25,028,904 / 25,557,032 trainable parameters: torchvision num_params of resnext50_32x4d and resnet50
    assert "25,028,904 / 25,557,032" in r.stdout
