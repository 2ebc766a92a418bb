"""The friction a new user met (issue 14): what an unknown kind or function means, the kinds list
printed whole, and `repeat` copies that collide with a hand-named layer."""

from __future__ import annotations

import re

import pytest
from conftest import analyze_text, run

import archcalc
from archcalc import SpecError
from archcalc.errors import HINT_WIDTH, render
from archcalc.source import TEXTS


def kind_error(kind: str, blocks: str = "") -> SpecError:
    with pytest.raises(SpecError) as e:
        analyze_text(f"input: 8x8x3\n{blocks}layers:\n  - {{kind: {kind}}}\n")
    return e.value


@pytest.mark.parametrize(("kind", "what"), [("gelu", "GELU"), ("elu", "ELU"), ("selu", "SELU"),
                                            ("mish", "Mish"), ("InstanceNorm2d", "instance normalisation")])
def test_a_different_function_is_never_suggested(kind: str, what: str) -> None:
    if kind in archcalc.KINDS:  # gelu, once kinds-a adds it, is simply a kind
        assert analyze_text(f"input: 8x8x3\nlayers:\n  - {{kind: {kind}}}\n").rows[1].kind == kind
        return
    e = kind_error(kind)
    assert e.message == f"unknown layer kind '{kind}': archcalc does not support {what}"
    assert "did you mean" not in e.hint and e.hint.startswith("the kinds are ") and ", avgpool, " in e.hint


@pytest.mark.parametrize(("kind", "ours"), [("conv2d", "conv"), ("Conv2D", "conv"), ("MaxPool2d", "maxpool"),
                                            ("BatchNorm2d", "batchnorm"), ("fc", "dense"), ("cat", "concat"),
                                            ("AdaptiveAvgPool2d", "globalavgpool")])
def test_other_frameworks_names_get_ours(kind: str, ours: str) -> None:
    # AdaptiveAvgPool2d gets `adaptiveavgpool` once that kind exists; today globalavgpool, its 1 x 1 case
    if kind == "AdaptiveAvgPool2d" and "adaptiveavgpool" in archcalc.KINDS:
        ours = "adaptiveavgpool"
    assert kind_error(kind).hint.endswith(f"is '{ours}'")


def test_case_and_typos() -> None:
    assert kind_error("ReLU").hint == "kinds and blocks are written as defined: 'relu'"
    assert kind_error("covn").hint == "did you mean 'conv'?"              # two letters swapped
    assert kind_error("batchnrom").hint == "did you mean 'batchnorm'?"
    blocks = "blocks:\n  bottleneck:\n    layers: [{kind: relu}]\n"
    assert kind_error("botleneck", blocks).hint == "did you mean 'bottleneck'?"


def test_an_unknown_name_lists_every_kind_whole() -> None:
    e = kind_error("mul")
    if "multiply" in archcalc.KINDS:  # once kinds-a's multiply exists, mul means it
        assert e.hint.endswith("is 'multiply'")
        e = kind_error("frobnicate")
    assert e.message.endswith("not a kind archcalc supports, nor a block of this spec") or \
        "does not support" in e.message
    text = render(e, TEXTS)
    hint = text[text.index("  hint: "):]
    lines = hint.splitlines()
    assert all(len(line) <= HINT_WIDTH for line in lines)
    words = set(re.findall(r"[a-z0-9_]+", hint))
    assert set(archcalc.KINDS) <= words  # every kind printed, none cut


def test_the_cli_never_cuts_the_list() -> None:
    r = run("summarize", "-", input="input: 4\nlayers:\n  - {kind: frobnicate}\n")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    listed = r.stderr[r.stderr.index("the kinds are"):]
    assert all(k in re.findall(r"[a-z0-9_]+", listed) for k in archcalc.KINDS)
    assert "..." not in listed


@pytest.mark.parametrize(("expr", "message", "hint"), [
    ("sin(2)", "function 'sin' is not supported in expressions", "the functions are round"),
    ("pow(2, 3)", "function 'pow' is not supported in expressions", "write x ** n"),
    ("ceiling(2.5)", "unknown function 'ceiling'", "here it is called ceil()"),
    ("flor(2.5)", "unknown function 'flor'", "did you mean 'floor'?"),
])
def test_unknown_functions(expr: str, message: str, hint: str) -> None:
    with pytest.raises(SpecError) as e:
        analyze_text(f"input: 8x8x3\nlayers:\n  - {{kind: conv, filters: '{expr}', kernel: 1}}\n")
    assert message in e.value.message and hint in e.value.hint


def test_repeat_copies_that_collide_with_a_named_layer_say_why() -> None:
    # the repeated item first: its copies unit1, unit2 ...; then a layer named unit1
    with pytest.raises(SpecError) as e:
        analyze_text("input: 4\nlayers:\n  - {kind: relu, name: unit, repeat: 2}\n  - {kind: relu, name: unit1}\n")
    assert e.value.loc.line == 4
    assert "this one and copy 1 of 'unit' (repeat: at line 3 numbers its copies unit1, unit2, ...)" in e.value.message
    assert "copies are numbered from 1" in e.value.hint
    # a layer named unit1 first; then the repeated item
    with pytest.raises(SpecError) as e:
        analyze_text("input: 4\nlayers:\n  - {kind: relu, name: unit1}\n  - {kind: relu, name: unit, repeat: 3}\n")
    assert e.value.loc.line == 4
    assert ("'unit' with repeat: 3 names its copies unit1 ... unit3, and copy 'unit1' would take the name of "
            "the layer named 'unit1' at line 3") in e.value.message
    assert "rename the repeated item" in e.value.hint
    # two plain layers keep the plain message
    with pytest.raises(SpecError, match="two layers are named 'a'"):
        analyze_text("input: 4\nlayers:\n  - {kind: relu, name: a}\n  - {kind: relu, name: a}\n")
